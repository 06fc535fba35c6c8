// Opening, configuring and loading a BPF object, and choosing one rung per hook ladder by trying.
//
// Strategy (one load in the common case):
//  1. cheap pre-checks per rung, in ladder order: the program's type matches the rung kind, the kernel
//     accepts that program type (libbpf_probe_bpf_prog_type), tracefs for 'tp', the binary for uprobes.
//     The first rung passing them is the ladder's candidate.
//  2. optimistic load: the real object with candidates + loadOnly autoloaded; attach every candidate.
//  3. a ladder whose candidate failed (load or attach) walks its remaining rungs with trials: a second
//     instance of the object with only that program autoloaded and its hash/array maps shrunk to one
//     entry (ring buffers to one page), loaded, attached, destroyed.
//  4. if the final program set differs from what was loaded, the real object is reopened with exactly the
//     chosen programs, loaded and attached again.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "bpf_object.h"

namespace kotel {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ObjCloser {
  void operator()(bpf_object* o) const {
    if (o) bpf_object__close(o);
  }
};
using ObjPtr = std::unique_ptr<bpf_object, ObjCloser>;

std::string ProgTypeName(bpf_prog_type t) {
  const char* s = libbpf_bpf_prog_type_str(t);
  std::string n = s ? s : std::to_string((int)t);
  for (char& c : n) c = (char)toupper((unsigned char)c);
  return "BPF_PROG_TYPE_" + n;
}

bool KindProgType(const std::string& kind, bpf_prog_type* t) {
  if (kind == "tp_btf" || kind == "fentry" || kind == "fexit")
    *t = BPF_PROG_TYPE_TRACING;
  else if (kind == "raw_tp")
    *t = BPF_PROG_TYPE_RAW_TRACEPOINT;
  else if (kind == "tp")
    *t = BPF_PROG_TYPE_TRACEPOINT;
  else if (kind == "kprobe" || kind == "kretprobe" || kind == "uprobe" || kind == "uretprobe")
    *t = BPF_PROG_TYPE_KPROBE;
  else
    return false;
  return true;
}

const char* AttachOp(const std::string& kind) {
  if (kind == "tp_btf" || kind == "fentry" || kind == "fexit") return "bpf_program__attach_trace";
  if (kind == "raw_tp") return "bpf_program__attach_raw_tracepoint";
  if (kind == "tp") return "bpf_program__attach_tracepoint";
  if (kind == "kprobe" || kind == "kretprobe") return "bpf_program__attach_kprobe";
  return "bpf_program__attach_uprobe";
}

// 0 when the kernel accepts programs of type t, else a positive errno (cached per type).
int ProbeProgType(bpf_prog_type t) {
  static std::map<int, int> cache;
  auto it = cache.find((int)t);
  if (it != cache.end()) return it->second;
  int res = 0;
  // BPF_PROG_TYPE_TRACING can't be probed without a real attach target: a target-less trial load gets EPERM
  // even where tp_btf programs load and attach (seen on 6.18), so only a real load of the rung decides.
  if (t == BPF_PROG_TYPE_TRACING) return 0;
  if (libbpf_probe_bpf_prog_type(t, nullptr) != 1) {
    // libbpf only says yes/no: load a trivial program ourselves to learn why (EPERM, EINVAL...).
    struct bpf_insn insns[2] = {};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
    insns[1].code = BPF_JMP | BPF_EXIT;
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    if (t == BPF_PROG_TYPE_TRACING) opts.expected_attach_type = BPF_TRACE_FENTRY;
    int fd = bpf_prog_load(t, nullptr, "GPL", insns, 2, &opts);
    if (fd >= 0) {
      close(fd);
      res = EINVAL;
    } else {
      res = errno ? errno : EINVAL;
      // a kernel that has the type answers EINVAL here only for the missing attach target
      if (res == EINVAL && t != BPF_PROG_TYPE_TRACING) res = EOPNOTSUPP;
    }
  }
  cache[(int)t] = res;
  return res;
}

// 0 when tracefs events are reachable (mounting tracefs at /sys/kernel/tracing once if needed).
int EnsureTracefs() {
  static int state = -1;
  if (state >= 0) return state;
  if (access("/sys/kernel/tracing/events", F_OK) == 0 || access("/sys/kernel/debug/tracing/events", F_OK) == 0) {
    state = 0;
  } else if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 &&
             access("/sys/kernel/tracing/events", F_OK) == 0) {
    state = 0;
  } else {
    state = errno ? errno : ENOENT;
  }
  return state;
}

void Fail(RungFailure* f, const RungSpec& r, const std::string& op, int err, const std::string& reason) {
  f->program = r.program;
  f->kind = r.kind;
  f->op = op;
  f->err = err;
  f->reason = reason;
}

// Cheap checks before any load. obj is only used to read the program's type.
bool Precheck(bpf_object* obj, const RungSpec& r, RungFailure* f) {
  bpf_program* prog = bpf_object__find_program_by_name(obj, r.program.c_str());
  if (!prog) {
    Fail(f, r, "bpf_object__find_program_by_name", ENOENT, "no program '" + r.program + "' in the object");
    return false;
  }
  bpf_prog_type want;
  if (!KindProgType(r.kind, &want)) {
    Fail(f, r, "rung", EINVAL, "unknown hook kind '" + r.kind + "'");
    return false;
  }
  bpf_prog_type have = bpf_program__type(prog);
  if (have != want) {
    Fail(f, r, "rung", EINVAL,
         "program '" + r.program + "' is SEC(\"" + bpf_program__section_name(prog) + "\") (" + ProgTypeName(have) +
             "), not a " + r.kind + " program");
    return false;
  }
  int err = ProbeProgType(want);
  if (err) {
    Fail(f, r, "libbpf_probe_bpf_prog_type", err,
         "kernel refuses " + ProgTypeName(want) + " programs (" + ErrnoName(err) + ")");
    return false;
  }
  if (r.kind == "tp") {
    err = EnsureTracefs();
    if (err) {
      Fail(f, r, "mount", err,
           "tracefs is not mounted and mounting it at /sys/kernel/tracing failed: " + ErrnoText(err) + " (" +
               ErrnoName(err) + ")");
      return false;
    }
  }
  if (r.kind == "uprobe" || r.kind == "uretprobe") {
    if (r.binary.empty() || !r.hasOffset) {
      Fail(f, r, "rung", EINVAL, r.kind + " rung needs binary and offset");
      return false;
    }
    if (access(r.binary.c_str(), R_OK) != 0) {
      err = errno;
      Fail(f, r, "access", err, "cannot read " + r.binary + ": " + ErrnoText(err) + " (" + ErrnoName(err) + ")");
      return false;
    }
  }
  return true;
}

std::string LoadReason(int err, uint64_t mark) {
  std::string why = LogReason(mark);
  std::string s = "load failed: " + ErrnoText(err) + " (" + ErrnoName(err) + ")";
  if (!why.empty()) s += ": " + why;
  return s;
}

void SetAutoload(bpf_object* obj, const std::set<std::string>& names) {
  bpf_program* p;
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, names.count(bpf_program__name(p)) > 0);
}

// Writes knob k into the rodata bytes at dst (size bytes); returns "" or why not.
std::string EncodeKnob(const Knob& k, unsigned size, bool isBool, uint8_t* dst) {
  uint64_t bits = 0;
  bool neg = false;
  if (k.kind == Knob::kBool) {
    bits = k.b ? 1 : 0;
  } else if (k.kind == Knob::kNumber) {
    if (!std::isfinite(k.num) || std::trunc(k.num) != k.num) return "is not an integer";
    if (k.num < 0) {
      if (k.num < -9223372036854775808.0) return "is out of range";
      neg = true;
      bits = (uint64_t)(int64_t)k.num;
    } else {
      if (k.num >= 18446744073709551616.0) return "is out of range";
      bits = (uint64_t)k.num;
    }
  } else {
    neg = k.bigNegative;
    bits = neg ? (uint64_t)k.big : k.ubig;
  }
  if (isBool && bits > 1) return "must be a boolean or 0/1";
  if (size < 8) {
    unsigned nb = size * 8;
    if (neg) {
      int64_t v = (int64_t)bits, min = -(int64_t(1) << (nb - 1));
      if (v < min) return "does not fit in " + std::to_string(size) + " bytes";
    } else if (bits >> nb) {
      return "does not fit in " + std::to_string(size) + " bytes";
    }
  }
  memcpy(dst, &bits, size);  // little-endian host
  return "";
}

void ApplyKnobs(Napi::Env env, bpf_object* obj, const OpenSpec& spec) {
  if (spec.knobs.empty()) return;
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
  for (const Knob& k : spec.knobs) {
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
          ThrowBpfError(env, "rodata", EINVAL, "rodata knob '" + k.name + "' in " + spec.path,
                        "not an integer or bool variable");
        unsigned size = vs->size;
        if (size != 1 && size != 2 && size != 4 && size != 8)
          ThrowBpfError(env, "rodata", EINVAL, "rodata knob '" + k.name + "' in " + spec.path,
                        "unsupported size " + std::to_string(size));
        if (vs->offset + size > total)
          ThrowBpfError(env, "rodata", EINVAL, "rodata knob '" + k.name + "' in " + spec.path, "outside .rodata");
        std::string why = EncodeKnob(k, size, isBool, base + vs->offset);
        if (!why.empty())
          ThrowBpfError(env, "rodata", ERANGE, "rodata knob '" + k.name + "' in " + spec.path, "value " + why);
        break;
      }
    }
    if (!found)
      ThrowBpfError(env, "rodata", ENOENT, "rodata knob '" + k.name + "' in " + spec.path,
                    "no such const volatile global in .rodata");
  }
}

}  // namespace

bpf_object* OpenConfigured(Napi::Env env, const OpenSpec& spec, const std::set<std::string>* autoload, bool trial) {
  uint64_t mark = LogMark();
  errno = 0;
  bpf_object* raw = bpf_object__open_file(spec.path.c_str(), nullptr);
  if (!raw) {
    int err = errno ? errno : EINVAL;
    ThrowBpfError(env, "bpf_object__open_file", err, "bpf_object__open_file(" + spec.path + ")",
                  err == ENOENT ? "" : LogReason(mark));
  }
  ObjPtr obj(raw);
  ApplyKnobs(env, raw, spec);
  for (auto& [name, n] : spec.maxEntries) {
    bpf_map* m = bpf_object__find_map_by_name(raw, name.c_str());
    if (!m) ThrowBpfError(env, "bpf_map__set_max_entries", ENOENT, "map '" + name + "' in " + spec.path, "no such map");
    int err = bpf_map__set_max_entries(m, n);
    if (err)
      ThrowBpfError(env, "bpf_map__set_max_entries", -err, "map '" + name + "' max_entries " + std::to_string(n));
  }
  if (spec.preallocateHashMaps) {
    bpf_map* m;
    bpf_object__for_each_map(m, raw) {
      // task/inode/sk storage need the flag; only hash maps have a preallocated form
      bpf_map_type t = bpf_map__type(m);
      uint32_t flags = bpf_map__map_flags(m);
      if ((t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH) && (flags & BPF_F_NO_PREALLOC))
        bpf_map__set_map_flags(m, flags & ~BPF_F_NO_PREALLOC);
    }
  }
  if (trial) {
    bpf_map* m;
    bpf_object__for_each_map(m, raw) {
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
  if (autoload) SetAutoload(raw, *autoload);
  // fentry/fexit rungs with a target: the attach BTF id is resolved at load, so set it on every program
  // that will be loaded (a program in several rungs takes the first target given)
  std::set<std::string> targeted;
  for (auto& l : spec.ladders)
    for (auto& r : l.rungs) {
      if (r.target.empty() || (r.kind != "fentry" && r.kind != "fexit") || !targeted.insert(r.program).second) continue;
      bpf_program* p = bpf_object__find_program_by_name(raw, r.program.c_str());
      if (p && bpf_program__autoload(p)) bpf_program__set_attach_target(p, 0, r.target.c_str());
    }
  return obj.release();
}

bpf_link* AttachRung(bpf_program* prog, const RungSpec& r, RungFailure* f) {
  uint64_t mark = LogMark();
  errno = 0;
  bpf_link* link;
  if (r.kind == "uprobe" || r.kind == "uretprobe")
    link = bpf_program__attach_uprobe(prog, r.kind == "uretprobe", r.pid, r.binary.c_str(), (size_t)r.offset);
  else if ((r.kind == "kprobe" || r.kind == "kretprobe") && !r.target.empty())
    link = bpf_program__attach_kprobe(prog, r.kind == "kretprobe", r.target.c_str());
  else
    link = bpf_program__attach(prog);
  if (link) return link;
  int err = errno ? errno : EINVAL;
  std::string why = LogReason(mark);
  std::string reason = r.kind + " attach failed: " + ErrnoText(err) + " (" + ErrnoName(err) + ")";
  if (!why.empty()) reason += ": " + why;
  Fail(f, r, AttachOp(r.kind), err, reason);
  return nullptr;
}

namespace {

// Loads and attaches one rung in a throwaway copy of the object.
bool Trial(Napi::Env env, const OpenSpec& spec, const RungSpec& r, RungFailure* f, Loaded* stats) {
  auto t0 = std::chrono::steady_clock::now();
  std::set<std::string> only{r.program};
  ObjPtr obj(OpenConfigured(env, spec, &only, true));
  bool ok = false;
  uint64_t mark = LogMark();
  int ret = bpf_object__load(obj.get());
  if (ret) {
    int err = -ret;
    Fail(f, r, "bpf_object__load", err, LoadReason(err, mark));
  } else {
    bpf_link* link = AttachRung(bpf_object__find_program_by_name(obj.get(), r.program.c_str()), r, f);
    if (link) {
      ok = true;
      bpf_link__destroy(link);
    }
  }
  obj.reset();
  stats->trials++;
  stats->trialMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return ok;
}

void DestroyLinks(std::vector<LinkEntry>* links) {
  for (auto& l : *links) bpf_link__destroy(l.link);
  links->clear();
}

}  // namespace

Loaded ChooseAndLoad(Napi::Env env, const OpenSpec& spec) {
  Loaded out;
  struct LinkGuard {  // an exception from a trial must not leave the optimistic links attached
    std::vector<LinkEntry>* links;
    bool armed = true;
    ~LinkGuard() {
      if (armed) DestroyLinks(links);
    }
  } guard{&out.links};
  ObjPtr main(OpenConfigured(env, spec, nullptr, false));
  auto needProgram = [&](const std::string& name) {
    if (!bpf_object__find_program_by_name(main.get(), name.c_str()))
      ThrowBpfError(env, "bpf_object__find_program_by_name", ENOENT, "program '" + name + "' in " + spec.path,
                    "no such program");
  };
  for (auto& l : spec.ladders)
    for (auto& r : l.rungs) needProgram(r.program);
  for (auto& p : spec.loadOnly) needProgram(p);

  size_t n = spec.ladders.size();
  std::vector<int> cand(n, -1), trialFrom(n, -1);
  out.outcomes.resize(n);
  for (size_t i = 0; i < n; i++) {
    out.outcomes[i].probe = spec.ladders[i].probe;
    const auto& rungs = spec.ladders[i].rungs;
    for (size_t j = 0; j < rungs.size(); j++) {
      RungFailure f;
      if (Precheck(main.get(), rungs[j], &f)) {
        cand[i] = (int)j;
        break;
      }
      out.outcomes[i].failures.push_back(f);
    }
  }

  // Optimistic load: every candidate at once.
  std::set<std::string> loaded(spec.loadOnly.begin(), spec.loadOnly.end());
  for (size_t i = 0; i < n; i++)
    if (cand[i] >= 0) loaded.insert(spec.ladders[i].rungs[cand[i]].program);
  SetAutoload(main.get(), loaded);
  uint64_t mark = LogMark();
  int ret = bpf_object__load(main.get());
  out.fullLoads++;
  bool loadFailed = ret != 0;
  if (!loadFailed) {
    for (size_t i = 0; i < n; i++) {
      if (cand[i] < 0) continue;
      const RungSpec& r = spec.ladders[i].rungs[cand[i]];
      RungFailure f;
      bpf_link* link = AttachRung(bpf_object__find_program_by_name(main.get(), r.program.c_str()), r, &f);
      if (link) {
        out.links.push_back({link, r.program});
        out.outcomes[i].chosen = cand[i];
      } else {
        out.outcomes[i].failures.push_back(f);
        trialFrom[i] = cand[i] + 1;
      }
    }
  } else {
    int err = -ret;
    // With a single program loaded, the failure is that program's; otherwise trials tell which.
    size_t candidates = 0;
    for (size_t i = 0; i < n; i++) candidates += cand[i] >= 0;
    for (size_t i = 0; i < n; i++) {
      if (cand[i] < 0) continue;
      if (loaded.size() == 1) {
        const RungSpec& r = spec.ladders[i].rungs[cand[i]];
        RungFailure f;
        Fail(&f, r, "bpf_object__load", err, LoadReason(err, mark));
        out.outcomes[i].failures.push_back(f);
        trialFrom[i] = cand[i] + 1;
      } else {
        trialFrom[i] = cand[i];
      }
    }
    (void)candidates;
  }

  // Walk the rest of the ladders that need it, with trial loads.
  for (size_t i = 0; i < n; i++) {
    if (trialFrom[i] < 0) continue;
    const auto& rungs = spec.ladders[i].rungs;
    for (size_t j = trialFrom[i]; j < rungs.size(); j++) {
      RungFailure f;
      if ((int)j != cand[i] && !Precheck(main.get(), rungs[j], &f)) {
        out.outcomes[i].failures.push_back(f);
        continue;
      }
      if (Trial(env, spec, rungs[j], &f, &out)) {
        out.outcomes[i].chosen = (int)j;
        break;
      }
      out.outcomes[i].failures.push_back(f);
    }
  }

  std::set<std::string> final(spec.loadOnly.begin(), spec.loadOnly.end());
  for (size_t i = 0; i < n; i++)
    if (out.outcomes[i].chosen >= 0) final.insert(spec.ladders[i].rungs[out.outcomes[i].chosen].program);

  if (loadFailed || final != loaded) {
    DestroyLinks(&out.links);
    main.reset();
    main.reset(OpenConfigured(env, spec, &final, false));
    mark = LogMark();
    ret = bpf_object__load(main.get());
    out.fullLoads++;
    if (ret) {
      int err = -ret;
      std::string why = LogReason(mark);
      ThrowBpfError(env, "bpf_object__load", err, "bpf_object__load(" + spec.path + ")", why);
    }
    for (size_t i = 0; i < n; i++) {
      int c = out.outcomes[i].chosen;
      if (c < 0) continue;
      const RungSpec& r = spec.ladders[i].rungs[c];
      RungFailure f;
      bpf_link* link = AttachRung(bpf_object__find_program_by_name(main.get(), r.program.c_str()), r, &f);
      if (link) {
        out.links.push_back({link, r.program});
      } else {  // worked in the trial, not now: report, do not loop
        out.outcomes[i].failures.push_back(f);
        out.outcomes[i].chosen = -1;
      }
    }
  }
  guard.armed = false;
  out.obj = main.release();
  return out;
}

}  // namespace kotel
