// BpfObject.progStats(): run-time statistics of each loaded program, and the kprobe misses of its links.
#pragma once

#include <napi.h>

#include <map>

#include "ladder.h"

struct bpf_object;

namespace kotel {

// links: the object's links by id (their kprobe misses are summed per program)
Napi::Array ProgStats(Napi::Env env, bpf_object* obj, const std::map<int, LinkEntry>& links);

}  // namespace kotel
