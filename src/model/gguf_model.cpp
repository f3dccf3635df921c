#include "model/gguf_model.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include "model/known_models.h"

namespace cortex {
namespace {

constexpr uint32_t kMaxLayers = 512;  // llama.cpp's LLAMA_MAX_LAYERS

// Sliding-window defaults that llama.cpp hard-codes per architecture (src/models/<arch>.cpp):
// the period of the pattern (every `period`-th layer is full attention, the others slide), the
// window when the file does not say, and whether the window applies only when the file sets it.
struct SwaRule {
  std::string_view arch;
  uint32_t period;
  uint32_t default_window;  // 0: only when "<arch>.attention.sliding_window" is present
  bool dense_first;         // full-attention layer first in each period
};

constexpr std::array<SwaRule, 6> kSwaRules = {{
    {"gemma2", 2, 4096, false},
    {"gemma3", 6, 0, false},
    {"gpt-oss", 2, 0, false},
    {"cohere2", 4, 0, false},
    {"llama4", 4, 8192, false},
    {"gemma-embedding", 6, 0, false},
}};

// Architectures whose memory is a fixed-size recurrent state (llm_arch_is_recurrent) or a mix of
// state and attention layers (llm_arch_is_hybrid), where layers without KV heads are recurrent.
constexpr std::array<std::string_view, 6> kRecurrentArchs = {"mamba",      "mamba2", "rwkv6",
                                                             "rwkv6qwen2", "rwkv7",  "arwkv7"};
constexpr std::array<std::string_view, 12> kHybridArchs = {
    "jamba",      "falcon-h1",      "plamo2",    "granitehybrid", "lfm2",   "lfm2moe",
    "nemotron_h", "nemotron_h_moe", "qwen3next", "kimi-linear",   "qwen35", "qwen35moe"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// A key that is either one number for all layers or an array with one entry per layer.
StatusOr<std::vector<uint32_t>> PerLayer(const GgufFile& file, const std::string& key,
                                         uint32_t n_layer, std::optional<uint32_t> fallback) {
  std::vector<uint32_t> out(n_layer, 0);
  const GgufValue* value = file.Find(key);
  if (value == nullptr) {
    if (!fallback) return Status::InvalidArgument(fmt::format("missing metadata key {}", key));
    std::fill(out.begin(), out.end(), *fallback);
    return out;
  }
  if (value->type == GgufValueType::kArray) {
    auto values = file.GetIntArray(key);
    if (!values) {
      return Status::InvalidArgument(fmt::format("{} must be an integer array", key));
    }
    if (values->size() < n_layer) {
      return Status::InvalidArgument(
          fmt::format("{} has {} entries for {} layers", key, values->size(), n_layer));
    }
    for (uint32_t i = 0; i < n_layer; ++i) {
      const int64_t v = (*values)[i];
      if (v < 0 || v > (1 << 20)) {
        return Status::InvalidArgument(fmt::format("{}[{}] = {} is out of range", key, i, v));
      }
      out[i] = static_cast<uint32_t>(v);
    }
    return out;
  }
  auto scalar = file.GetUint(key);
  if (!scalar || *scalar > (1u << 20)) {
    return Status::InvalidArgument(fmt::format("{} must be a small non-negative integer", key));
  }
  std::fill(out.begin(), out.end(), static_cast<uint32_t>(*scalar));
  return out;
}

StatusOr<uint32_t> RequiredU32(const GgufFile& file, const std::string& key, uint64_t max) {
  auto value = file.GetUint(key);
  if (!value) return Status::InvalidArgument(fmt::format("missing metadata key {}", key));
  if (*value > max) {
    return Status::InvalidArgument(fmt::format("{} = {} is larger than {}", key, *value, max));
  }
  return static_cast<uint32_t>(*value);
}

// Reads optional integer keys: an absent key takes its default, a present one must be an
// integer within its bound, or the first such problem is kept for the caller to return. A
// malformed value never silently turns into the default.
class OptionalKeys {
 public:
  explicit OptionalKeys(const GgufFile& file) : file_(file) {}

  uint32_t Get(const std::string& key, uint32_t fallback, uint32_t max) {
    if (file_.Find(key) == nullptr) return fallback;
    const std::optional<uint64_t> value = file_.GetUint(key);
    if (!value || *value > max) {
      if (status_.ok()) {
        status_ =
            Status::InvalidArgument(fmt::format("{} must be an integer from 0 to {}", key, max));
      }
      return fallback;
    }
    return static_cast<uint32_t>(*value);
  }

  const Status& status() const { return status_; }

 private:
  const GgufFile& file_;
  Status status_;
};

// Bounds that no real model reaches; they keep the planner's products inside 64 bits.
constexpr uint32_t kMaxVocab = 1u << 24;
constexpr uint32_t kMaxExperts = 1024;
constexpr uint32_t kMaxHeadDim = 1u << 16;

// "blk.12.attn_q.weight" -> 12; nullopt for non-block tensors.
std::optional<uint32_t> BlockIndex(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return std::nullopt;
  name.remove_prefix(4);
  uint32_t index = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.') {
    return std::nullopt;
  }
  return index;
}

void ApplySwaPattern(ModelInfo& info, uint32_t n_layer_main, uint32_t period, bool dense_first) {
  for (uint32_t il = 0; il < n_layer_main; ++il) {
    bool swa;
    if (period == 0) {
      swa = true;
    } else if (dense_first) {
      swa = il % period != 0;
    } else {
      swa = il % period < period - 1;
    }
    info.layers[il].is_swa = swa;
  }
}

Status ReadSlidingWindow(const GgufFile& file, const std::string& arch, uint32_t n_layer_main,
                         ModelInfo& info) {
  const std::string window_key = arch + ".attention.sliding_window";
  const std::string pattern_key = arch + ".attention.sliding_window_pattern";
  const SwaRule* rule = nullptr;
  for (const SwaRule& r : kSwaRules) {
    if (r.arch == arch) rule = &r;
  }
  const auto window = file.GetUint(window_key);
  if (rule == nullptr) {
    // Architectures llama.cpp gives no window rule treat every layer as full attention, even
    // when the converter wrote a sliding_window key (qwen2 does, with use_sliding_window off).
    return Status::Ok();
  }
  uint32_t n_swa = rule->default_window;
  if (window) n_swa = static_cast<uint32_t>(std::min<uint64_t>(*window, UINT32_MAX));
  if (n_swa == 0) return Status::Ok();
  info.n_swa = n_swa;

  const GgufValue* pattern = file.Find(pattern_key);
  if (pattern != nullptr && pattern->type == GgufValueType::kArray) {
    auto flags = file.GetIntArray(pattern_key);
    if (!flags || flags->size() < n_layer_main) {
      return Status::InvalidArgument(
          fmt::format("{} must be an array with one entry per layer", pattern_key));
    }
    for (uint32_t il = 0; il < n_layer_main; ++il)
      info.layers[il].is_swa = (*flags)[il] != 0;
    return Status::Ok();
  }
  uint32_t period = rule->period;
  if (pattern != nullptr) {
    auto p = file.GetUint(pattern_key);
    if (!p || *p > kMaxLayers) {
      return Status::InvalidArgument(fmt::format("{} must be a layer period", pattern_key));
    }
    period = static_cast<uint32_t>(*p);
  }
  ApplySwaPattern(info, n_layer_main, period, rule->dense_first);
  return Status::Ok();
}

}  // namespace

StatusOr<ModelInfo> ModelInfoFromGguf(const GgufFile& file, const std::string& name) {
  ModelInfo info;
  info.name = name;
  info.source = ModelSource::kGguf;
  info.weights_exact = true;

  auto arch_value = file.GetString("general.architecture");
  if (!arch_value || arch_value->empty()) {
    return Status::InvalidArgument("missing metadata key general.architecture");
  }
  const std::string arch = *arch_value;
  info.architecture = arch;
  if (auto general_name = file.GetString("general.name")) info.name = *general_name;

  auto n_layer = RequiredU32(file, arch + ".block_count", kMaxLayers);
  if (!n_layer.ok()) return n_layer.status();
  if (*n_layer == 0) return Status::InvalidArgument(arch + ".block_count is 0");
  info.n_layer = *n_layer;
  auto n_embd = RequiredU32(file, arch + ".embedding_length", 1u << 20);
  if (!n_embd.ok()) return n_embd.status();
  if (*n_embd == 0) return Status::InvalidArgument(arch + ".embedding_length is 0");
  info.n_embd = *n_embd;
  auto n_ctx_train = RequiredU32(file, arch + ".context_length", UINT32_MAX);
  if (!n_ctx_train.ok()) return n_ctx_train.status();
  info.n_ctx_train = *n_ctx_train;

  OptionalKeys optional(file);
  const uint32_t n_nextn = optional.Get(arch + ".nextn_predict_layers", 0, kMaxLayers);
  if (n_nextn >= info.n_layer) {
    return Status::InvalidArgument(
        fmt::format("{}.nextn_predict_layers = {} leaves no layers", arch, n_nextn));
  }
  const uint32_t n_layer_main = info.n_layer - n_nextn;

  info.n_vocab = optional.Get(arch + ".vocab_size", 0, kMaxVocab);
  if (info.n_vocab == 0) {
    if (auto count = file.GetArrayCount("tokenizer.ggml.tokens")) {
      info.n_vocab = static_cast<uint32_t>(std::min<uint64_t>(*count, UINT32_MAX));
    }
  }

  info.n_expert = optional.Get(arch + ".expert_count", 0, kMaxExperts);
  info.n_expert_used = optional.Get(arch + ".expert_used_count", 0, kMaxExperts);
  if (info.n_expert_used > info.n_expert) {
    return Status::InvalidArgument(
        fmt::format("{}.expert_used_count ({}) exceeds expert_count ({})", arch, info.n_expert_used,
                    info.n_expert));
  }

  // llama.cpp reads these arrays for n_layer() entries; nextn layers keep their defaults.
  auto n_head = PerLayer(file, arch + ".attention.head_count", n_layer_main, 0u);
  if (!n_head.ok()) return n_head.status();
  // head_count_kv is optional and defaults to head_count; present, it must be valid.
  StatusOr<std::vector<uint32_t>> n_head_kv = *n_head;
  if (file.Find(arch + ".attention.head_count_kv") != nullptr) {
    n_head_kv = PerLayer(file, arch + ".attention.head_count_kv", n_layer_main, std::nullopt);
    if (!n_head_kv.ok()) return n_head_kv.status();
  }
  auto n_ff = PerLayer(file, arch + ".feed_forward_length", n_layer_main, 0u);
  if (!n_ff.ok()) return n_ff.status();

  const bool recurrent = Contains(kRecurrentArchs, arch);
  const bool hybrid = Contains(kHybridArchs, arch);
  const uint32_t n_head0 = n_head->empty() ? 0 : (*n_head)[0];
  if (n_head0 == 0 && !recurrent && !hybrid) {
    return Status::InvalidArgument(fmt::format(
        "{}.attention.head_count is missing or 0 for attention architecture {}", arch, arch));
  }
  uint32_t head_dim_k = 0;
  uint32_t head_dim_v = 0;
  if (n_head0 > 0) {
    head_dim_k = optional.Get(arch + ".attention.key_length", info.n_embd / n_head0, kMaxHeadDim);
    head_dim_v = optional.Get(arch + ".attention.value_length", info.n_embd / n_head0, kMaxHeadDim);
    if (head_dim_k == 0 || head_dim_v == 0) {
      return Status::InvalidArgument(fmt::format(
          "{} has {} attention heads but a head dimension of 0 (key_length {}, value_length {})",
          arch, n_head0, head_dim_k, head_dim_v));
    }
  }
  const uint32_t head_dim_k_swa =
      optional.Get(arch + ".attention.key_length_swa", head_dim_k, kMaxHeadDim);
  const uint32_t head_dim_v_swa =
      optional.Get(arch + ".attention.value_length_swa", head_dim_v, kMaxHeadDim);
  info.is_mla = file.GetUint(arch + ".attention.key_length_mla").has_value() &&
                file.GetUint(arch + ".attention.value_length_mla").has_value();

  info.layers.resize(info.n_layer);
  for (uint32_t il = 0; il < info.n_layer; ++il) {
    LayerInfo& layer = info.layers[il];
    const uint32_t src = std::min(il, n_layer_main - 1);
    layer.n_head = il < n_layer_main ? (*n_head)[il] : (*n_head)[src];
    layer.n_head_kv = il < n_layer_main ? (*n_head_kv)[il] : (*n_head_kv)[src];
    layer.n_ff = il < n_layer_main ? (*n_ff)[il] : 0;
    layer.head_dim_k = head_dim_k;
    layer.head_dim_v = head_dim_v;
    layer.is_recurrent = recurrent || (hybrid && layer.n_head_kv == 0);
    layer.has_kv = !layer.is_recurrent;
  }

  if (Status s = ReadSlidingWindow(file, arch, n_layer_main, info); !s.ok()) return s;
  for (LayerInfo& layer : info.layers) {
    if (layer.is_swa) {
      layer.head_dim_k = head_dim_k_swa;
      layer.head_dim_v = head_dim_v_swa;
    }
  }

  // Layers past this index read another layer's cache (Gemma 3n/4 share KV across layers).
  if (auto kv_from_start = file.GetUint(arch + ".attention.shared_kv_layers")) {
    const uint64_t shared = std::min<uint64_t>(*kv_from_start, info.n_layer);
    for (uint64_t il = info.n_layer - shared; il < info.n_layer; ++il) {
      info.layers[il].has_kv = false;
    }
  }

  if (recurrent || hybrid) {
    const uint64_t d_conv = optional.Get(arch + ".ssm.conv_kernel", 0, 1u << 10);
    const uint64_t d_inner = optional.Get(arch + ".ssm.inner_size", 0, 1u << 20);
    const uint64_t d_state = optional.Get(arch + ".ssm.state_size", 0, 1u << 16);
    const uint64_t n_group = optional.Get(arch + ".ssm.group_count", 0, 1u << 16);
    const uint64_t wkv_head = optional.Get(arch + ".wkv.head_size", 0, 1u << 16);
    uint64_t r = 0;
    uint64_t s = 0;
    if (wkv_head != 0) {
      const uint64_t token_shift = optional.Get(arch + ".token_shift_count", 2, 16);
      r = token_shift * info.n_embd;
      s = info.n_embd * wkv_head;
    } else {
      r = (d_conv > 0 ? d_conv - 1 : 0) * (d_inner + 2 * n_group * d_state);
      s = d_state * d_inner;
    }
    info.recurrent_state_elements = r + s;
  }
  if (!optional.status().ok()) return optional.status();

  // Tensor bytes, exact from the tensor table.
  for (const GgufTensorInfo& t : file.tensors) {
    info.weights_bytes += t.n_bytes;
    if (t.name == "token_embd.weight") {
      info.token_embd_bytes += t.n_bytes;
    } else if (t.name == "output.weight") {
      info.output_bytes += t.n_bytes;
    }
    if (t.name.find("_exps.") != std::string::npos) info.expert_bytes += t.n_bytes;
    if (auto block = BlockIndex(t.name); block && *block < info.n_layer) {
      info.layers[*block].weight_bytes += t.n_bytes;
    }
  }

  ApplyKnownEngineLimits(&info);
  if (auto ftype = file.GetUint("general.file_type")) {
    info.weights_dtype = fmt::format("file_type {}", *ftype);
  }
  return info;
}

StatusOr<ModelInfo> ReadGgufModel(const std::string& path) {
  auto file = ReadGgufFile(path);
  if (!file.ok()) return file.status().WithPrefix(path);
  auto info = ModelInfoFromGguf(*file, path);
  if (!info.ok()) return info.status().WithPrefix(path);
  info->provenance = "GGUF header of " + path;
  return info;
}

}  // namespace cortex
