// Opening a BPF object file configured by OpenSpec: knobs, max_entries, preallocation, autoload, targets.
#pragma once

#include <napi.h>

#include <memory>
#include <set>
#include <string>

#include "open_options.h"

struct bpf_object;

namespace kotel {

struct ObjCloser {
  void operator()(bpf_object* o) const;
};
using ObjPtr = std::unique_ptr<bpf_object, ObjCloser>;

// Opens spec.path and applies knobs and max_entries (throws BpfError). autoload == nullptr keeps every
// program's default; trial shrinks the hash/array maps to one entry and ring buffers to one page.
ObjPtr OpenConfigured(Napi::Env env, const OpenSpec& spec, const std::set<std::string>* autoload, bool trial);

// Autoloads exactly the programs named.
void SetAutoload(bpf_object* obj, const std::set<std::string>& names);

}  // namespace kotel
