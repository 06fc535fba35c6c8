#include "ring_buffer.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bpf_object.h"
#include "common.h"

namespace kotel {

Napi::Function RingBufferWrap::Init(Napi::Env env) {
  return DefineClass(env, "RingBuffer",
                     {InstanceMethod<&RingBufferWrap::Drain>("drain"), InstanceMethod<&RingBufferWrap::Close>("close"),
                      InstanceAccessor<&RingBufferWrap::Delivered>("delivered")});
}

RingBufferWrap::RingBufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBufferWrap>(info) {}

RingBufferWrap::~RingBufferWrap() { CloseNow(false); }

void RingBufferWrap::Start(Napi::Env env, BpfObjectWrap* owner, int mapFd, const std::string& name, Napi::Function cb) {
  name_ = name;
  uint64_t mark = LogMark();
  errno = 0;
  rb_ = ring_buffer__new(mapFd, &RingBufferWrap::OnSample, this, nullptr);
  if (!rb_) {
    int err = errno ? errno : EINVAL;
    closed_ = true;
    ThrowBpfError(env, "ring_buffer__new", err, "ring_buffer__new(" + name + ")", LogReason(mark));
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    CloseNow(true);
    ThrowBpfError(env, "napi_get_uv_event_loop", EINVAL, "openRingBuffer(" + name + ")");
  }
  poll_ = new uv_poll_t;
  int r = uv_poll_init(loop, poll_, ring_buffer__epoll_fd(rb_));
  if (r == 0) {
    poll_->data = this;
    r = uv_poll_start(poll_, UV_READABLE, &RingBufferWrap::OnPoll);
  } else {
    delete poll_;
    poll_ = nullptr;
  }
  if (r != 0) {
    CloseNow(true);
    ThrowBpfError(env, "uv_poll_start", -r, "openRingBuffer(" + name + ")");
  }
  cb_ = Napi::Persistent(cb);
  asyncCtx_ = std::make_unique<Napi::AsyncContext>(env, "kotel:RingBuffer");
  owner_ = owner;
  ownerRef_ = Napi::Persistent(owner->Value());
  Ref();  // the poll handle uses this object until close()
  refd_ = true;
}

void RingBufferWrap::CloseNow(bool jsAlive) {
  if (closed_) return;
  closed_ = true;
  if (poll_) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (rb_) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  if (owner_) {
    owner_->ForgetRingBuffer(this);
    owner_ = nullptr;
  }
  DropBatch();
  if (jsAlive) {
    cb_.Reset();
    ownerRef_.Reset();
    asyncCtx_.reset();
    if (refd_) {
      refd_ = false;
      Unref();
    }
  } else {
    asyncCtx_.release();  // teardown: no async hooks to run any more (leaked on purpose)
  }
}

void RingBufferWrap::DropBatch() {
  free(batch_);
  batch_ = nullptr;
  batchLen_ = 0;
  batchCount_ = 0;
}

int RingBufferWrap::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingBufferWrap*>(ctx);
  size_t padded = (size + 7) & ~size_t(7);
  size_t need = self->batchLen_ + 8 + padded;
  if (!self->batch_ || need > self->batchCap_) {
    size_t cap = std::max({need, self->batch_ ? self->batchCap_ * 2 : self->batchCap_, size_t(64) << 10});
    auto* grown = static_cast<uint8_t*>(realloc(self->batch_, cap));
    if (!grown) return -ENOMEM;  // stops this consume; the record stays in the ring
    self->batch_ = grown;
    self->batchCap_ = cap;
  }
  uint8_t* p = self->batch_ + self->batchLen_;
  uint32_t hdr[2] = {(uint32_t)size, 0};
  memcpy(p, hdr, 8);
  memcpy(p + 8, data, size);
  if (padded > size) memset(p + 8 + size, 0, padded - size);
  self->batchLen_ = need;
  self->batchCount_++;
  return 0;
}

size_t RingBufferWrap::ConsumeAndDeliver(Napi::Env env, bool sync) {
  if (closed_ || !rb_) return 0;
  int n = ring_buffer__consume(rb_);
  if (n < 0 && sync) {
    DropBatch();
    ThrowBpfError(env, "ring_buffer__consume", -n, "ring_buffer__consume(" + name_ + ")");
  }
  uint32_t count = batchCount_;
  if (count == 0) return 0;
  // the batch's memory becomes the Buffer's (V8 is told its size, so garbage collection keeps pace)
  auto* len = new size_t(batchLen_);
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(
      env, batch_, batchLen_,
      [](Napi::Env e, uint8_t* data, size_t* bytes) {
        Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(*bytes));
        free(data);
        delete bytes;
      },
      len);
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(batchLen_));
  batch_ = nullptr;
  batchLen_ = 0;
  batchCount_ = 0;
  delivered_ += count;
  Napi::Function cb = cb_.Value();
  if (sync) {
    cb.Call(env.Undefined(), {buf, Napi::Number::New(env, count)});
    return count;
  }
  try {
    cb.MakeCallback(Value(), {buf, Napi::Number::New(env, count)}, *asyncCtx_);
  } catch (const Napi::Error& e) {
    // Never crash the agent for a decoder bug: report as a process warning and keep polling.
    try {
      Napi::Object process = env.Global().Get("process").As<Napi::Object>();
      Napi::Function emit = process.Get("emitWarning").As<Napi::Function>();
      emit.Call(process, {e.Value()});
    } catch (const Napi::Error&) {
    }
  }
  return count;
}

void RingBufferWrap::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<RingBufferWrap*>(handle->data);
  if (!self || self->closed_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  self->ConsumeAndDeliver(env, false);
}

Napi::Value RingBufferWrap::Drain(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)ConsumeAndDeliver(info.Env(), true));
}

Napi::Value RingBufferWrap::Close(const Napi::CallbackInfo& info) {
  CloseNow(true);
  return info.Env().Undefined();
}

Napi::Value RingBufferWrap::Delivered(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), delivered_);
}

}  // namespace kotel
