#include "open_options.h"

#include "common.h"

namespace kotel {

namespace {

// Calls f(name, value) for each own enumerable property of o, in order.
template <typename F>
void ForEachProperty(Napi::Object o, F f) {
  Napi::Array names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string n = names.Get(i).ToString().Utf8Value();
    f(n, o.Get(n));
  }
}

Knob ParseKnob(Napi::Env env, const std::string& name, Napi::Value v) {
  Knob k;
  k.name = name;
  if (v.IsBoolean()) {
    k.bits = v.As<Napi::Boolean>().Value() ? 1 : 0;
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // the casts below are defined only in this range (NaN fails it too)
    if (!(d >= -9223372036854775808.0 && d < 18446744073709551616.0))
      throw Napi::TypeError::New(env, "rodata." + name + " must fit in 64 bits");
    k.negative = d < 0;
    k.bits = k.negative ? (uint64_t)(int64_t)d : (uint64_t)d;
  } else if (v.IsBigInt()) {
    bool lossless = false;
    int64_t s = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (lossless && s < 0) {
      k.negative = true;
      k.bits = (uint64_t)s;
    } else {
      k.bits = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) throw Napi::TypeError::New(env, "rodata." + name + " must fit in 64 bits");
    }
  } else {
    throw Napi::TypeError::New(env, "rodata." + name + " must be a number, bigint or boolean");
  }
  return k;
}

RungSpec ParseRung(Napi::Env env, const std::string& probe, Napi::Value v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "ladders." + probe + " rungs must be objects");
  Napi::Object o = v.As<Napi::Object>();
  RungSpec r;
  r.program = RequireString(o.Get("program"), "rung.program");
  std::string kind = RequireString(o.Get("kind"), "rung.kind");
  if (!ParseHookKind(kind, &r.kind)) throw Napi::TypeError::New(env, "rung.kind '" + kind + "' is no hook kind");
  if (o.Get("binary").IsString()) r.binary = o.Get("binary").As<Napi::String>().Utf8Value();
  if (o.Get("offset").IsNumber()) r.offset = (uint64_t)o.Get("offset").As<Napi::Number>().Int64Value();
  if (o.Get("pid").IsNumber()) r.pid = o.Get("pid").As<Napi::Number>().Int32Value();
  if (o.Get("target").IsString()) r.target = o.Get("target").As<Napi::String>().Utf8Value();
  return r;
}

}  // namespace

OpenSpec ParseOpenOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpenSpec spec;
  spec.path = RequireString(info[0], "path");
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value rodata = o.Get("rodata");
  if (rodata.IsObject())
    ForEachProperty(rodata.As<Napi::Object>(),
                    [&](const std::string& n, Napi::Value v) { spec.knobs.push_back(ParseKnob(env, n, v)); });
  Napi::Value maxEntries = o.Get("maxEntries");
  if (maxEntries.IsObject())
    ForEachProperty(maxEntries.As<Napi::Object>(), [&](const std::string& n, Napi::Value v) {
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "maxEntries." + n + " must be a number");
      spec.maxEntries.emplace_back(n, v.As<Napi::Number>().Uint32Value());
    });
  Napi::Value ladders = o.Get("ladders");
  if (ladders.IsObject())
    ForEachProperty(ladders.As<Napi::Object>(), [&](const std::string& probe, Napi::Value v) {
      if (!v.IsArray()) throw Napi::TypeError::New(env, "ladders." + probe + " must be an array of rungs");
      Napi::Array rungs = v.As<Napi::Array>();
      LadderSpec l{probe, {}};
      for (uint32_t i = 0; i < rungs.Length(); i++) l.rungs.push_back(ParseRung(env, probe, rungs.Get(i)));
      spec.ladders.push_back(std::move(l));
    });
  Napi::Value loadOnly = o.Get("loadOnly");
  if (loadOnly.IsArray()) {
    Napi::Array a = loadOnly.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) spec.loadOnly.push_back(RequireString(a.Get(i), "loadOnly[]"));
  }
  spec.preallocateHashMaps = o.Get("preallocateHashMaps").ToBoolean().Value();
  return spec;
}

}  // namespace kotel
