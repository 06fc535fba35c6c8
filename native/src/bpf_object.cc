#include "bpf_object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ring_buffer.h"

namespace kotel {

namespace {

std::string Str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Knob ParseKnob(Napi::Env env, const std::string& name, Napi::Value v) {
  Knob k;
  k.name = name;
  if (v.IsBoolean()) {
    k.kind = Knob::kBool;
    k.b = v.As<Napi::Boolean>().Value();
  } else if (v.IsNumber()) {
    k.kind = Knob::kNumber;
    k.num = v.As<Napi::Number>().DoubleValue();
  } else if (v.IsBigInt()) {
    k.kind = Knob::kBigInt;
    bool lossless = false;
    int64_t s = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (lossless && s < 0) {
      k.bigNegative = true;
      k.big = s;
    } else {
      k.ubig = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) ThrowBpfError(env, "rodata", ERANGE, "rodata knob '" + name + "'", "does not fit in 64 bits");
    }
  } else {
    throw Napi::TypeError::New(env, "rodata." + name + " must be a number, bigint or boolean");
  }
  return k;
}

OpenSpec ParseSpec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpenSpec spec;
  spec.path = Str(info[0], "path");
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value rodata = o.Get("rodata");
  if (rodata.IsObject()) {
    Napi::Object r = rodata.As<Napi::Object>();
    Napi::Array names = r.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string n = names.Get(i).ToString().Utf8Value();
      spec.knobs.push_back(ParseKnob(env, n, r.Get(n)));
    }
  }
  Napi::Value me = o.Get("maxEntries");
  if (me.IsObject()) {
    Napi::Object m = me.As<Napi::Object>();
    Napi::Array names = m.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string n = names.Get(i).ToString().Utf8Value();
      Napi::Value v = m.Get(n);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "maxEntries." + n + " must be a number");
      spec.maxEntries.emplace_back(n, v.As<Napi::Number>().Uint32Value());
    }
  }
  Napi::Value ladders = o.Get("ladders");
  if (ladders.IsObject()) {
    Napi::Object l = ladders.As<Napi::Object>();
    Napi::Array names = l.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      LadderSpec ls;
      ls.probe = names.Get(i).ToString().Utf8Value();
      Napi::Value rv = l.Get(ls.probe);
      if (!rv.IsArray()) throw Napi::TypeError::New(env, "ladders." + ls.probe + " must be an array of rungs");
      Napi::Array rungs = rv.As<Napi::Array>();
      for (uint32_t j = 0; j < rungs.Length(); j++) {
        Napi::Value x = rungs.Get(j);
        if (!x.IsObject()) throw Napi::TypeError::New(env, "ladders." + ls.probe + " rungs must be objects");
        Napi::Object ro = x.As<Napi::Object>();
        RungSpec r;
        r.program = Str(ro.Get("program"), "rung.program");
        r.kind = Str(ro.Get("kind"), "rung.kind");
        if (ro.Get("binary").IsString()) r.binary = ro.Get("binary").As<Napi::String>().Utf8Value();
        if (ro.Get("offset").IsNumber()) {
          r.offset = (uint64_t)ro.Get("offset").As<Napi::Number>().Int64Value();
          r.hasOffset = true;
        }
        if (ro.Get("pid").IsNumber()) r.pid = ro.Get("pid").As<Napi::Number>().Int32Value();
        if (ro.Get("target").IsString()) r.target = ro.Get("target").As<Napi::String>().Utf8Value();
        ls.rungs.push_back(r);
      }
      spec.ladders.push_back(ls);
    }
  }
  spec.preallocateHashMaps = o.Get("preallocateHashMaps").ToBoolean().Value();
  Napi::Value lo = o.Get("loadOnly");
  if (lo.IsArray()) {
    Napi::Array a = lo.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) spec.loadOnly.push_back(Str(a.Get(i), "loadOnly[]"));
  }
  return spec;
}

Napi::Object FailureToJs(Napi::Env env, const RungFailure& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("program", f.program);
  o.Set("kind", f.kind);
  o.Set("op", f.op);
  o.Set("errno", f.err);
  o.Set("code", ErrnoName(f.err));
  o.Set("reason", f.reason);
  return o;
}

bool IsPercpu(bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int PossibleCpus() {
  static int n = 0;
  if (n <= 0) n = libbpf_num_possible_cpus();
  return n;
}

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

void WalkLayout(const struct btf* btf, int id, const std::string& prefix, uint32_t base, Napi::Object fields) {
  Napi::Env env = fields.Env();
  const btf_type* t = btf__type_by_id(btf, id);
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); i++, m++) {
    std::string name = btf__name_by_offset(btf, m->name_off);
    uint32_t bitoff = btf_member_bit_offset(t, i);
    uint32_t bitsz = btf_member_bitfield_size(t, i);
    int mid = btf__resolve_type(btf, m->type);
    const btf_type* mt = mid > 0 ? btf__type_by_id(btf, mid) : nullptr;
    uint32_t off = base + bitoff / 8;
    if (mt && (btf_is_struct(mt) || btf_is_union(mt)) && bitsz == 0) {
      WalkLayout(btf, mid, name.empty() ? prefix : prefix + name + ".", off, fields);
      continue;
    }
    long long size = bitsz ? ((bitoff % 8) + bitsz + 7) / 8 : btf__resolve_size(btf, m->type);
    Napi::Object f = Napi::Object::New(env);
    f.Set("offset", off);
    f.Set("size", (double)size);
    fields.Set(prefix + name, f);
  }
}

}  // namespace

Napi::Function BpfObjectWrap::Init(Napi::Env env) {
  return DefineClass(
      env, "BpfObject",
      {StaticMethod<&BpfObjectWrap::Open>("open"), InstanceMethod<&BpfObjectWrap::Layout>("layout"),
       InstanceMethod<&BpfObjectWrap::MapInfo>("mapInfo"), InstanceMethod<&BpfObjectWrap::MapNames>("mapNames"),
       InstanceMethod<&BpfObjectWrap::ReadMap>("readMap"), InstanceMethod<&BpfObjectWrap::DeleteKeys>("deleteKeys"),
       InstanceMethod<&BpfObjectWrap::OpenRingBuffer>("openRingBuffer"),
       InstanceMethod<&BpfObjectWrap::AttachUprobe>("attachUprobe"), InstanceMethod<&BpfObjectWrap::Detach>("detach"),
       InstanceMethod<&BpfObjectWrap::ProgStats>("progStats"), InstanceMethod<&BpfObjectWrap::Close>("close")});
}

BpfObjectWrap::BpfObjectWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObjectWrap>(info) {
  if (info.Length() != 2 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "BpfObject instances are made by BpfObject.open()");
  Loaded* l = info[0].As<Napi::External<Loaded>>().Data();
  path_ = info[1].As<Napi::String>().Utf8Value();
  obj_ = l->obj;
  l->obj = nullptr;
  for (auto& e : l->links) links_[nextLinkId_++] = e;
  l->links.clear();
  data_ = GetData(info.Env());
  data_->live.insert(this);
}

BpfObjectWrap::~BpfObjectWrap() { CloseAll(false); }

void BpfObjectWrap::CloseAll(bool jsAlive) {
  std::set<RingBufferWrap*> rings = rings_;
  for (RingBufferWrap* r : rings) r->CloseNow(jsAlive);
  rings_.clear();
  for (auto& [id, e] : links_) bpf_link__destroy(e.link);
  links_.clear();
  if (obj_) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
  if (data_) data_->live.erase(this);
}

Napi::Value BpfObjectWrap::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpenSpec spec = ParseSpec(info);
  Loaded l = ChooseAndLoad(env, spec);
  Napi::Object self;
  try {
    self = GetData(env)->bpfObjectCtor.New({Napi::External<Loaded>::New(env, &l), Napi::String::New(env, spec.path)});
  } catch (...) {
    for (auto& e : l.links) bpf_link__destroy(e.link);
    if (l.obj) bpf_object__close(l.obj);
    throw;
  }
  Napi::Array reports = Napi::Array::New(env, l.outcomes.size());
  for (size_t i = 0; i < l.outcomes.size(); i++) {
    const LadderOutcome& oc = l.outcomes[i];
    Napi::Object r = Napi::Object::New(env);
    r.Set("probe", oc.probe);
    r.Set("attached", oc.chosen >= 0);
    if (oc.chosen >= 0) {
      const RungSpec& rs = spec.ladders[i].rungs[oc.chosen];
      r.Set("program", rs.program);
      r.Set("kind", rs.kind);
    }
    Napi::Array fails = Napi::Array::New(env, oc.failures.size());
    for (size_t j = 0; j < oc.failures.size(); j++) fails.Set((uint32_t)j, FailureToJs(env, oc.failures[j]));
    r.Set("failures", fails);
    reports.Set((uint32_t)i, r);
  }
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("trials", l.trials);
  stats.Set("trialMs", l.trialMs);
  stats.Set("fullLoads", l.fullLoads);
  self.DefineProperties({
      Napi::PropertyDescriptor::Value("path", Napi::String::New(env, spec.path), napi_enumerable),
      Napi::PropertyDescriptor::Value("attachments", reports, napi_enumerable),
      // not in native.d.ts: how many trial loads open() needed and their cost (diagnostics, benchmarks)
      Napi::PropertyDescriptor::Value("loadStats", stats, napi_default),
  });
  return self;
}

bpf_object* BpfObjectWrap::Obj(Napi::Env env, const char* op) {
  if (!obj_) ThrowBpfError(env, op, EBADF, std::string(op) + ": BpfObject(" + path_ + ") is closed");
  return obj_;
}

bpf_map* BpfObjectWrap::FindMap(Napi::Env env, const std::string& name, const char* op) {
  bpf_map* m = bpf_object__find_map_by_name(Obj(env, op), name.c_str());
  if (!m) ThrowBpfError(env, op, ENOENT, std::string(op) + "(" + name + ")", "no such map in " + path_);
  return m;
}

Napi::Value BpfObjectWrap::Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Str(info[0], "typeName");
  struct btf* btf = bpf_object__btf(Obj(env, "layout"));
  std::string bare = name;
  if (bare.rfind("struct ", 0) == 0)
    bare = bare.substr(7);
  else if (bare.rfind("union ", 0) == 0)
    bare = bare.substr(6);
  int id = -1;
  if (btf) {
    id = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_STRUCT);
    if (id < 0) id = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_UNION);
    if (id < 0) {
      int td = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_TYPEDEF);
      if (td > 0) {
        int r = btf__resolve_type(btf, td);
        const btf_type* t = r > 0 ? btf__type_by_id(btf, r) : nullptr;
        if (t && (btf_is_struct(t) || btf_is_union(t))) id = r;
      }
    }
  }
  if (id < 0)
    ThrowBpfError(env, "layout", ENOENT, "layout(" + name + ")",
                  "no struct or union of that name in the BTF of " + path_);
  Napi::Object out = Napi::Object::New(env);
  Napi::Object fields = Napi::Object::New(env);
  out.Set("size", btf__type_by_id(btf, id)->size);
  WalkLayout(btf, id, "", 0, fields);
  out.Set("fields", fields);
  return out;
}

Napi::Value BpfObjectWrap::MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* m = FindMap(env, Str(info[0], "name"), "mapInfo");
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

Napi::Value BpfObjectWrap::MapNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  bpf_map* m;
  uint32_t i = 0;
  bpf_object__for_each_map(m, Obj(env, "mapNames")) a.Set(i++, bpf_map__name(m));
  return a;
}

Napi::Value BpfObjectWrap::ReadMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Str(info[0], "name");
  bpf_map* m = FindMap(env, name, "readMap");
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
      if (first && (err == EINVAL || err == 524 || err == EOPNOTSUPP)) {
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

Napi::Value BpfObjectWrap::DeleteKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Str(info[0], "name");
  bpf_map* m = FindMap(env, name, "deleteKeys");
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "keys must be a Buffer");
  Napi::Buffer<uint8_t> keys = info[1].As<Napi::Buffer<uint8_t>>();
  uint32_t count = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  size_t ks = bpf_map__key_size(m);
  if ((size_t)count * ks > keys.Length())
    throw Napi::RangeError::New(env, "keys holds fewer than count keys of " + std::to_string(ks) + " bytes");
  int fd = bpf_map__fd(m);
  if (count == 0) return Napi::Number::New(env, 0);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  __u32 n = count;
  int r = bpf_map_delete_batch(fd, keys.Data(), &n, &opts);
  if (r == 0) return Napi::Number::New(env, count);
  int err = errno;
  uint32_t deleted = 0, from = 0;
  if (err == ENOENT) {  // stopped at a missing key: skip it, go on one by one
    deleted = n;
    from = n + 1;
  } else if (!(err == EINVAL || err == 524 || err == EOPNOTSUPP) || n != 0) {
    ThrowBpfError(env, "bpf_map_delete_batch", err, "bpf_map_delete_batch(" + name + ")");
  }
  for (uint32_t i = from; i < count; i++) {
    if (bpf_map_delete_elem(fd, keys.Data() + (size_t)i * ks) == 0) {
      deleted++;
    } else if (errno != ENOENT) {
      ThrowBpfError(env, "bpf_map_delete_elem", errno, "bpf_map_delete_elem(" + name + ")");
    }
  }
  return Napi::Number::New(env, deleted);
}

Napi::Value BpfObjectWrap::OpenRingBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = Str(info[0], "name");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "onBatch must be a function");
  bpf_map* m = FindMap(env, name, "openRingBuffer");
  if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF)
    ThrowBpfError(env, "openRingBuffer", EINVAL, "openRingBuffer(" + name + ")", "not a BPF_MAP_TYPE_RINGBUF map");
  Napi::Object rbObj = GetData(env)->ringBufferCtor.New({});
  RingBufferWrap* rb = RingBufferWrap::Unwrap(rbObj);
  rb->Start(env, this, bpf_map__fd(m), name, info[1].As<Napi::Function>());
  rings_.insert(rb);
  return rbObj;
}

Napi::Value BpfObjectWrap::AttachUprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RungSpec r;
  r.program = Str(info[0], "program");
  r.binary = Str(info[1], "binary");
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "offset must be a number");
  r.offset = (uint64_t)info[2].As<Napi::Number>().Int64Value();
  r.hasOffset = true;
  r.kind = info[3].ToBoolean().Value() ? "uretprobe" : "uprobe";
  r.pid = info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : -1;
  const char* op = "bpf_program__attach_uprobe";
  bpf_program* prog = bpf_object__find_program_by_name(Obj(env, op), r.program.c_str());
  char where[64];
  snprintf(where, sizeof where, "+0x%llx", (unsigned long long)r.offset);
  std::string what = "attachUprobe(" + r.program + ", " + r.binary + where + ")";
  if (!prog) ThrowBpfError(env, op, ENOENT, what, "no such program");
  if (bpf_program__fd(prog) < 0) ThrowBpfError(env, op, EINVAL, what, "program not loaded (list it in loadOnly)");
  RungFailure f;
  bpf_link* link = AttachRung(prog, r, &f);
  if (!link) ThrowBpfError(env, f.op, f.err, what, f.reason);
  int id = nextLinkId_++;
  links_[id] = {link, r.program};
  return Napi::Number::New(env, id);
}

Napi::Value BpfObjectWrap::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  auto it = links_.find(id);
  if (it != links_.end()) {  // unknown or already detached ids are ignored: detach is idempotent
    bpf_link__destroy(it->second.link);
    links_.erase(it);
  }
  return env.Undefined();
}

// struct bpf_link_info's perf_event.kprobe member as Linux 6.7+ has it (libbpf 1.1's uapi header predates it):
// `missed` counts hits the kernel skipped: a kretprobe's maxactive instances all in use, or a kprobe nested in
// another. No perf_event member before 6.6 (its type reads 0); 6.6 has it without `missed` (reads 0): callers
// check the kernel version.
struct PerfKprobeLinkInfo {
  __u32 type, id, prog_id, pad;
  __u32 perf_event_type, pad2;
  __u64 func_name;
  __u32 name_len, offset;
  __u64 addr, missed, cookie;
};
constexpr __u32 kLinkTypePerfEvent = 7;                         // BPF_LINK_TYPE_PERF_EVENT
constexpr __u32 kPerfEventKprobe = 3, kPerfEventKretprobe = 4;  // enum bpf_perf_event_type

// the link's kprobe misses, or false when it is no kprobe link or the kernel does not report them
static bool KprobeMisses(bpf_link* link, uint64_t* missed) {
  PerfKprobeLinkInfo li;
  memset(&li, 0, sizeof li);
  __u32 len = sizeof li;
  if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &li, &len)) return false;  // e.g. a perf event fd (no BPF link)
  if (li.type != kLinkTypePerfEvent) return false;
  if (li.perf_event_type != kPerfEventKprobe && li.perf_event_type != kPerfEventKretprobe) return false;
  *missed = li.missed;
  return true;
}

Napi::Value BpfObjectWrap::ProgStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, Obj(env, "progStats")) {
    int fd = bpf_program__fd(p);
    if (fd < 0) continue;
    struct bpf_prog_info pi;
    memset(&pi, 0, sizeof pi);
    __u32 len = sizeof pi;
    if (bpf_obj_get_info_by_fd(fd, &pi, &len))
      ThrowBpfError(env, "bpf_obj_get_info_by_fd", errno,
                    std::string("bpf_obj_get_info_by_fd(") + bpf_program__name(p) + ")");
    Napi::Object o = Napi::Object::New(env);
    o.Set("program", bpf_program__name(p));
    o.Set("runTimeNs", Napi::BigInt::New(env, (uint64_t)pi.run_time_ns));
    o.Set("runCount", Napi::BigInt::New(env, (uint64_t)pi.run_cnt));
    o.Set("recursionMisses", Napi::BigInt::New(env, (uint64_t)pi.recursion_misses));
    uint64_t kprobeMisses = 0, missed;
    bool reported = false;
    for (auto& [id, e] : links_)
      if (e.program == bpf_program__name(p) && KprobeMisses(e.link, &missed)) {
        kprobeMisses += missed;
        reported = true;
      }
    if (reported) o.Set("kprobeMisses", Napi::BigInt::New(env, kprobeMisses));
    a.Set(i++, o);
  }
  return a;
}

Napi::Value BpfObjectWrap::Close(const Napi::CallbackInfo& info) {
  CloseAll(true);
  return info.Env().Undefined();
}

}  // namespace kotel
