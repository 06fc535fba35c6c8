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

// Per-CPU values in sum mode are read this many bytes at a time and summed into the output, so that memory
// stays bounded however many CPUs and entries there are (10 000 histograms of 6 KB on 64 CPUs are 4 GB).
constexpr size_t kRawChunkBytes = 4 << 20;

// The chunk buffer, kept from read to read (JS thread only): the kernel's copy into fresh pages costs a page
// fault per 4 KB, more than the copy itself.
std::vector<uint8_t>& RawChunk() {
  static std::vector<uint8_t> raw;
  return raw;
}

// out (chunk bytes: u64 words) = the sum of `copies` per-CPU copies of chunk bytes at raw; u64 wraps as the
// kernel's counters do
void SumCopies(const uint8_t* raw, size_t copies, size_t chunk, uint8_t* out) {
  uint64_t* o = reinterpret_cast<uint64_t*>(out);
  memcpy(out, raw, chunk);
  for (size_t c = 1; c < copies; c++) {
    const uint64_t* r = reinterpret_cast<const uint64_t*>(raw + c * chunk);
    for (size_t k = 0; k < chunk / 8; k++) o[k] += r[k];
  }
}

// appends to words the entry at raw (`copies` copies of chunk bytes, summed u64 by u64 into scratch): its
// count of nonzero words, then each as (index, low half, high half)
void AppendNonzero(const uint8_t* raw, size_t copies, size_t chunk, std::vector<uint64_t>& scratch,
                   std::vector<uint32_t>& words) {
  scratch.resize(chunk / 8);
  SumCopies(raw, copies, chunk, reinterpret_cast<uint8_t*>(scratch.data()));
  const uint64_t* v = scratch.data();
  size_t n = chunk / 8, at = words.size();
  words.push_back(0);
  for (size_t k = 0; k < n; k++) {
    // most words of a histogram are zero: four at a time
    if (k + 4 <= n && (v[k] | v[k + 1] | v[k + 2] | v[k + 3]) == 0) {
      k += 3;
      continue;
    }
    if (v[k] == 0) continue;
    words.push_back((uint32_t)k);
    words.push_back((uint32_t)v[k]);
    words.push_back((uint32_t)(v[k] >> 32));
    words[at]++;
  }
}

Napi::Object ReadMap(Napi::Env env, bpf_map* m, const std::string& name, ReadMode mode) {
  int fd = bpf_map__fd(m);
  if (fd < 0) ThrowBpfError(env, "readMap", EBADF, "readMap(" + name + ")", "map not created");
  bpf_map_type t = bpf_map__type(m);
  if (t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    ThrowBpfError(env, "readMap", EINVAL, "readMap(" + name + ")", "not a key/value map");
  size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  size_t chunk = (vs + 7) & ~size_t(7);
  size_t copies = IsPercpu(t) ? PossibleCpus() : 1;
  size_t stride = IsPercpu(t) ? chunk * copies : vs;  // what the kernel writes per entry
  bool nonzero = mode == ReadMode::kNonzero;
  // sum: the kernel writes into the reused raw chunk, the entries' (summed) words go to vals or to words
  bool sum = nonzero || (mode == ReadMode::kSum && IsPercpu(t));
  size_t outStride = nonzero ? 0 : sum ? chunk : stride;
  // room for what the map holds, not what it may hold: most maps are far from full (262144 RDMA objects
  // of which a few hundred live), and every collection of every reader reads them; grown on demand
  size_t cap = std::min<size_t>(bpf_map__max_entries(m), 256);
  if (cap == 0) cap = 1;
  std::vector<uint8_t>& rawBuf = RawChunk();
  size_t rawCap = sum ? std::max<size_t>(1, kRawChunkBytes / stride) : 0;
  if (sum && rawBuf.size() < rawCap * stride) rawBuf.resize(rawCap * stride);
  rawCap = sum ? rawBuf.size() / stride : 0;
  uint8_t* raw = rawBuf.data();
  uint8_t* keys = (uint8_t*)malloc(cap * ks);
  uint8_t* vals = nonzero ? nullptr : (uint8_t*)malloc(cap * outStride);
  // kNonzero: per entry, n then n x (word index, low half, high half), u32 each
  std::vector<uint32_t> words;
  std::vector<uint64_t> scratch;
  auto fail = [&](int err, const char* op) {
    free(keys);
    free(vals);
    ThrowBpfError(env, op, err, std::string(op) + "(" + name + ")");
  };
  if (!keys || (!vals && !nonzero)) fail(ENOMEM, "readMap");
  auto grow = [&]() {
    cap *= 2;
    uint8_t* k2 = (uint8_t*)realloc(keys, cap * ks);
    if (k2) keys = k2;
    uint8_t* v2 = nonzero ? nullptr : (uint8_t*)realloc(vals, cap * outStride);
    if (v2) vals = v2;
    if (!k2 || (!v2 && !nonzero)) fail(ENOMEM, "readMap");
  };
  auto growRaw = [&]() {
    rawCap *= 2;
    rawBuf.resize(rawCap * stride);  // std::bad_alloc: a JS error from node-addon-api
    raw = rawBuf.data();
  };
  size_t got = 0;
  // n entries the kernel wrote (keys in place at got, values at dst) join the output
  auto take = [&](const uint8_t* dst, size_t n) {
    if (nonzero)
      for (size_t i = 0; i < n; i++) AppendNonzero(dst + i * stride, copies, chunk, scratch, words);
    else if (sum)
      for (size_t i = 0; i < n; i++) SumCopies(dst + i * stride, copies, chunk, vals + (got + i) * outStride);
    got += n;
  };
  size_t tokSize = ks > 8 ? ks : 8;
  std::vector<uint8_t> in(tokSize), out(tokSize);
  bool first = true, fallback = false;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    if (got == cap) grow();
    __u32 n = (__u32)(sum ? std::min(cap - got, rawCap) : cap - got);
    uint8_t* dst = sum ? raw : vals + got * stride;
    int r = bpf_map_lookup_batch(fd, first ? nullptr : in.data(), out.data(), keys + got * ks, dst, &n, &opts);
    int err = r ? errno : 0;
    if (r == 0 || err == ENOENT) take(dst, n);
    if (err == ENOENT) break;
    if (err == ENOSPC && n == 0) {  // a hash bucket larger than the room given
      if (sum && rawCap < cap - got)
        growRaw();
      else
        grow();
      continue;
    }
    if (err) {
      if (first && NoBatchOp(err)) {
        fallback = true;
        break;
      }
      fail(err, "bpf_map_lookup_batch");
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
      uint8_t* dst = sum ? raw : vals + got * stride;
      if (bpf_map_lookup_elem(fd, next.data(), dst) == 0) {
        memcpy(keys + got * ks, next.data(), ks);
        take(dst, 1);
      }
      cur.swap(next);
      has = true;
    }
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("count", (double)got);
  res.Set("keys", Adopt(env, keys, got * ks));
  if (nonzero) {
    res.Set("words",
            Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(words.data()), words.size() * 4));
  } else {
    res.Set("values", Adopt(env, vals, got * outStride));
    res.Set("valueStride", (double)outStride);
  }
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
