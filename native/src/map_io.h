// Map I/O of BpfObject: mapInfo, readMap and readMapSummed (batched, with a per-key fallback), deleteKeys.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

struct bpf_map;

namespace kotel {

// name is the map's, for messages; errors are BpfError.
Napi::Object MapInfoOf(Napi::Env env, bpf_map* m);
// every entry (batched, with a per-key fallback); sumCpus: a per-CPU map's values summed over CPUs as u64
Napi::Object ReadMap(Napi::Env env, bpf_map* m, const std::string& name, bool sumCpus);
// deletes count keys of key_size bytes from keys (keys.Length() checked); returns how many were deleted
uint32_t DeleteKeys(Napi::Env env, bpf_map* m, const std::string& name, Napi::Buffer<uint8_t> keys, uint32_t count);

}  // namespace kotel
