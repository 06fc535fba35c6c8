#include "map_io.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common.h"

namespace kotel {

namespace {

bool IsPercpu(bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int PossibleCpus() {
  static int n = 0;
  if (n <= 0) n = libbpf_num_possible_cpus();
  return n;
}

// what a kernel without the batch command for this map type answers (524: ENOTSUPP)
bool NoBatchOp(int err) { return err == EINVAL || err == 524 || err == EOPNOTSUPP; }

void FreeBuf(Napi::Env, uint8_t* p) { free(p); }

// A Buffer owning p (malloc'd, len bytes; shrunk to len); frees p when len is 0.
Napi::Buffer<uint8_t> Adopt(Napi::Env env, uint8_t* p, size_t len) {
  if (len == 0) {
    free(p);
    return Napi::Buffer<uint8_t>::New(env, 0);
  }
  uint8_t* q = (uint8_t*)realloc(p, len);
  if (q) p = q;
  return Napi::Buffer<uint8_t>::New(env, p, len, FreeBuf);
}

}  // namespace

Napi::Object MapInfoOf(Napi::Env env, bpf_map* m) {
  Napi::Object o = Napi::Object::New(env);
  bpf_map_type t = bpf_map__type(m);
  const char* ts = libbpf_bpf_map_type_str(t);
  o.Set("name", bpf_map__name(m));
  o.Set("type", ts ? ts : std::to_string((int)t));
  o.Set("keySize", bpf_map__key_size(m));
  o.Set("valueSize", bpf_map__value_size(m));
  o.Set("maxEntries", bpf_map__max_entries(m));
  o.Set("percpu", IsPercpu(t));
  // the flags the kernel created the map with (after load), else the object's
  bpf_map_info ki = {};
  uint32_t len = sizeof(ki);
  int fd = bpf_map__fd(m);
  o.Set("flags", fd >= 0 && bpf_obj_get_info_by_fd(fd, &ki, &len) == 0 ? ki.map_flags : bpf_map__map_flags(m));
  return o;
}

Napi::Object ReadMap(Napi::Env env, bpf_map* m, const std::string& name) {
  int fd = bpf_map__fd(m);
  if (fd < 0) ThrowBpfError(env, "readMap", EBADF, "readMap(" + name + ")", "map not created");
  bpf_map_type t = bpf_map__type(m);
  if (t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    ThrowBpfError(env, "readMap", EINVAL, "readMap(" + name + ")", "not a key/value map");
  size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  size_t stride = IsPercpu(t) ? ((vs + 7) & ~size_t(7)) * PossibleCpus() : vs;
  // room for what the map holds, not what it may hold: most maps are far from full (262144 RDMA objects
  // of which a few hundred live), and every collection of every reader reads them; grown on demand
  size_t cap = std::min<size_t>(bpf_map__max_entries(m), 256);
  if (cap == 0) cap = 1;
  uint8_t* keys = (uint8_t*)malloc(cap * ks);
  uint8_t* vals = (uint8_t*)malloc(cap * stride);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    ThrowBpfError(env, "readMap", ENOMEM, "readMap(" + name + ")");
  }
  auto grow = [&]() {
    cap *= 2;
    uint8_t* k2 = (uint8_t*)realloc(keys, cap * ks);
    if (k2) keys = k2;
    uint8_t* v2 = (uint8_t*)realloc(vals, cap * stride);
    if (v2) vals = v2;
    if (!k2 || !v2) {
      free(keys);
      free(vals);
      ThrowBpfError(env, "readMap", ENOMEM, "readMap(" + name + ")");
    }
  };
  size_t got = 0;
  size_t tokSize = ks > 8 ? ks : 8;
  std::vector<uint8_t> in(tokSize), out(tokSize);
  bool first = true, fallback = false;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    if (got == cap) grow();
    __u32 n = (__u32)(cap - got);
    int r = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), out.data(), keys + got * ks, vals + got * stride, &n,
                                 &opts);
    int err = r ? errno : 0;
    if (r == 0 || err == ENOENT) got += n;
    if (err == ENOENT) break;
    if (err == ENOSPC && n == 0) {  // a hash bucket larger than the room left
      grow();
      continue;
    }
    if (err) {
      if (first && NoBatchOp(err)) {
        fallback = true;
        break;
      }
      free(keys);
      free(vals);
      ThrowBpfError(env, "bpf_map_lookup_batch", err, "bpf_map_lookup_batch(" + name + ")");
    }
    if (n == 0) break;
    in.swap(out);
    first = false;
  }
  if (fallback) {  // kernels or map types without BPF_MAP_LOOKUP_BATCH
    got = 0;
    std::vector<uint8_t> cur(ks), next(ks);
    bool has = false;
    while (bpf_map_get_next_key(fd, has ? cur.data() : nullptr, next.data()) == 0) {
      if (got == cap) grow();
      if (bpf_map_lookup_elem(fd, next.data(), vals + got * stride) == 0) {
        memcpy(keys + got * ks, next.data(), ks);
        got++;
      }
      cur.swap(next);
      has = true;
    }
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("count", (double)got);
  res.Set("keys", Adopt(env, keys, got * ks));
  res.Set("values", Adopt(env, vals, got * stride));
  res.Set("valueStride", (double)stride);
  return res;
}

uint32_t DeleteKeys(Napi::Env env, bpf_map* m, const std::string& name, Napi::Buffer<uint8_t> keys, uint32_t count) {
  size_t ks = bpf_map__key_size(m);
  if ((size_t)count * ks > keys.Length())
    throw Napi::RangeError::New(env, "keys holds fewer than count keys of " + std::to_string(ks) + " bytes");
  int fd = bpf_map__fd(m);
  if (count == 0) return 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  __u32 n = count;
  int r = bpf_map_delete_batch(fd, keys.Data(), &n, &opts);
  if (r == 0) return count;
  int err = errno;
  uint32_t deleted = 0, from = 0;
  if (err == ENOENT) {  // stopped at a missing key: skip it, go on one by one
    deleted = n;
    from = n + 1;
  } else if (!NoBatchOp(err) || n != 0) {
    ThrowBpfError(env, "bpf_map_delete_batch", err, "bpf_map_delete_batch(" + name + ")");
  }
  for (uint32_t i = from; i < count; i++) {
    if (bpf_map_delete_elem(fd, keys.Data() + (size_t)i * ks) == 0) {
      deleted++;
    } else if (errno != ENOENT) {
      ThrowBpfError(env, "bpf_map_delete_elem", errno, "bpf_map_delete_elem(" + name + ")");
    }
  }
  return deleted;
}

}  // namespace kotel
