// How a program attaches (HookKind of agent/src/native/native.d.ts): the names JavaScript uses, the
// program type each needs and the libbpf call that attaches it, in one table (hook_kind.cc).
#pragma once

#include <bpf/libbpf.h>

#include <string>

namespace kotel {

enum class HookKind { kTpBtf, kRawTp, kTp, kFentry, kFexit, kKprobe, kKretprobe, kUprobe, kUretprobe };

// false when name is none of the kinds
bool ParseHookKind(const std::string& name, HookKind* kind);
const char* HookKindName(HookKind kind);
bpf_prog_type HookProgType(HookKind kind);
// the libbpf function AttachRung calls for this kind, as named in RungFailure.op
const char* HookAttachOp(HookKind kind);

inline bool IsUprobe(HookKind k) { return k == HookKind::kUprobe || k == HookKind::kUretprobe; }
inline bool IsKprobe(HookKind k) { return k == HookKind::kKprobe || k == HookKind::kKretprobe; }
inline bool IsFentry(HookKind k) { return k == HookKind::kFentry || k == HookKind::kFexit; }

}  // namespace kotel
