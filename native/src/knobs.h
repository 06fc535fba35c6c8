// rodata knobs: the `const volatile` globals (targ_*) of an object's .rodata, written before load.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

struct bpf_object;

namespace kotel {

// One knob's value as the 64 bits of a two's-complement integer (true = 1).
struct Knob {
  std::string name;
  uint64_t bits = 0;
  bool negative = false;  // bits holds a negative int64
};

// Writes every knob into obj's .rodata; throws BpfError 'rodata' for an unknown name, a variable that is
// no integer, bool or enum, or a value that does not fit it. path names the object in messages.
void ApplyKnobs(Napi::Env env, bpf_object* obj, const std::string& path, const std::vector<Knob>& knobs);

}  // namespace kotel
