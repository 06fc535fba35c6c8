// BpfObject: the JavaScript class of one libbpf object opened, configured, loaded and attached by
// BpfObject.open(); its methods hand the work to ladder.cc, map_io.cc, btf_layout.cc and prog_stats.cc.
#pragma once

#include <napi.h>

#include <map>
#include <set>
#include <string>

#include "common.h"
#include "ladder.h"

struct bpf_object;
struct bpf_map;

namespace kotel {

class RingBufferWrap;

class BpfObjectWrap : public Napi::ObjectWrap<BpfObjectWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObjectWrap(const Napi::CallbackInfo& info);
  ~BpfObjectWrap() override;

  // Frees links, ring buffers and the object; idempotent. jsAlive=false during env teardown.
  void CloseAll(bool jsAlive);
  void ForgetRingBuffer(RingBufferWrap* rb) { rings_.erase(rb); }
  void DetachData() { data_ = nullptr; }

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Layout(const Napi::CallbackInfo& info);
  Napi::Value MapInfo(const Napi::CallbackInfo& info);
  Napi::Value MapNames(const Napi::CallbackInfo& info);
  Napi::Value ReadMap(const Napi::CallbackInfo& info);
  Napi::Value ReadMapSummed(const Napi::CallbackInfo& info);
  Napi::Value ReadMapNonzero(const Napi::CallbackInfo& info);
  Napi::Value DeleteKeys(const Napi::CallbackInfo& info);
  Napi::Value OpenRingBuffer(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value ProgStats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bpf_object* Obj(Napi::Env env, const char* op);
  bpf_map* FindMap(Napi::Env env, const std::string& name, const char* op);

  AddonData* data_ = nullptr;
  std::string path_;
  bpf_object* obj_ = nullptr;
  std::map<int, LinkEntry> links_;
  int nextLinkId_ = 1;
  std::set<RingBufferWrap*> rings_;
};

}  // namespace kotel
