// Shared helpers of the kotel native addon: BpfError construction, errno names, the libbpf log ring and
// the per-environment addon state.
#pragma once

#include <napi.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace kotel {

class BpfObjectWrap;

// Per-environment state (napi instance data).
struct AddonData {
  Napi::FunctionReference errorClass;  // BpfError, from setErrorClass()
  Napi::FunctionReference bpfObjectCtor;
  Napi::FunctionReference ringBufferCtor;
  std::set<BpfObjectWrap*> live;  // objects not yet closed; closed by the env cleanup hook
  bool tearingDown = false;
};

AddonData* GetData(Napi::Env env);

// v as a string, else a TypeError "<what> must be a string"
std::string RequireString(const Napi::Value& v, const char* what);

// "EPERM" for EPERM (positive errno); "ENOTSUPP" for the kernel-internal 524; "E<n>" when unknown.
std::string ErrnoName(int err);
std::string ErrnoText(int err);  // strerror text

// A BpfError(op, errno, code, message) as a C++ exception node-addon-api rethrows into JS.
// message is "<what>: <strerror> (<CODE>)" plus ": <detail>" when detail is not empty.
Napi::Error MakeBpfError(Napi::Env env, const std::string& op, int err, const std::string& what,
                         const std::string& detail = "");
[[noreturn]] void ThrowBpfError(Napi::Env env, const std::string& op, int err, const std::string& what,
                                const std::string& detail = "");

// libbpf print hook: silent by default, KOTEL_LIBBPF_DEBUG=1 echoes everything to stderr. The recent
// lines are kept in a small ring so failures can be explained.
void InstallLibbpfPrint();
uint64_t LogMark();                                // sequence number of the next line
std::vector<std::string> LogSince(uint64_t mark);  // lines printed since mark (at most the ring)
// The line that explains a failure since mark: the last meaningful verifier line if a program load log
// was printed, otherwise the last libbpf line (without the "libbpf: " prefix); "" when nothing printed.
std::string LogReason(uint64_t mark);

}  // namespace kotel
