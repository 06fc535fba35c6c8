#include "bpf_object.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>

#include "btf_layout.h"
#include "map_io.h"
#include "open_options.h"
#include "prog_stats.h"
#include "ring_buffer.h"

namespace kotel {

namespace {

Napi::Object FailureToJs(Napi::Env env, const RungFailure& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("program", f.program);
  o.Set("kind", HookKindName(f.kind));
  o.Set("op", f.op);
  o.Set("errno", f.err);
  o.Set("code", ErrnoName(f.err));
  o.Set("reason", f.reason);
  return o;
}

Napi::Array ReportsToJs(Napi::Env env, const OpenSpec& spec, const Loaded& l) {
  Napi::Array reports = Napi::Array::New(env, l.outcomes.size());
  for (size_t i = 0; i < l.outcomes.size(); i++) {
    const LadderOutcome& oc = l.outcomes[i];
    Napi::Object r = Napi::Object::New(env);
    r.Set("probe", oc.probe);
    r.Set("attached", oc.chosen >= 0);
    if (oc.chosen >= 0) {
      const RungSpec& rs = spec.ladders[i].rungs[oc.chosen];
      r.Set("program", rs.program);
      r.Set("kind", HookKindName(rs.kind));
    }
    Napi::Array fails = Napi::Array::New(env, oc.failures.size());
    for (size_t j = 0; j < oc.failures.size(); j++) fails.Set((uint32_t)j, FailureToJs(env, oc.failures[j]));
    r.Set("failures", fails);
    reports.Set((uint32_t)i, r);
  }
  return reports;
}

}  // namespace

Napi::Function BpfObjectWrap::Init(Napi::Env env) {
  return DefineClass(
      env, "BpfObject",
      {StaticMethod<&BpfObjectWrap::Open>("open"), InstanceMethod<&BpfObjectWrap::Layout>("layout"),
       InstanceMethod<&BpfObjectWrap::MapInfo>("mapInfo"), InstanceMethod<&BpfObjectWrap::MapNames>("mapNames"),
       InstanceMethod<&BpfObjectWrap::ReadMap>("readMap"),
       InstanceMethod<&BpfObjectWrap::ReadMapSummed>("readMapSummed"),
       InstanceMethod<&BpfObjectWrap::ReadMapNonzero>("readMapNonzero"),
       InstanceMethod<&BpfObjectWrap::DeleteKeys>("deleteKeys"),
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
  OpenSpec spec = ParseOpenOptions(info);
  Loaded l = ChooseAndLoad(env, spec);
  Napi::Object self;
  try {
    self = GetData(env)->bpfObjectCtor.New({Napi::External<Loaded>::New(env, &l), Napi::String::New(env, spec.path)});
  } catch (...) {
    for (auto& e : l.links) bpf_link__destroy(e.link);
    if (l.obj) bpf_object__close(l.obj);
    throw;
  }
  self.DefineProperties({
      Napi::PropertyDescriptor::Value("path", Napi::String::New(env, spec.path), napi_enumerable),
      Napi::PropertyDescriptor::Value("attachments", ReportsToJs(env, spec, l), napi_enumerable),
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
  std::string name = RequireString(info[0], "typeName");
  return TypeLayout(info.Env(), bpf_object__btf(Obj(info.Env(), "layout")), name, path_);
}

Napi::Value BpfObjectWrap::MapInfo(const Napi::CallbackInfo& info) {
  return MapInfoOf(info.Env(), FindMap(info.Env(), RequireString(info[0], "name"), "mapInfo"));
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
  std::string name = RequireString(info[0], "name");
  return kotel::ReadMap(info.Env(), FindMap(info.Env(), name, "readMap"), name, kotel::ReadMode::kEach);
}

Napi::Value BpfObjectWrap::ReadMapSummed(const Napi::CallbackInfo& info) {
  std::string name = RequireString(info[0], "name");
  return kotel::ReadMap(info.Env(), FindMap(info.Env(), name, "readMapSummed"), name, kotel::ReadMode::kSum);
}

Napi::Value BpfObjectWrap::ReadMapNonzero(const Napi::CallbackInfo& info) {
  std::string name = RequireString(info[0], "name");
  return kotel::ReadMap(info.Env(), FindMap(info.Env(), name, "readMapNonzero"), name, kotel::ReadMode::kNonzero);
}

Napi::Value BpfObjectWrap::DeleteKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = RequireString(info[0], "name");
  bpf_map* m = FindMap(env, name, "deleteKeys");
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "keys must be a Buffer");
  uint32_t count = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(env, kotel::DeleteKeys(env, m, name, info[1].As<Napi::Buffer<uint8_t>>(), count));
}
Napi::Value BpfObjectWrap::OpenRingBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = RequireString(info[0], "name");
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
  r.program = RequireString(info[0], "program");
  r.binary = RequireString(info[1], "binary");
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "offset must be a number");
  r.offset = (uint64_t)info[2].As<Napi::Number>().Int64Value();
  r.kind = info[3].ToBoolean().Value() ? HookKind::kUretprobe : HookKind::kUprobe;
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
Napi::Value BpfObjectWrap::ProgStats(const Napi::CallbackInfo& info) {
  return kotel::ProgStats(info.Env(), Obj(info.Env(), "progStats"), links_);
}

Napi::Value BpfObjectWrap::Close(const Napi::CallbackInfo& info) {
  CloseAll(true);
  return info.Env().Undefined();
}

}  // namespace kotel
