#pragma once
#include <napi.h>

namespace kotel {
// notify(socket, state): one sd_notify(3) datagram; throws a BpfError when it cannot be sent
Napi::Value Notify(const Napi::CallbackInfo& info);
}  // namespace kotel
