#include "rung.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <map>

#include "common.h"

namespace kotel {

namespace {

std::string ProgTypeName(bpf_prog_type t) {
  const char* s = libbpf_bpf_prog_type_str(t);
  std::string n = s ? s : std::to_string((int)t);
  for (char& c : n) c = (char)toupper((unsigned char)c);
  return "BPF_PROG_TYPE_" + n;
}

// 0 when the kernel accepts programs of type t, else a positive errno (cached per type).
int ProbeProgType(bpf_prog_type t) {
  // BPF_PROG_TYPE_TRACING can't be probed without a real attach target: a target-less trial load gets EPERM
  // even where tp_btf programs load and attach (seen on 6.18), so only a real load of the rung decides.
  if (t == BPF_PROG_TYPE_TRACING) return 0;
  static std::map<int, int> cache;
  auto it = cache.find((int)t);
  if (it != cache.end()) return it->second;
  int res = 0;
  if (libbpf_probe_bpf_prog_type(t, nullptr) != 1) {
    // libbpf only says yes/no: load a trivial program ourselves to learn why (EPERM, EINVAL...).
    struct bpf_insn insns[2] = {};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
    insns[1].code = BPF_JMP | BPF_EXIT;
    int fd = bpf_prog_load(t, nullptr, "GPL", insns, 2, nullptr);
    if (fd >= 0) {
      close(fd);
      res = EINVAL;
    } else {
      res = errno ? errno : EINVAL;
      // a kernel that has the type answers EINVAL here only for the missing attach target
      if (res == EINVAL) res = EOPNOTSUPP;
    }
  }
  cache[(int)t] = res;
  return res;
}

// access(2) checks with the real uid and no capabilities: a non-root agent holding CAP_DAC_READ_SEARCH
// (systemd's AmbientCapabilities=) can read what access() denies it. AT_EACCESS checks as open(2) will.
bool Reachable(const char* path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0; }

struct TracefsState {
  bool checked = false;
  int err = 0;  // 0: tracefs events are reachable
  std::string reason;
};

// Whether tracefs events are reachable, mounting tracefs at /sys/kernel/tracing once if needed.
const TracefsState& EnsureTracefs() {
  static TracefsState s;
  if (s.checked) return s;
  s.checked = true;
  const char* events = "/sys/kernel/tracing/events";
  if (Reachable(events, F_OK)) return s;
  int denied = errno;
  if (Reachable("/sys/kernel/debug/tracing/events", F_OK)) return s;
  if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 && Reachable(events, F_OK)) return s;
  s.err = errno ? errno : ENOENT;
  if (s.err == EBUSY) {
    // mounted there already, but its 0700 root directory keeps this user out
    s.err = denied;
    s.reason = "tracefs at /sys/kernel/tracing is not readable: " + ErrnoText(denied) + " (" + ErrnoName(denied) +
               "): needs root or CAP_DAC_READ_SEARCH";
  } else {
    s.reason = "tracefs is not mounted and mounting it at /sys/kernel/tracing failed: " + ErrnoText(s.err) + " (" +
               ErrnoName(s.err) + ")";
  }
  return s;
}

}  // namespace

RungFailure MakeFailure(const RungSpec& r, const std::string& op, int err, const std::string& reason) {
  return {r.program, r.kind, op, err, reason};
}

std::string LoadReason(int err, uint64_t mark) {
  std::string why = LogReason(mark);
  std::string s = "load failed: " + ErrnoText(err) + " (" + ErrnoName(err) + ")";
  if (!why.empty()) s += ": " + why;
  return s;
}

bool Precheck(bpf_program* prog, const RungSpec& r, RungFailure* f) {
  bpf_prog_type want = HookProgType(r.kind);
  bpf_prog_type have = bpf_program__type(prog);
  if (have != want) {
    *f = MakeFailure(r, "rung", EINVAL,
                     "program '" + r.program + "' is SEC(\"" + bpf_program__section_name(prog) + "\") (" +
                         ProgTypeName(have) + "), not a " + HookKindName(r.kind) + " program");
    return false;
  }
  int err = ProbeProgType(want);
  if (err) {
    *f = MakeFailure(r, "libbpf_probe_bpf_prog_type", err,
                     "kernel refuses " + ProgTypeName(want) + " programs (" + ErrnoName(err) + ")");
    return false;
  }
  if (r.kind == HookKind::kTp) {
    const TracefsState& tracefs = EnsureTracefs();
    if (tracefs.err) {
      *f = MakeFailure(r, "tracefs", tracefs.err, tracefs.reason);
      return false;
    }
  }
  if (IsUprobe(r.kind) && !Reachable(r.binary.c_str(), R_OK)) {
    err = errno;
    *f = MakeFailure(r, "access", err, "cannot read " + r.binary + ": " + ErrnoText(err) + " (" + ErrnoName(err) + ")");
    return false;
  }
  return true;
}

bpf_link* AttachRung(bpf_program* prog, const RungSpec& r, RungFailure* f) {
  uint64_t mark = LogMark();
  errno = 0;
  bpf_link* link;
  if (IsUprobe(r.kind))
    link = bpf_program__attach_uprobe(prog, r.kind == HookKind::kUretprobe, r.pid, r.binary.c_str(), (size_t)r.offset);
  else if (IsKprobe(r.kind) && !r.target.empty())
    link = bpf_program__attach_kprobe(prog, r.kind == HookKind::kKretprobe, r.target.c_str());
  else
    link = bpf_program__attach(prog);
  if (link) return link;
  int err = errno ? errno : EINVAL;
  std::string why = LogReason(mark);
  std::string reason =
      std::string(HookKindName(r.kind)) + " attach failed: " + ErrnoText(err) + " (" + ErrnoName(err) + ")";
  if (!why.empty()) reason += ": " + why;
  *f = MakeFailure(r, HookAttachOp(r.kind), err, reason);
  return nullptr;
}

}  // namespace kotel
