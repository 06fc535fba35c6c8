// BpfObject.layout(): a struct's or union's size and field offsets from the object's BTF.
#pragma once

#include <napi.h>

#include <string>

struct btf;

namespace kotel {

// typeName: 'name', 'struct name', 'union name' or a typedef of one; btf may be null. Throws BpfError
// ENOENT naming path when there is no such type.
Napi::Object TypeLayout(Napi::Env env, const struct btf* btf, const std::string& typeName, const std::string& path);

}  // namespace kotel
