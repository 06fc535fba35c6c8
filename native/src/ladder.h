// Choosing one rung per hook ladder by trying, and loading the object with the winners.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "open_options.h"
#include "rung.h"

struct bpf_object;
struct bpf_link;

namespace kotel {

struct LadderOutcome {
  std::string probe;
  int chosen = -1;  // index of the winning rung, -1 when none attached
  std::vector<RungFailure> failures;
};

struct LinkEntry {
  bpf_link* link = nullptr;
  std::string program;
};

// The loaded object with its ladder links; the caller owns both.
struct Loaded {
  bpf_object* obj = nullptr;
  std::vector<LadderOutcome> outcomes;  // one per spec.ladders entry, in order
  std::vector<LinkEntry> links;
};

// Throws BpfError only when nothing can be loaded (bad file, knob, map or program name); a ladder with no
// working rung is an outcome with chosen == -1.
Loaded ChooseAndLoad(Napi::Env env, const OpenSpec& spec);

}  // namespace kotel
