// Map I/O of BpfObject: mapInfo, readMap, readMapSummed and readMapNonzero (batched, with a per-key
// fallback), deleteKeys.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

struct bpf_map;

namespace kotel {

// name is the map's, for messages; errors are BpfError.
Napi::Object MapInfoOf(Napi::Env env, bpf_map* m);
enum class ReadMode {
  kEach,     // values as the kernel gives them (a per-CPU map: one copy per possible CPU)
  kSum,      // a per-CPU map's values summed over CPUs as u64 (wrapping)
  kNonzero,  // as kSum, then only each value's nonzero u64 words, with their indices ("words", no "values")
};
// every entry (batched, with a per-key fallback)
Napi::Object ReadMap(Napi::Env env, bpf_map* m, const std::string& name, ReadMode mode);
// deletes count keys of key_size bytes from keys (keys.Length() checked); returns how many were deleted
uint32_t DeleteKeys(Napi::Env env, bpf_map* m, const std::string& name, Napi::Buffer<uint8_t> keys, uint32_t count);

}  // namespace kotel
