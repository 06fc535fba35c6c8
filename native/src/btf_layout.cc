#include "btf_layout.h"

#include <bpf/btf.h>

#include <cerrno>

#include "common.h"

namespace kotel {

namespace {

// Adds every member of struct/union id to fields as prefix + name (nested ones flattened with dots).
void WalkLayout(const struct btf* btf, int id, const std::string& prefix, uint32_t base, Napi::Object fields) {
  Napi::Env env = fields.Env();
  const btf_type* t = btf__type_by_id(btf, id);
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); i++, m++) {
    std::string name = btf__name_by_offset(btf, m->name_off);
    uint32_t bitoff = btf_member_bit_offset(t, i);
    uint32_t bitsz = btf_member_bitfield_size(t, i);
    int mid = btf__resolve_type(btf, m->type);
    const btf_type* mt = mid > 0 ? btf__type_by_id(btf, mid) : nullptr;
    uint32_t off = base + bitoff / 8;
    if (mt && (btf_is_struct(mt) || btf_is_union(mt)) && bitsz == 0) {
      WalkLayout(btf, mid, name.empty() ? prefix : prefix + name + ".", off, fields);
      continue;
    }
    long long size = bitsz ? ((bitoff % 8) + bitsz + 7) / 8 : btf__resolve_size(btf, m->type);
    Napi::Object f = Napi::Object::New(env);
    f.Set("offset", off);
    f.Set("size", (double)size);
    fields.Set(prefix + name, f);
  }
}

// the BTF id of the struct or union called bare (directly or through a typedef), or -1
int FindStructOrUnion(const struct btf* btf, const std::string& bare) {
  int id = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_STRUCT);
  if (id < 0) id = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_UNION);
  if (id >= 0) return id;
  int td = btf__find_by_name_kind(btf, bare.c_str(), BTF_KIND_TYPEDEF);
  if (td <= 0) return -1;
  int r = btf__resolve_type(btf, td);
  const btf_type* t = r > 0 ? btf__type_by_id(btf, r) : nullptr;
  return t && (btf_is_struct(t) || btf_is_union(t)) ? r : -1;
}

}  // namespace

Napi::Object TypeLayout(Napi::Env env, const struct btf* btf, const std::string& typeName, const std::string& path) {
  std::string bare = typeName;
  if (bare.rfind("struct ", 0) == 0)
    bare = bare.substr(7);
  else if (bare.rfind("union ", 0) == 0)
    bare = bare.substr(6);
  int id = btf ? FindStructOrUnion(btf, bare) : -1;
  if (id < 0)
    ThrowBpfError(env, "layout", ENOENT, "layout(" + typeName + ")",
                  "no struct or union of that name in the BTF of " + path);
  Napi::Object out = Napi::Object::New(env);
  Napi::Object fields = Napi::Object::New(env);
  out.Set("size", btf__type_by_id(btf, id)->size);
  WalkLayout(btf, id, "", 0, fields);
  out.Set("fields", fields);
  return out;
}

}  // namespace kotel
