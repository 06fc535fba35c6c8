#pragma once
#include <napi.h>

namespace kotel {
// resolveSymbol(binary, name) -> { offset, version }
Napi::Value ResolveSymbol(const Napi::CallbackInfo& info);
}  // namespace kotel
