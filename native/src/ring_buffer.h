// RingBuffer: a BPF_MAP_TYPE_RINGBUF consumed on the libuv loop (uv_poll on ring_buffer__epoll_fd, no
// thread). Records of one drain are copied into one batch buffer, [u32 len][u32 0][record][pad to 8] each,
// whose memory is handed to JavaScript as one Buffer per batch (no second copy; freed when it is collected).
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>

struct ring_buffer;

namespace kotel {

class BpfObjectWrap;

class RingBufferWrap : public Napi::ObjectWrap<RingBufferWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RingBufferWrap(const Napi::CallbackInfo& info);
  ~RingBufferWrap() override;

  // Throws BpfError on failure.
  void Start(Napi::Env env, BpfObjectWrap* owner, int mapFd, const std::string& name, Napi::Function cb);
  // Stops polling and frees; idempotent. jsAlive=false during env teardown or GC.
  void CloseNow(bool jsAlive);

 private:
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Delivered(const Napi::CallbackInfo& info);

  static int OnSample(void* ctx, void* data, size_t size);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  // Consumes what is in the ring; delivers one batch. sync: exceptions propagate to the caller; else
  // they are reported through process.emitWarning and polling continues.
  size_t ConsumeAndDeliver(Napi::Env env, bool sync);

  std::string name_;
  ring_buffer* rb_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  BpfObjectWrap* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;  // keeps the BpfObject alive while the ring is open
  Napi::FunctionReference cb_;
  std::unique_ptr<Napi::AsyncContext> asyncCtx_;
  // the batch being filled: malloc'd, owned here until delivered; cap_ stays as the next batch's first size
  uint8_t* batch_ = nullptr;
  size_t batchLen_ = 0;
  size_t batchCap_ = 0;
  uint32_t batchCount_ = 0;
  void DropBatch();
  double delivered_ = 0;
  bool closed_ = false;
  bool refd_ = false;
};

}  // namespace kotel
