#include "sim/sim_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string_view>

#include "config/config.h"
#include "deploy/engine_settings.h"
#include "util/bytes.h"

namespace cortex::sim {
namespace {

// How many words follow a flag.
enum class Arity {
  kNone,      // a switch
  kOne,       // exactly one value, taken even when it starts with '-' ("-ngl -1")
  kOptional,  // llama.cpp's -fa: a value when the next word is one, else "on"
  kMany,      // vLLM's nargs='+': every following word up to the next flag
};

// One engine flag the simulator reads. `key` is the canonical long name the planner's
// ReadLlamaCppSettings / ReadVllmSettings expect; `bool_value` is what a switch sets.
struct FlagSpec {
  std::vector<std::string_view> names;
  Arity arity;
  std::string_view key;
  bool bool_value = true;
};

// llama-server's flags (D-engine-apis.md 1.9), the ones that change memory or behaviour.
const std::vector<FlagSpec>& LlamaCppFlagTable() {
  static const std::vector<FlagSpec> table = {
      {{"-m", "--model"}, Arity::kOne, "model"},
      {{"-c", "--ctx-size"}, Arity::kOne, "ctx-size"},
      {{"-np", "--parallel"}, Arity::kOne, "parallel"},
      {{"-kvu", "--kv-unified"}, Arity::kNone, "kv-unified", true},
      {{"-no-kvu", "--no-kv-unified"}, Arity::kNone, "kv-unified", false},
      {{"-ctk", "--cache-type-k"}, Arity::kOne, "cache-type-k"},
      {{"-ctv", "--cache-type-v"}, Arity::kOne, "cache-type-v"},
      {{"-fa", "--flash-attn"}, Arity::kOptional, "flash-attn"},
      {{"-b", "--batch-size"}, Arity::kOne, "batch-size"},
      {{"-ub", "--ubatch-size"}, Arity::kOne, "ubatch-size"},
      {{"-ngl", "--gpu-layers", "--n-gpu-layers"}, Arity::kOne, "n-gpu-layers"},
      {{"-cram", "--cache-ram"}, Arity::kOne, "cache-ram"},
      {{"--swa-full"}, Arity::kNone, "swa-full", true},
      {{"-nkvo", "--no-kv-offload"}, Arity::kNone, "no-kv-offload", true},
      {{"--host"}, Arity::kOne, "host"},
      {{"--port"}, Arity::kOne, "port"},
      {{"-a", "--alias"}, Arity::kOne, "alias"},
      {{"--api-key"}, Arity::kOne, "api-key"},
      {{"--metrics"}, Arity::kNone, "metrics", true},
      {{"--slots"}, Arity::kNone, "slots", true},
      {{"--no-slots"}, Arity::kNone, "slots", false},
      {{"--sse-ping-interval"}, Arity::kOne, "sse-ping-interval"},
      {{"-to", "--timeout"}, Arity::kOne, "timeout"},
  };
  return table;
}

// vllm serve's flags (D-engine-apis.md 2.8).
const std::vector<FlagSpec>& VllmFlagTable() {
  static const std::vector<FlagSpec> table = {
      {{"--model"}, Arity::kOne, "model"},
      {{"--max-model-len"}, Arity::kOne, "max-model-len"},
      {{"--served-model-name"}, Arity::kMany, "served-model-name"},
      {{"--max-num-seqs"}, Arity::kOne, "max-num-seqs"},
      {{"--max-num-batched-tokens"}, Arity::kOne, "max-num-batched-tokens"},
      {{"--kv-cache-memory-bytes"}, Arity::kOne, "kv-cache-memory-bytes"},
      {{"--gpu-memory-utilization"}, Arity::kOne, "gpu-memory-utilization"},
      {{"--kv-cache-dtype"}, Arity::kOne, "kv-cache-dtype"},
      {{"--block-size"}, Arity::kOne, "block-size"},
      {{"--enforce-eager"}, Arity::kNone, "enforce-eager", true},
      {{"--enable-sleep-mode"}, Arity::kNone, "enable-sleep-mode", true},
      {{"--host"}, Arity::kOne, "host"},
      {{"--port"}, Arity::kOne, "port"},
      {{"--api-key"}, Arity::kMany, "api-key"},
  };
  return table;
}

const FlagSpec* FindSpec(const std::vector<FlagSpec>& table, std::string_view name) {
  for (const FlagSpec& spec : table) {
    if (std::find(spec.names.begin(), spec.names.end(), name) != spec.names.end()) return &spec;
  }
  return nullptr;
}

bool IsNumber(std::string_view word) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  return ec == std::errc() && ptr == word.data() + word.size();
}

// A word that starts a new flag (negative numbers are values).
bool IsFlag(std::string_view word) {
  return word.size() >= 2 && word[0] == '-' && !IsNumber(word);
}

// A FlagValue typed the way the config loader types YAML scalars, so the planner's readers
// accept it.
FlagValue MakeFlagValue(std::string text) {
  FlagValue v;
  v.text = std::move(text);
  int64_t i = 0;
  double d = 0;
  const char* b = v.text.data();
  const char* e = b + v.text.size();
  if (auto [p, ec] = std::from_chars(b, e, i); ec == std::errc() && p == e) {
    v.kind = FlagValue::Kind::kInt;
    v.int_value = i;
    v.float_value = static_cast<double>(i);
  } else if (auto [p2, ec2] = std::from_chars(b, e, d); ec2 == std::errc() && p2 == e) {
    v.kind = FlagValue::Kind::kFloat;
    v.float_value = d;
  } else if (v.text == "true" || v.text == "false") {
    v.kind = FlagValue::Kind::kBool;
    v.bool_value = v.text == "true";
  }
  return v;
}

FlagValue BoolFlagValue(bool b) {
  FlagValue v;
  v.kind = FlagValue::Kind::kBool;
  v.bool_value = b;
  v.text = b ? "true" : "false";
  return v;
}

// vLLM's human-readable integers (D-engine-apis.md 2.8): "1k" = 1000, "1K" = 1024, also m/M, g/G.
StatusOr<uint64_t> ParseHumanInt(std::string_view flag, std::string_view text) {
  uint64_t mult = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
        mult = 1000;
        break;
      case 'K':
        mult = 1024;
        break;
      case 'm':
        mult = 1000 * 1000;
        break;
      case 'M':
        mult = 1024 * 1024;
        break;
      case 'g':
        mult = 1000 * 1000 * 1000;
        break;
      case 'G':
        mult = 1024ull * 1024 * 1024;
        break;
      default:
        break;
    }
    if (mult != 1) digits.remove_suffix(1);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || !(v > 0) ||
      v * static_cast<double>(mult) > 1e18) {
    return Status::InvalidArgument(fmt::format(
        "{}: expected a positive number such as 4096, 32k or 32K, got \"{}\"", flag, text));
  }
  return static_cast<uint64_t>(v * static_cast<double>(mult));
}

StatusOr<uint16_t> ParsePort(std::string_view text) {
  int64_t v = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0 || v > 65535) {
    return Status::InvalidArgument(fmt::format("--port: expected 0..65535, got \"{}\"", text));
  }
  return static_cast<uint16_t>(v);
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// --sim-* values, strictly.
Status ParseDouble(std::string_view flag, std::string_view text, double lo, double hi,
                   bool hi_inclusive, double* out) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const bool in_range = v >= lo && (hi_inclusive ? v <= hi : v < hi);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) || !in_range) {
    return Status::InvalidArgument(fmt::format("{}: expected a number in [{}, {}{}, got \"{}\"",
                                               flag, lo, hi, hi_inclusive ? "]" : ")", text));
  }
  *out = v;
  return Status::Ok();
}

Status ParseUint(std::string_view flag, std::string_view text, uint64_t lo, uint64_t hi,
                 uint64_t* out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a whole number in [{}, {}], got \"{}\"", flag, lo, hi, text));
  }
  *out = v;
  return Status::Ok();
}

Status ApplySimOption(std::string_view name, std::string_view value, SimOptions* o) {
  uint64_t u = 0;
  Status st;
  if (name == "--sim-load-seconds")
    return ParseDouble(name, value, 0, 3600, true, &o->load_seconds);
  if (name == "--sim-ttft-ms") return ParseDouble(name, value, 0, 3.6e6, true, &o->ttft_ms);
  if (name == "--sim-itl-ms") return ParseDouble(name, value, 0, 3.6e6, true, &o->itl_ms);
  if (name == "--sim-prefill-tps") return ParseDouble(name, value, 0, 1e9, true, &o->prefill_tps);
  if (name == "--sim-jitter") return ParseDouble(name, value, 0, 1, false, &o->jitter);
  if (name == "--sim-hold-memory") return ParseDouble(name, value, 0, 1, true, &o->hold_memory);
  if (name == "--sim-fail-rate") return ParseDouble(name, value, 0, 1, true, &o->fail_rate);
  if (name == "--sim-seed") return ParseUint(name, value, 0, UINT64_MAX, &o->seed);
  if (name == "--sim-fail-status") {
    st = ParseUint(name, value, 400, 599, &u);
    o->fail_status = static_cast<int>(u);
    return st;
  }
  if (name == "--sim-crash-after" || name == "--sim-hang-after" ||
      name == "--sim-fail-after-tokens") {
    st = ParseUint(name, value, 0, UINT64_MAX, &u);
    if (!st.ok()) return st;
    (name == "--sim-crash-after"  ? o->crash_after
     : name == "--sim-hang-after" ? o->hang_after
                                  : o->fail_after_tokens) = u;
    return Status::Ok();
  }
  if (name == "--sim-max-tokens") {
    st = ParseUint(name, value, 1, 1u << 24, &u);
    o->default_max_tokens = static_cast<uint32_t>(u);
    return st;
  }
  if (name == "--sim-gpu-memory") {
    auto bytes = ParseByteSize(value);
    if (!bytes.ok() || *bytes == 0) {
      return Status::InvalidArgument(
          fmt::format("{}: expected a size such as 110GiB, got \"{}\"", name, value));
    }
    o->gpu_memory_bytes = *bytes;
    return Status::Ok();
  }
  return Status::InvalidArgument(
      fmt::format("unknown simulator option {} (see cortex sim --help)", name));
}

// The engine flags as the planner's FlagMap, plus the non-memory ones.
struct EngineArgs {
  FlagMap flags;                                         // canonical long name -> value
  std::map<std::string, std::vector<std::string>> many;  // kMany flags
  std::vector<std::string> positionals;
};

void SetFlag(FlagMap* flags, std::string_view key, FlagValue value) {
  for (auto& [k, v] : *flags) {
    if (k == key) {
      v = std::move(value);  // the last occurrence wins, as in both engines
      return;
    }
  }
  flags->emplace_back(std::string(key), std::move(value));
}

std::string FlagText(const FlagMap& flags, std::string_view key, std::string fallback = "") {
  const FlagValue* v = FindFlag(flags, key);
  return v == nullptr ? fallback : v->text;
}

Status ApplyLlamaCpp(const EngineArgs& args, SimOptions* o) {
  LlamaCppFlags& f = o->llama;
  auto settings = ReadLlamaCppSettings(args.flags);
  if (!settings.ok()) return settings.status();
  f.settings = *settings;
  f.model = FlagText(args.flags, "model");
  if (const FlagValue* v = FindFlag(args.flags, "alias")) f.aliases = SplitComma(v->text);
  if (const FlagValue* v = FindFlag(args.flags, "api-key")) f.api_keys = SplitComma(v->text);
  if (const FlagValue* v = FindFlag(args.flags, "metrics")) f.metrics = v->bool_value;
  if (const FlagValue* v = FindFlag(args.flags, "slots")) f.slots_endpoint = v->bool_value;
  if (const FlagValue* v = FindFlag(args.flags, "sse-ping-interval")) {
    if (v->kind != FlagValue::Kind::kInt) {
      return Status::InvalidArgument(
          fmt::format("--sse-ping-interval: expected whole seconds, got \"{}\"", v->text));
    }
    f.sse_ping_interval_s = v->int_value;
  }
  f.host = FlagText(args.flags, "host", f.host);
  if (const FlagValue* v = FindFlag(args.flags, "port")) {
    auto port = ParsePort(v->text);
    if (!port.ok()) return port.status();
    f.port = *port;
  }
  if (f.settings.parallel == 0 || f.settings.parallel < -1) {
    return Status::InvalidArgument("--parallel: expected -1 (auto) or a positive slot count");
  }
  return Status::Ok();
}

Status ApplyVllm(EngineArgs args, SimOptions* o) {
  VllmFlags& f = o->vllm;
  // Human-readable integers become plain ones before the planner reads them.
  for (std::string_view key : {"max-model-len", "kv-cache-memory-bytes"}) {
    for (auto& [k, v] : args.flags) {
      if (k != key || v.text == "auto" || v.text == "-1") continue;
      auto n = ParseHumanInt(fmt::format("--{}", key), v.text);
      if (!n.ok()) {
        if (key == "kv-cache-memory-bytes" && ParseByteSize(v.text).ok()) continue;
        return n.status();
      }
      v = MakeFlagValue(std::to_string(*n));
    }
  }
  for (auto& [k, v] : args.flags) {
    if (k == "max-model-len" && v.text == "-1") v = MakeFlagValue("auto");
  }
  auto settings = ReadVllmSettings(args.flags);
  if (!settings.ok()) return settings.status();
  f.settings = *settings;
  f.model = FlagText(args.flags, "model");
  // `vllm serve MODEL`: the first positional word (after an optional "serve").
  std::vector<std::string>& pos = args.positionals;
  if (!pos.empty() && pos.front() == "serve") pos.erase(pos.begin());
  if (f.model.empty() && !pos.empty()) {
    f.model = pos.front();
    pos.erase(pos.begin());
  }
  for (const std::string& extra : pos)
    o->ignored_flags.push_back(extra);
  if (auto it = args.many.find("served-model-name"); it != args.many.end()) {
    f.served_model_names = it->second;
  }
  if (auto it = args.many.find("api-key"); it != args.many.end()) f.api_keys = it->second;
  if (const FlagValue* v = FindFlag(args.flags, "enable-sleep-mode")) {
    f.enable_sleep_mode = v->bool_value;
  }
  f.host = FlagText(args.flags, "host", f.host);
  if (const FlagValue* v = FindFlag(args.flags, "port")) {
    auto port = ParsePort(v->text);
    if (!port.ok()) return port.status();
    f.port = *port;
  }
  return Status::Ok();
}

}  // namespace

std::string_view SimFlavorName(SimFlavor flavor) {
  return flavor == SimFlavor::kLlamaCpp ? "llama.cpp" : "vllm";
}

StatusOr<SimOptions> ParseSimOptions(const std::vector<std::string>& args) {
  SimOptions o;
  // The flavor decides which flag table applies, so find it first.
  std::optional<std::string> flavor;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") o.help = true;
    if (args[i] == "--flavor") {
      if (i + 1 >= args.size())
        return Status::InvalidArgument("--flavor: expected llama.cpp or vllm");
      flavor = args[i + 1];
    } else if (args[i].rfind("--flavor=", 0) == 0) {
      flavor = args[i].substr(9);
    }
  }
  if (o.help) return o;
  if (!flavor) return Status::InvalidArgument("--flavor is required: llama.cpp or vllm");
  if (*flavor == "llama.cpp" || *flavor == "llamacpp" || *flavor == "llama-server") {
    o.flavor = SimFlavor::kLlamaCpp;
  } else if (*flavor == "vllm") {
    o.flavor = SimFlavor::kVllm;
  } else {
    return Status::InvalidArgument(
        fmt::format("--flavor: expected llama.cpp or vllm, got \"{}\"", *flavor));
  }
  const bool vllm = o.flavor == SimFlavor::kVllm;
  const std::vector<FlagSpec>& table = vllm ? VllmFlagTable() : LlamaCppFlagTable();

  EngineArgs engine;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string word = args[i];
    auto next_is_value = [&] { return i + 1 < args.size() && !IsFlag(args[i + 1]); };
    if (word == "--flavor") {
      ++i;
      continue;
    }
    if (word.rfind("--flavor=", 0) == 0) continue;
    if (!IsFlag(word)) {
      engine.positionals.push_back(word);
      continue;
    }
    std::string name = word;
    std::optional<std::string> inline_value;
    if (const size_t eq = word.find('='); eq != std::string::npos) {
      name = word.substr(0, eq);
      inline_value = word.substr(eq + 1);
    }
    if (name == "--sim-ignore-disconnect") {
      // A switch; `=true` / `=false` (how a YAML boolean may be written) also work.
      const std::string v = inline_value.value_or("true");
      if (v != "true" && v != "false" && v != "1" && v != "0") {
        return Status::InvalidArgument(
            fmt::format("{}: expected no value, true or false, got \"{}\"", name, v));
      }
      o.ignore_disconnect = v == "true" || v == "1";
      continue;
    }
    if (name.rfind("--sim-", 0) == 0) {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status::InvalidArgument(fmt::format("{}: expected a value", name));
      }
      if (Status st = ApplySimOption(name, value, &o); !st.ok()) return st;
      continue;
    }
    // vLLM's parser accepts --max_model_len for --max-model-len.
    if (vllm && name.rfind("--", 0) == 0) std::replace(name.begin() + 2, name.end(), '_', '-');
    const FlagSpec* spec = FindSpec(table, name);
    if (spec == nullptr) {
      std::string ignored = word;
      if (!inline_value && next_is_value()) ignored += " " + args[++i];
      o.ignored_flags.push_back(ignored);
      continue;
    }
    switch (spec->arity) {
      case Arity::kNone:
        SetFlag(&engine.flags, spec->key,
                inline_value ? MakeFlagValue(*inline_value) : BoolFlagValue(spec->bool_value));
        break;
      case Arity::kOne: {
        std::string value;
        if (inline_value) {
          value = *inline_value;
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return Status::InvalidArgument(fmt::format("{}: expected a value", name));
        }
        SetFlag(&engine.flags, spec->key, MakeFlagValue(value));
        break;
      }
      case Arity::kOptional: {
        std::string value = "on";
        if (inline_value) {
          value = *inline_value;
        } else if (next_is_value() &&
                   (args[i + 1] == "on" || args[i + 1] == "off" || args[i + 1] == "auto" ||
                    args[i + 1] == "1" || args[i + 1] == "0" || args[i + 1] == "true" ||
                    args[i + 1] == "false")) {
          value = args[++i];
          if (value == "1" || value == "true") value = "on";
          if (value == "0" || value == "false") value = "off";
        }
        SetFlag(&engine.flags, spec->key, MakeFlagValue(value));
        break;
      }
      case Arity::kMany: {
        std::vector<std::string> values;
        if (inline_value) values.push_back(*inline_value);
        while (next_is_value())
          values.push_back(args[++i]);
        if (values.empty())
          return Status::InvalidArgument(fmt::format("{}: expected a value", name));
        engine.many[std::string(spec->key)] = values;
        break;
      }
    }
  }
  if (vllm) {
    if (Status st = ApplyVllm(std::move(engine), &o); !st.ok()) return st;
  } else {
    // llama-server takes no positional arguments; they are ignored like unknown flags.
    for (const std::string& extra : engine.positionals)
      o.ignored_flags.push_back(extra);
    if (Status st = ApplyLlamaCpp(engine, &o); !st.ok()) return st;
  }
  return o;
}

std::string SimUsage() {
  return R"(cortex sim --flavor llama.cpp|vllm [ENGINE FLAGS] [--sim-* OPTIONS]

Simulates llama.cpp's llama-server or vLLM's OpenAI server on the wire: the same routes, bodies,
error shapes, streaming framing, startup log lines and metrics, with tokens from a built-in text
at configured rates. Takes the real engine's argv; engine flags it does not model are ignored
with a log line.

llama.cpp flags: -m/--model FILE.gguf (required), -c/--ctx-size N, -np/--parallel N,
  -kvu/--kv-unified, -no-kvu, -ctk/--cache-type-k T, -ctv/--cache-type-v T, -fa/--flash-attn
  on|off|auto, -b, -ub/--ubatch-size N (512: the prompt batch), -ngl, -cram, --host H
  (127.0.0.1), --port P (8080), -a/--alias A[,B], --api-key K[,K2], --metrics, --no-slots,
  --sse-ping-interval S (30)
vLLM flags: MODEL or --model M (HF directory or repo id), --max-model-len N, --served-model-name
  A [B..], --max-num-seqs N, --kv-cache-memory-bytes B, --gpu-memory-utilization F,
  --kv-cache-dtype T, --enable-sleep-mode (sleep routes also need VLLM_SERVER_DEV_MODE=1),
  --host H (0.0.0.0), --port P (8000), --api-key K

Simulator options:
  --sim-load-seconds S       time to load the model (0.5)
  --sim-ttft-ms MS           from a slot taking a request to its first token (100)
  --sim-itl-ms MS            between tokens (20)
  --sim-prefill-tps N        prompt tokens processed per second, in batches of -ub tokens (vLLM:
                             --max-num-batched-tokens), before the --sim-ttft-ms wait; llama.cpp
                             streams prompt_progress chunks per batch with "return_progress"
                             (0: off, the prompt costs only --sim-ttft-ms)
  --sim-ignore-disconnect    a client that disconnects does not stop its running request: the
                             slot stays busy until its prefill and generation would have ended
                             (like current llama-server); default: it stops and frees the slot
  --sim-jitter F             each delay scaled by a uniform factor in [1-F, 1+F] (0)
  --sim-seed N               seeds text, ids, jitter and failures (1)
  --sim-max-tokens N         tokens per request when it sets no limit (16)
  --sim-hold-memory F        really hold (touch) F x the planned bytes: the planner's total,
                             which for llama.cpp includes the --cache-ram prompt cache (0)
  --sim-gpu-memory SIZE      the pool vLLM's --gpu-memory-utilization is a fraction of (110GiB)
  --sim-fail-rate F          fail that fraction of generation requests (0)
  --sim-fail-status S        with status S, in the engine's error shape (500)
  --sim-fail-after-tokens N  a failing stream fails after N tokens, mid-stream
  --sim-crash-after N        exit 1 after N generation requests
  --sim-hang-after N         stop answering after N generation requests (sockets stay open)

Exit codes: 0 after SIGTERM/SIGINT, 1 model load failure or simulated crash, 2 bad options.
)";
}

}  // namespace cortex::sim
