#include "open_object.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>

#include "common.h"

namespace kotel {

namespace {

void SetMaxEntries(Napi::Env env, bpf_object* obj, const OpenSpec& spec) {
  for (auto& [name, n] : spec.maxEntries) {
    bpf_map* m = bpf_object__find_map_by_name(obj, name.c_str());
    if (!m) ThrowBpfError(env, "bpf_map__set_max_entries", ENOENT, "map '" + name + "' in " + spec.path, "no such map");
    int err = bpf_map__set_max_entries(m, n);
    if (err)
      ThrowBpfError(env, "bpf_map__set_max_entries", -err, "map '" + name + "' max_entries " + std::to_string(n));
  }
}

void PreallocateHashMaps(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    // task/inode/sk storage need the flag; only hash maps have a preallocated form
    bpf_map_type t = bpf_map__type(m);
    uint32_t flags = bpf_map__map_flags(m);
    if ((t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH) && (flags & BPF_F_NO_PREALLOC))
      bpf_map__set_map_flags(m, flags & ~BPF_F_NO_PREALLOC);
  }
}

// A trial load needs the maps to exist, not to hold anything.
void ShrinkMaps(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    if (bpf_map__is_internal(m)) continue;
    switch (bpf_map__type(m)) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
        bpf_map__set_max_entries(m, 1);
        break;
      case BPF_MAP_TYPE_RINGBUF:
        bpf_map__set_max_entries(m, (uint32_t)sysconf(_SC_PAGESIZE));
        break;
      default:
        break;
    }
  }
}

// fentry/fexit rungs with a target: the attach BTF id is resolved at load, so set it on every program
// that will be loaded (a program in several rungs takes the first target given)
void SetAttachTargets(bpf_object* obj, const OpenSpec& spec) {
  std::set<std::string> targeted;
  for (auto& l : spec.ladders)
    for (auto& r : l.rungs) {
      if (r.target.empty() || !IsFentry(r.kind) || !targeted.insert(r.program).second) continue;
      bpf_program* p = bpf_object__find_program_by_name(obj, r.program.c_str());
      if (p && bpf_program__autoload(p)) bpf_program__set_attach_target(p, 0, r.target.c_str());
    }
}

}  // namespace

void ObjCloser::operator()(bpf_object* o) const {
  if (o) bpf_object__close(o);
}

ObjPtr OpenConfigured(Napi::Env env, const OpenSpec& spec, const std::set<std::string>* autoload, bool trial) {
  uint64_t mark = LogMark();
  errno = 0;
  bpf_object* raw = bpf_object__open_file(spec.path.c_str(), nullptr);
  if (!raw) {
    int err = errno ? errno : EINVAL;
    ThrowBpfError(env, "bpf_object__open_file", err, "bpf_object__open_file(" + spec.path + ")",
                  err == ENOENT ? "" : LogReason(mark));
  }
  ObjPtr obj(raw);
  ApplyKnobs(env, raw, spec.path, spec.knobs);
  SetMaxEntries(env, raw, spec);
  if (spec.preallocateHashMaps) PreallocateHashMaps(raw);
  if (trial) ShrinkMaps(raw);
  if (autoload) SetAutoload(raw, *autoload);
  SetAttachTargets(raw, spec);
  return obj;
}

void SetAutoload(bpf_object* obj, const std::set<std::string>& names) {
  bpf_program* p;
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, names.count(bpf_program__name(p)) > 0);
}

}  // namespace kotel
