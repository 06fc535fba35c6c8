// BpfObject.open()'s options (OpenOptions of agent/src/native/native.d.ts) as plain C++ values.
// agent/src/native/openOptions.ts validates them first; parsing here only guards against what would be
// undefined behaviour (wrong JS types, values a cast cannot hold) with a TypeError.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hook_kind.h"
#include "knobs.h"

namespace kotel {

struct RungSpec {
  std::string program;
  HookKind kind = HookKind::kRawTp;
  std::string binary;  // uprobe/uretprobe: the ELF file, at offset
  uint64_t offset = 0;
  int pid = -1;
  std::string target;  // kprobe/kretprobe/fentry/fexit: the kernel function, instead of the SEC() name's
};

struct LadderSpec {
  std::string probe;
  std::vector<RungSpec> rungs;
};

struct OpenSpec {
  std::string path;
  std::vector<Knob> knobs;
  std::vector<std::pair<std::string, uint32_t>> maxEntries;
  std::vector<LadderSpec> ladders;
  std::vector<std::string> loadOnly;
  bool preallocateHashMaps = false;
};

// open(path, options)
OpenSpec ParseOpenOptions(const Napi::CallbackInfo& info);

}  // namespace kotel
