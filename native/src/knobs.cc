#include "knobs.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace kotel {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes knob k into the rodata bytes at dst (size bytes); returns "" or why not.
std::string EncodeKnob(const Knob& k, unsigned size, bool isBool, uint8_t* dst) {
  if (isBool && k.bits > 1) return "must be a boolean or 0/1";
  if (size < 8) {
    unsigned nb = size * 8;
    if (k.negative) {
      int64_t v = (int64_t)k.bits, min = -(int64_t(1) << (nb - 1));
      if (v < min) return "does not fit in " + std::to_string(size) + " bytes";
    } else if (k.bits >> nb) {
      return "does not fit in " + std::to_string(size) + " bytes";
    }
  }
  memcpy(dst, &k.bits, size);  // little-endian host
  return "";
}

}  // namespace

void ApplyKnobs(Napi::Env env, bpf_object* obj, const std::string& path, const std::vector<Knob>& knobs) {
  if (knobs.empty()) return;
  bpf_map* rodata = nullptr;
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    if (bpf_map__is_internal(m) && EndsWith(bpf_map__name(m), ".rodata")) rodata = m;
  }
  struct btf* btf = bpf_object__btf(obj);
  const btf_type* sec = nullptr;
  if (btf) {
    int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
    if (id > 0) sec = btf__type_by_id(btf, id);
  }
  size_t total = 0;
  uint8_t* base = rodata ? (uint8_t*)bpf_map__initial_value(rodata, &total) : nullptr;
  for (const Knob& k : knobs) {
    std::string what = "rodata knob '" + k.name + "' in " + path;
    bool found = false;
    if (sec && base) {
      const btf_var_secinfo* vs = btf_var_secinfos(sec);
      for (int i = 0; i < btf_vlen(sec); i++, vs++) {
        const btf_type* var = btf__type_by_id(btf, vs->type);
        if (!var || k.name != btf__name_by_offset(btf, var->name_off)) continue;
        found = true;
        int tid = btf__resolve_type(btf, var->type);  // through const/volatile/typedef
        const btf_type* t = tid > 0 ? btf__type_by_id(btf, tid) : nullptr;
        bool isBool = false;
        if (t && btf_is_int(t))
          isBool = (btf_int_encoding(t) & BTF_INT_BOOL) != 0;
        else if (!(t && (btf_is_enum(t) || btf_is_enum64(t))))
          ThrowBpfError(env, "rodata", EINVAL, what, "not an integer or bool variable");
        unsigned size = vs->size;
        if (size != 1 && size != 2 && size != 4 && size != 8)
          ThrowBpfError(env, "rodata", EINVAL, what, "unsupported size " + std::to_string(size));
        if (vs->offset + size > total) ThrowBpfError(env, "rodata", EINVAL, what, "outside .rodata");
        std::string why = EncodeKnob(k, size, isBool, base + vs->offset);
        if (!why.empty()) ThrowBpfError(env, "rodata", ERANGE, what, "value " + why);
        break;
      }
    }
    if (!found) ThrowBpfError(env, "rodata", ENOENT, what, "no such const volatile global in .rodata");
  }
}

}  // namespace kotel
