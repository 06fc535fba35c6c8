// One rung of a hook ladder: the cheap checks before any load, and attaching its loaded program.
#pragma once

#include <cstdint>
#include <string>

#include "open_options.h"

struct bpf_program;
struct bpf_link;

namespace kotel {

// Why a rung did not win (RungFailure of native.d.ts).
struct RungFailure {
  std::string program;
  HookKind kind = HookKind::kRawTp;
  std::string op;  // the libbpf call (or check) that failed
  int err = 0;     // positive errno
  std::string reason;
};

RungFailure MakeFailure(const RungSpec& r, const std::string& op, int err, const std::string& reason);

// "load failed: <strerror> (<CODE>)" plus the libbpf or verifier line printed since mark.
std::string LoadReason(int err, uint64_t mark);

// Checks without loading: prog (the rung's program, not loaded yet) has the kind's program type, the kernel
// accepts that type, tracefs is there for 'tp', the binary is readable for uprobes.
bool Precheck(bpf_program* prog, const RungSpec& r, RungFailure* f);

// Attaches the loaded prog as rung r; returns the link, or nullptr with *f filled.
bpf_link* AttachRung(bpf_program* prog, const RungSpec& r, RungFailure* f);

}  // namespace kotel
