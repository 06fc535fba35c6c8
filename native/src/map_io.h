// Map I/O of BpfObject: mapInfo, readMap (batched, with a per-key fallback) and deleteKeys.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

struct bpf_map;

namespace kotel {

// name is the map's, for messages; errors are BpfError.
Napi::Object MapInfoOf(Napi::Env env, bpf_map* m);
Napi::Object ReadMap(Napi::Env env, bpf_map* m, const std::string& name);
// deletes count keys of key_size bytes from keys (keys.Length() checked); returns how many were deleted
uint32_t DeleteKeys(Napi::Env env, bpf_map* m, const std::string& name, Napi::Buffer<uint8_t> keys, uint32_t count);

}  // namespace kotel
