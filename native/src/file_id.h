#pragma once
#include <napi.h>

namespace kotel {
// fileId(path) -> string | undefined
Napi::Value FileId(const Napi::CallbackInfo& info);
}  // namespace kotel
