// BpfObject: one libbpf object opened, configured, loaded and attached by BpfObject.open().
#pragma once

#include <napi.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.h"

struct bpf_object;
struct bpf_program;
struct bpf_link;
struct bpf_map;

namespace kotel {

class RingBufferWrap;

struct Knob {
  enum Kind { kNumber, kBigInt, kBool } kind = kNumber;
  std::string name;
  double num = 0;
  int64_t big = 0;    // kBigInt: the value as signed
  uint64_t ubig = 0;  // kBigInt: the value as unsigned
  bool bigNegative = false;
  bool b = false;
};

struct RungSpec {
  std::string program;
  std::string kind;  // HookKind
  std::string binary;
  uint64_t offset = 0;
  bool hasOffset = false;
  int pid = -1;
  std::string target;  // kprobe/kretprobe/fentry/fexit: the kernel function, instead of the SEC() name's
};

struct LadderSpec {
  std::string probe;
  std::vector<RungSpec> rungs;
};

struct OpenSpec {
  std::string path;
  std::vector<Knob> knobs;
  std::vector<std::pair<std::string, uint32_t>> maxEntries;
  std::vector<LadderSpec> ladders;
  std::vector<std::string> loadOnly;
  bool preallocateHashMaps = false;
};

struct RungFailure {
  std::string program, kind, op;
  int err = 0;
  std::string reason;
};

struct LadderOutcome {
  std::string probe;
  int chosen = -1;  // index of the winning rung, -1 when none attached
  std::vector<RungFailure> failures;
};

struct LinkEntry {
  bpf_link* link = nullptr;
  std::string program;
};

// The result of choosing rungs: the loaded object with its ladder links.
struct Loaded {
  bpf_object* obj = nullptr;
  std::vector<LadderOutcome> outcomes;
  std::vector<LinkEntry> links;
  int trials = 0;      // trial loads done
  double trialMs = 0;  // time spent in them
  int fullLoads = 0;   // loads of the real object
};

// ladder.cc
Loaded ChooseAndLoad(Napi::Env env, const OpenSpec& spec);
// Opens spec.path and applies knobs and max_entries; autoload == nullptr keeps every program's default.
bpf_object* OpenConfigured(Napi::Env env, const OpenSpec& spec, const std::set<std::string>* autoload, bool trial);
// Returns the link or nullptr with *f filled.
bpf_link* AttachRung(bpf_program* prog, const RungSpec& r, RungFailure* f);

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
