#include "prog_stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common.h"

namespace kotel {

namespace {

// struct bpf_link_info's perf_event.kprobe member as Linux 6.7+ has it (libbpf 1.1's uapi header predates it):
// `missed` counts hits the kernel skipped: a kretprobe's maxactive instances all in use, or a kprobe nested in
// another. No perf_event member before 6.6 (its type reads 0); 6.6 has it without `missed` (reads 0): callers
// check the kernel version.
struct PerfKprobeLinkInfo {
  __u32 type, id, prog_id, pad;
  __u32 perf_event_type, pad2;
  __u64 func_name;
  __u32 name_len, offset;
  __u64 addr, missed, cookie;
};
constexpr __u32 kLinkTypePerfEvent = 7;                         // BPF_LINK_TYPE_PERF_EVENT
constexpr __u32 kPerfEventKprobe = 3, kPerfEventKretprobe = 4;  // enum bpf_perf_event_type

// the link's kprobe misses, or false when it is no kprobe link or the kernel does not report them
bool KprobeMisses(bpf_link* link, uint64_t* missed) {
  PerfKprobeLinkInfo li;
  memset(&li, 0, sizeof li);
  __u32 len = sizeof li;
  if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &li, &len)) return false;  // e.g. a perf event fd (no BPF link)
  if (li.type != kLinkTypePerfEvent) return false;
  if (li.perf_event_type != kPerfEventKprobe && li.perf_event_type != kPerfEventKretprobe) return false;
  *missed = li.missed;
  return true;
}

}  // namespace

Napi::Array ProgStats(Napi::Env env, bpf_object* obj, const std::map<int, LinkEntry>& links) {
  Napi::Array a = Napi::Array::New(env);
  bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, obj) {
    int fd = bpf_program__fd(p);
    if (fd < 0) continue;
    struct bpf_prog_info pi;
    memset(&pi, 0, sizeof pi);
    __u32 len = sizeof pi;
    if (bpf_obj_get_info_by_fd(fd, &pi, &len))
      ThrowBpfError(env, "bpf_obj_get_info_by_fd", errno,
                    std::string("bpf_obj_get_info_by_fd(") + bpf_program__name(p) + ")");
    Napi::Object o = Napi::Object::New(env);
    o.Set("program", bpf_program__name(p));
    o.Set("runTimeNs", Napi::BigInt::New(env, (uint64_t)pi.run_time_ns));
    o.Set("runCount", Napi::BigInt::New(env, (uint64_t)pi.run_cnt));
    o.Set("recursionMisses", Napi::BigInt::New(env, (uint64_t)pi.recursion_misses));
    uint64_t kprobeMisses = 0, missed;
    bool reported = false;
    for (auto& [id, e] : links)
      if (e.program == bpf_program__name(p) && KprobeMisses(e.link, &missed)) {
        kprobeMisses += missed;
        reported = true;
      }
    if (reported) o.Set("kprobeMisses", Napi::BigInt::New(env, kprobeMisses));
    a.Set(i++, o);
  }
  return a;
}

}  // namespace kotel
