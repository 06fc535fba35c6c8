// Module entry of kotel_native: the NativeBinding of agent/src/native/native.d.ts.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "bpf_object.h"
#include "common.h"
#include "elf_symbol.h"
#include "file_id.h"
#include "notify.h"
#include "ring_buffer.h"

namespace kotel {
namespace {

int g_statsFd = -1;  // BPF_ENABLE_STATS fd: run-time stats stay on while it is open (process-wide)

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass(ctor: Function)");
  GetData(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowBpfError(info.Env(), "libbpf_num_possible_cpus", -n, "libbpf_num_possible_cpus()");
  return Napi::Number::New(info.Env(), n);
}

Napi::Value EnableRunTimeStats(const Napi::CallbackInfo& info) {
  if (g_statsFd < 0) g_statsFd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  return Napi::Boolean::New(info.Env(), g_statsFd >= 0);
}

Napi::Value DisableRunTimeStats(const Napi::CallbackInfo& info) {
  if (g_statsFd >= 0) {
    close(g_statsFd);
    g_statsFd = -1;
  }
  return info.Env().Undefined();
}

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

// Closes what JavaScript left open when the environment goes away (process exit, worker end).
void Cleanup(void* arg) {
  auto* d = static_cast<AddonData*>(arg);
  d->tearingDown = true;
  std::set<BpfObjectWrap*> live = d->live;
  for (BpfObjectWrap* o : live) {
    o->CloseAll(false);
    o->DetachData();
  }
  d->live.clear();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  napi_add_env_cleanup_hook(env, Cleanup, data);
  Napi::Function bpfObject = BpfObjectWrap::Init(env);
  data->bpfObjectCtor = Napi::Persistent(bpfObject);
  data->ringBufferCtor = Napi::Persistent(RingBufferWrap::Init(env));
  exports.Set("BpfObject", bpfObject);
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  exports.Set("possibleCpus", Napi::Function::New<PossibleCpus>(env, "possibleCpus"));
  exports.Set("enableRunTimeStats", Napi::Function::New<EnableRunTimeStats>(env, "enableRunTimeStats"));
  exports.Set("disableRunTimeStats", Napi::Function::New<DisableRunTimeStats>(env, "disableRunTimeStats"));
  exports.Set("resolveSymbol", Napi::Function::New<ResolveSymbol>(env, "resolveSymbol"));
  exports.Set("fileId", Napi::Function::New<FileId>(env, "fileId"));
  exports.Set("notify", Napi::Function::New<Notify>(env, "notify"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  return exports;
}

}  // namespace kotel

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return kotel::Init(env, exports); }

NODE_API_MODULE(kotel_native, InitModule)
