#include "common.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

namespace kotel {

AddonData* GetData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

std::string RequireString(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string ErrnoName(int err) {
  if (err < 0) err = -err;
  switch (err) {  // kernel-internal codes glibc does not name
    case 512:
      return "ERESTARTSYS";
    case 524:
      return "ENOTSUPP";
    default:
      break;
  }
  const char* n = strerrorname_np(err);  // glibc >= 2.32
  if (n) return n;
  return "E" + std::to_string(err);
}

std::string ErrnoText(int err) {
  if (err < 0) err = -err;
  if (err == 524) return "Operation not supported";
  char buf[128];
  const char* s = strerror_r(err, buf, sizeof buf);  // GNU variant
  return s ? s : "Unknown error";
}

Napi::Error MakeBpfError(Napi::Env env, const std::string& op, int err, const std::string& what,
                         const std::string& detail) {
  if (err < 0) err = -err;
  std::string code = ErrnoName(err);
  std::string msg = what + ": " + ErrnoText(err) + " (" + code + ")";
  if (!detail.empty()) msg += ": " + detail;
  AddonData* d = GetData(env);
  if (d && !d->errorClass.IsEmpty()) {
    Napi::Object e = d->errorClass.New({Napi::String::New(env, op), Napi::Number::New(env, err),
                                        Napi::String::New(env, code), Napi::String::New(env, msg)});
    return Napi::Error(env, e);
  }
  // setErrorClass() not called yet: a plain Error with the same fields.
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("op", Napi::String::New(env, op));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void ThrowBpfError(Napi::Env env, const std::string& op, int err, const std::string& what, const std::string& detail) {
  throw MakeBpfError(env, op, err, what, detail);
}

// ---- libbpf log ring ----

namespace {
constexpr size_t kRingLines = 256;
std::mutex g_logMu;
std::deque<std::string> g_log;  // most recent last
uint64_t g_logSeq = 0;          // sequence number of the next line
bool g_debug = false;
std::string g_partial;  // a line printed in several calls

void PushLine(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  g_log.push_back(std::move(line));
  if (g_log.size() > kRingLines) g_log.pop_front();
  g_logSeq++;
}

int PrintFn(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (g_debug) {
    va_list copy;
    va_copy(copy, args);
    vfprintf(stderr, fmt, copy);
    va_end(copy);
  }
  if (level == LIBBPF_DEBUG) return 0;  // only keep warnings and info: debug is very chatty
  char stackbuf[1024];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, copy);
  va_end(copy);
  std::string text;
  if (n < 0) return 0;
  if ((size_t)n < sizeof stackbuf) {
    text.assign(stackbuf, n);
  } else {
    text.resize(n + 1);
    vsnprintf(&text[0], n + 1, fmt, args);
    text.resize(n);
  }
  std::lock_guard<std::mutex> lock(g_logMu);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      g_partial += text.substr(start);
      break;
    }
    g_partial += text.substr(start, nl - start);
    PushLine(std::move(g_partial));
    g_partial.clear();
    start = nl + 1;
  }
  return 0;
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}
}  // namespace

void InstallLibbpfPrint() {
  const char* dbg = getenv("KOTEL_LIBBPF_DEBUG");
  g_debug = dbg && *dbg && strcmp(dbg, "0") != 0;
  libbpf_set_print(PrintFn);
}

uint64_t LogMark() {
  std::lock_guard<std::mutex> lock(g_logMu);
  return g_logSeq;
}

std::vector<std::string> LogSince(uint64_t mark) {
  std::lock_guard<std::mutex> lock(g_logMu);
  std::vector<std::string> out;
  uint64_t first = g_logSeq - g_log.size();
  for (size_t i = 0; i < g_log.size(); i++)
    if (first + i >= mark) out.push_back(g_log[i]);
  if (!g_partial.empty()) out.push_back(g_partial);
  return out;
}

std::string LogReason(uint64_t mark) {
  std::vector<std::string> lines = LogSince(mark);
  // A program load log: the last meaningful line before "-- END PROG LOAD LOG --".
  for (size_t i = lines.size(); i-- > 0;) {
    if (lines[i].find("-- END PROG LOAD LOG --") == std::string::npos) continue;
    for (size_t j = i; j-- > 0;) {
      std::string l = Trim(lines[j]);
      if (l.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) break;
      if (l.empty() || StartsWith(l, "processed ") || StartsWith(l, "verification time") ||
          StartsWith(l, "stack depth") || StartsWith(l, "mark_precise") || StartsWith(l, "(truncated)"))
        continue;
      return "verifier: " + l;
    }
    break;
  }
  // Otherwise the most specific libbpf line: skip the generic "failed to load object" trailer.
  for (size_t i = lines.size(); i-- > 0;) {
    std::string l = Trim(lines[i]);
    if (StartsWith(l, "libbpf: ")) l = l.substr(8);
    if (l.empty() || l.find("failed to load object") != std::string::npos ||
        l.find("Error in bpf_object__probe_loading") != std::string::npos || StartsWith(l, "-- ") ||
        StartsWith(l, "Couldn't load trivial BPF program"))
      continue;
    return l;
  }
  return "";
}

}  // namespace kotel
