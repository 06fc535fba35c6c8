#include "hook_kind.h"

#include <iterator>

namespace kotel {

namespace {

struct HookKindInfo {
  HookKind kind;
  const char* name;
  bpf_prog_type progType;
  const char* attachOp;
};

// in enum order
constexpr HookKindInfo kKinds[] = {
    {HookKind::kTpBtf, "tp_btf", BPF_PROG_TYPE_TRACING, "bpf_program__attach_trace"},
    {HookKind::kRawTp, "raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, "bpf_program__attach_raw_tracepoint"},
    {HookKind::kTp, "tp", BPF_PROG_TYPE_TRACEPOINT, "bpf_program__attach_tracepoint"},
    {HookKind::kFentry, "fentry", BPF_PROG_TYPE_TRACING, "bpf_program__attach_trace"},
    {HookKind::kFexit, "fexit", BPF_PROG_TYPE_TRACING, "bpf_program__attach_trace"},
    {HookKind::kKprobe, "kprobe", BPF_PROG_TYPE_KPROBE, "bpf_program__attach_kprobe"},
    {HookKind::kKretprobe, "kretprobe", BPF_PROG_TYPE_KPROBE, "bpf_program__attach_kprobe"},
    {HookKind::kUprobe, "uprobe", BPF_PROG_TYPE_KPROBE, "bpf_program__attach_uprobe"},
    {HookKind::kUretprobe, "uretprobe", BPF_PROG_TYPE_KPROBE, "bpf_program__attach_uprobe"},
};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < std::size(kKinds); i++)
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  return std::size(kKinds) == static_cast<size_t>(HookKind::kUretprobe) + 1;
}
static_assert(InEnumOrder(), "kKinds must list every HookKind in enum order");

const HookKindInfo& Info(HookKind kind) { return kKinds[static_cast<int>(kind)]; }

}  // namespace

bool ParseHookKind(const std::string& name, HookKind* kind) {
  for (const HookKindInfo& k : kKinds)
    if (name == k.name) {
      *kind = k.kind;
      return true;
    }
  return false;
}

const char* HookKindName(HookKind kind) { return Info(kind).name; }
bpf_prog_type HookProgType(HookKind kind) { return Info(kind).progType; }
const char* HookAttachOp(HookKind kind) { return Info(kind).attachOp; }

}  // namespace kotel
