#include "config/flag_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "model/ggml_type.h"
#include "util/bytes.h"

namespace cortex::config_internal {
namespace {

struct FlagRule {
  EngineKind kind;
  std::string_view name;
  std::function<bool(const FlagValue&)> accepts;
  std::string expected;
};

bool IsIntAtLeast(const FlagValue& v, int64_t min) {
  return v.kind == FlagValue::Kind::kInt && v.int_value >= min;
}

bool IsIntIn(const FlagValue& v, int64_t min, int64_t max) {
  return v.kind == FlagValue::Kind::kInt && v.int_value >= min && v.int_value <= max;
}

// Limits past which the engines refuse (llama.cpp counts cells in 32 bits and allows 256
// sequences) or which no machine could hold; they keep the planner's arithmetic in range.
constexpr int64_t kMaxLlamaCtx = 4294967040;  // the largest multiple of 256 below 2^32
constexpr int64_t kMaxBatch = int64_t{1} << 20;
constexpr int64_t kMaxVllmLen = int64_t{1} << 32;
constexpr int64_t kMaxVllmSeqs = int64_t{1} << 20;
constexpr int64_t kMaxVllmBatchedTokens = int64_t{1} << 24;
constexpr uint64_t kMaxPoolBytes = uint64_t{1} << 50;

bool IsOneOf(const FlagValue& v, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), v.text) != words.end();
}

// llama-server matches cache type names exactly as ggml spells them, so "Q8_0" is refused there
// even though GgmlTypeFromName would accept it.
bool IsLlamaCacheType(const FlagValue& v) {
  const std::optional<GgmlType> type = GgmlTypeFromName(v.text);
  return type && IsKvCacheType(*type) && GgmlTypeName(*type) == v.text;
}

std::string LlamaCacheTypeNames() {
  std::vector<std::string> names;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlTypeTraits* t = FindGgmlType(id);
    if (t != nullptr && IsKvCacheType(t->type)) names.emplace_back(t->name);
  }
  return "one of " + JoinNames(names);
}

const std::vector<FlagRule>& Rules() {
  using K = EngineKind;
  static const std::vector<FlagRule> rules = {
      {K::kLlamaCpp, "ctx-size", [](const FlagValue& v) { return IsIntIn(v, 0, kMaxLlamaCtx); },
       "an integer from 0 (the training context) to 4294967040"},
      {K::kLlamaCpp, "parallel",
       [](const FlagValue& v) { return IsIntIn(v, 1, 256) || IsOneOf(v, {"-1"}); },
       "an integer from 1 to 256, or -1 (auto)"},
      {K::kLlamaCpp, "kv-unified",
       [](const FlagValue& v) { return v.kind == FlagValue::Kind::kBool; }, "true or false"},
      {K::kLlamaCpp, "cache-type-k", IsLlamaCacheType, LlamaCacheTypeNames()},
      {K::kLlamaCpp, "cache-type-v", IsLlamaCacheType, LlamaCacheTypeNames()},
      {K::kLlamaCpp, "flash-attn",
       [](const FlagValue& v) {
         return IsOneOf(v, {"on", "off", "auto"});
       },
       "on, off or auto"},
      {K::kLlamaCpp, "batch-size", [](const FlagValue& v) { return IsIntIn(v, 1, kMaxBatch); },
       "an integer from 1 to 1048576"},
      {K::kLlamaCpp, "ubatch-size", [](const FlagValue& v) { return IsIntIn(v, 1, kMaxBatch); },
       "an integer from 1 to 1048576"},
      {K::kLlamaCpp, "n-gpu-layers",
       [](const FlagValue& v) {
         return IsIntAtLeast(v, -1) || IsOneOf(v, {"auto", "all"});
       },
       "an integer >= -1, auto or all"},
      {K::kLlamaCpp, "cache-ram", [](const FlagValue& v) { return IsIntAtLeast(v, -1); },
       "an integer >= -1"},
      {K::kVllm, "max-model-len",
       [](const FlagValue& v) { return IsIntIn(v, 1, kMaxVllmLen) || IsOneOf(v, {"auto"}); },
       "an integer from 1 to 4294967296, or auto"},
      {K::kVllm, "max-num-seqs", [](const FlagValue& v) { return IsIntIn(v, 1, kMaxVllmSeqs); },
       "an integer from 1 to 1048576"},
      {K::kVllm, "max-num-batched-tokens",
       [](const FlagValue& v) { return IsIntIn(v, 1, kMaxVllmBatchedTokens); },
       "an integer from 1 to 16777216"},
      {K::kVllm, "gpu-memory-utilization",
       [](const FlagValue& v) {
         const bool number = v.kind == FlagValue::Kind::kInt || v.kind == FlagValue::Kind::kFloat;
         return number && v.float_value > 0 && v.float_value <= 1;
       },
       "a number greater than 0 and at most 1"},
      {K::kVllm, "kv-cache-memory-bytes",
       [](const FlagValue& v) {
         StatusOr<uint64_t> bytes = ParseByteSize(v.text);
         return bytes.ok() && *bytes > 0 && *bytes <= kMaxPoolBytes;
       },
       "a positive number of bytes up to 1 PiB, or a size such as 12GiB"},
      {K::kVllm, "kv-cache-dtype",
       [](const FlagValue& v) {
         return IsOneOf(v, {"auto", "bfloat16", "float16", "fp8", "fp8_e4m3", "fp8_e5m2"});
       },
       "one of auto, bfloat16, float16, fp8, fp8_e4m3, fp8_e5m2"},
      {K::kVllm, "block-size",
       [](const FlagValue& v) {
         return v.kind == FlagValue::Kind::kInt &&
                IsOneOf(v, {"1", "8", "16", "32", "64", "128", "256"});
       },
       "one of 1, 8, 16, 32, 64, 128, 256"},
  };
  return rules;
}

const FlagRule* FindRule(EngineKind kind, std::string_view name) {
  for (const FlagRule& rule : Rules()) {
    if (rule.kind == kind && rule.name == name) return &rule;
  }
  return nullptr;
}

// llama-server's other spellings of the flags the planner reads.
std::optional<std::string_view> LlamaLongName(std::string_view alias) {
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"c", "ctx-size"},       {"np", "parallel"},
      {"ngl", "n-gpu-layers"}, {"ctk", "cache-type-k"},
      {"ctv", "cache-type-v"}, {"fa", "flash-attn"},
      {"b", "batch-size"},     {"ub", "ubatch-size"},
      {"kvu", "kv-unified"},   {"gpu-layers", "n-gpu-layers"},
  };
  for (const auto& [short_name, long_name] : kAliases) {
    if (short_name == alias) return long_name;
  }
  return std::nullopt;
}

// Reports a flag name the planner would not recognise; returns false when it did.
bool CheckName(const MapEntry& entry, const std::string& where, std::optional<EngineKind> kind,
               Diagnostics* diag) {
  const std::string& name = entry.key;
  if (!name.empty() && name.front() == '-') {
    const size_t first = name.find_first_not_of('-');
    const std::string bare = first == std::string::npos ? "" : name.substr(first);
    diag->Add(entry.key_pos,
              fmt::format("flag \"{}\" in {}: write flag names without leading dashes, e.g. {}",
                          name, where, bare));
    return false;
  }
  if (kind == EngineKind::kLlamaCpp) {
    if (auto long_name = LlamaLongName(name)) {
      diag->Add(entry.key_pos, fmt::format("flag \"{}\" in {} is an alias; write its long name {}",
                                           name, where, *long_name));
      return false;
    }
  }
  if (kind == EngineKind::kVllm && name.find('_') != std::string::npos) {
    std::string dashed = name;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    if (FindRule(EngineKind::kVllm, dashed) != nullptr) {
      diag->Add(entry.key_pos,
                fmt::format("flag \"{}\" in {}: write vllm flag names with dashes, {}", name, where,
                            dashed));
      return false;
    }
  }
  return true;
}

}  // namespace

FlagValue ClassifyFlagValue(std::string text, SourcePos pos) {
  FlagValue v;
  v.pos = pos;
  if (std::optional<int64_t> i = ParseInt64(text)) {
    v.kind = FlagValue::Kind::kInt;
    v.int_value = *i;
    v.float_value = static_cast<double>(*i);
  } else if (std::optional<double> d = ParseFiniteDouble(text)) {
    v.kind = FlagValue::Kind::kFloat;
    v.float_value = *d;
  } else if (text == "true" || text == "false") {
    // Only these two: YAML 1.1's on/off/yes/no are words llama-server itself uses
    // (flash-attn on|off|auto), so they stay strings.
    v.kind = FlagValue::Kind::kBool;
    v.bool_value = text == "true";
  }
  v.text = std::move(text);
  return v;
}

void ReadFlags(const Field& field, std::optional<EngineKind> kind, FlagMap* out,
               Diagnostics* diag) {
  if (!ExpectMap(field, diag)) return;
  MapReader flags(field, field.pos, {}, diag);
  for (const MapEntry& entry : flags.entries()) {
    if (!CheckName(entry, field.path, kind, diag)) continue;
    const Field& value = entry.value;
    if (!value.node.IsScalar()) {
      diag->Add(
          value.pos,
          fmt::format("{}: expected a scalar value (a number, a string, true or false), got {}",
                      value.path, Describe(value.node)));
      continue;
    }
    FlagValue flag = ClassifyFlagValue(value.node.Scalar(), value.pos);
    if (kind) {
      const FlagRule* rule = FindRule(*kind, entry.key);
      if (rule != nullptr && !rule->accepts(flag)) {
        diag->Add(value.pos, fmt::format("{}: expected {}, got {}", value.path, rule->expected,
                                         Describe(value.node)));
        continue;
      }
    }
    out->emplace_back(entry.key, std::move(flag));
  }
}

void CheckLlamaFlagCombination(const FlagMap& flags, const std::string& where, Diagnostics* diag) {
  const FlagValue* cache_v = FindFlag(flags, "cache-type-v");
  const FlagValue* flash = FindFlag(flags, "flash-attn");
  if (cache_v == nullptr || flash == nullptr || flash->text != "off") return;
  const std::optional<GgmlType> type = GgmlTypeFromName(cache_v->text);
  if (!type || !IsQuantized(*type)) return;
  diag->Add(flash->pos,
            fmt::format("{}: cache-type-v {} needs flash attention, but flash-attn is off; "
                        "llama-server refuses to start (\"quantized V cache was requested, but "
                        "this requires Flash Attention\")",
                        where, cache_v->text));
}

}  // namespace cortex::config_internal
