// Strategy (one load in the common case):
//  1. cheap pre-checks per rung, in ladder order (Precheck). The first rung passing them is the ladder's
//     candidate.
//  2. optimistic load: the real object with candidates + loadOnly autoloaded; attach every candidate.
//  3. a ladder whose candidate failed (load or attach) walks its remaining rungs with trials: a second
//     instance of the object with only that program autoloaded and its maps shrunk, loaded, attached,
//     destroyed.
//  4. if the final program set differs from what was loaded, the real object is reopened with exactly the
//     chosen programs, loaded and attached again.
#include "ladder.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <set>

#include "common.h"
#include "open_object.h"

namespace kotel {

namespace {

bpf_program* Program(bpf_object* obj, const RungSpec& r) {
  return bpf_object__find_program_by_name(obj, r.program.c_str());
}

// Loads and attaches one rung in a throwaway copy of the object.
bool Trial(Napi::Env env, const OpenSpec& spec, const RungSpec& r, RungFailure* f) {
  std::set<std::string> only{r.program};
  ObjPtr obj = OpenConfigured(env, spec, &only, true);
  uint64_t mark = LogMark();
  int ret = bpf_object__load(obj.get());
  if (ret) {
    *f = MakeFailure(r, "bpf_object__load", -ret, LoadReason(-ret, mark));
    return false;
  }
  bpf_link* link = AttachRung(Program(obj.get(), r), r, f);
  if (!link) return false;
  bpf_link__destroy(link);
  return true;
}

// Attaches the chosen rung of every ladder; a rung that fails becomes a failure (and trialFrom, when
// given, the rung to walk on from).
void AttachChosen(bpf_object* obj, const OpenSpec& spec, Loaded* out, std::vector<int>* trialFrom) {
  for (size_t i = 0; i < spec.ladders.size(); i++) {
    LadderOutcome& oc = out->outcomes[i];
    if (oc.chosen < 0) continue;
    const RungSpec& r = spec.ladders[i].rungs[oc.chosen];
    RungFailure f;
    bpf_link* link = AttachRung(Program(obj, r), r, &f);
    if (link) {
      out->links.push_back({link, r.program});
      continue;
    }
    oc.failures.push_back(f);
    if (trialFrom) (*trialFrom)[i] = oc.chosen + 1;
    oc.chosen = -1;
  }
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
  ObjPtr main = OpenConfigured(env, spec, nullptr, false);
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
      if (Precheck(Program(main.get(), rungs[j]), rungs[j], &f)) {
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
  bool loadFailed = ret != 0;
  if (!loadFailed) {
    for (size_t i = 0; i < n; i++) out.outcomes[i].chosen = cand[i];
    AttachChosen(main.get(), spec, &out, &trialFrom);
  } else {
    // With a single program loaded, the failure is that program's; otherwise trials tell which.
    for (size_t i = 0; i < n; i++) {
      if (cand[i] < 0) continue;
      if (loaded.size() == 1) {
        out.outcomes[i].failures.push_back(
            MakeFailure(spec.ladders[i].rungs[cand[i]], "bpf_object__load", -ret, LoadReason(-ret, mark)));
        trialFrom[i] = cand[i] + 1;
      } else {
        trialFrom[i] = cand[i];
      }
    }
  }

  // Walk the rest of the ladders that need it, with trial loads.
  for (size_t i = 0; i < n; i++) {
    if (trialFrom[i] < 0) continue;
    const auto& rungs = spec.ladders[i].rungs;
    for (size_t j = trialFrom[i]; j < rungs.size(); j++) {
      RungFailure f;
      if ((int)j != cand[i] && !Precheck(Program(main.get(), rungs[j]), rungs[j], &f)) {
        out.outcomes[i].failures.push_back(f);
        continue;
      }
      if (Trial(env, spec, rungs[j], &f)) {
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
    main = OpenConfigured(env, spec, &final, false);
    mark = LogMark();
    ret = bpf_object__load(main.get());
    if (ret) ThrowBpfError(env, "bpf_object__load", -ret, "bpf_object__load(" + spec.path + ")", LogReason(mark));
    AttachChosen(main.get(), spec, &out, nullptr);  // worked in the trial, not now: reported, not retried
  }
  guard.armed = false;
  out.obj = main.release();
  return out;
}

}  // namespace kotel
