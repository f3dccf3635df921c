#include "model/hf_config.h"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <vector>

#include "model/json_util.h"
#include "model/known_models.h"
#include "model/safetensors.h"

namespace cortex {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Limits far above any real model that keep a lying config from asking for absurd allocations
// (one LayerInfo per layer) or overflowing the planner's arithmetic.
constexpr uint64_t kMaxLayers = 65536;
constexpr uint64_t kMaxHidden = 1ull << 24;
constexpr uint64_t kMaxHeads = 65536;
constexpr uint64_t kMaxHeadDim = 65536;
constexpr uint64_t kMaxFf = 1ull << 26;
constexpr uint64_t kMaxVocab = UINT32_MAX;
constexpr uint64_t kMaxExperts = 1ull << 20;
constexpr uint64_t kMaxConfigBytes = 16 * kMiB;

std::string_view View(const json::string& s) {
  return std::string_view(s.data(), s.size());
}
// Object keys come as json::string_view; without this overload they would convert to a
// temporary json::string and the view would dangle.
std::string_view View(json::string_view s) {
  return std::string_view(s.data(), s.size());
}

// Looks fields up the way multimodal configs need: in the nested language-model object first,
// then in the outer object. Every getter names the field as the file spells it
// ("text_config.num_attention_heads") in its errors.
class ConfigFields {
 public:
  ConfigFields(const json::object& outer, const json::object* text, std::string text_key,
               std::string label)
      : outer_(outer), text_(text), text_key_(std::move(text_key)), label_(std::move(label)) {}

  struct Found {
    const json::value* value = nullptr;  // null when absent (JSON null counts as absent)
    std::string field;                   // as spelled in the file, for messages
  };

  // The first of `keys` present in the text object, else the first present in the outer one.
  Found Find(std::initializer_list<std::string_view> keys) const {
    if (text_ != nullptr) {
      for (std::string_view key : keys) {
        const json::value* v = text_->if_contains(key);
        if (v != nullptr && !v->is_null()) return {v, fmt::format("{}.{}", text_key_, key)};
      }
    }
    for (std::string_view key : keys) {
      const json::value* v = outer_.if_contains(key);
      if (v != nullptr && !v->is_null()) return {v, std::string(key)};
    }
    return {};
  }

  Status Error(std::string_view field, std::string_view why) const {
    return Status::InvalidArgument(fmt::format("{}: field \"{}\" {}", label_, field, why));
  }
  Status Missing(std::string_view field) const {
    return Status::InvalidArgument(
        fmt::format("{}: required field \"{}\" is missing", label_, field));
  }

  // A whole number in [min, max]; nullopt when absent.
  StatusOr<std::optional<uint64_t>> Uint(std::initializer_list<std::string_view> keys, uint64_t min,
                                         uint64_t max) const {
    const Found f = Find(keys);
    if (f.value == nullptr) return std::optional<uint64_t>();
    uint64_t v = 0;
    const std::string why = json_util::ToUint(*f.value, max, &v);
    if (!why.empty()) return Error(f.field, why);
    if (v < min) return Error(f.field, fmt::format("must be at least {} (got {})", min, v));
    return std::optional<uint64_t>(v);
  }

  // Same, but absence is an error naming the first key.
  StatusOr<uint64_t> RequiredUint(std::initializer_list<std::string_view> keys, uint64_t min,
                                  uint64_t max) const {
    StatusOr<std::optional<uint64_t>> v = Uint(keys, min, max);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return Missing(*keys.begin());
    return **v;
  }

  StatusOr<std::optional<bool>> Bool(std::string_view key) const {
    const Found f = Find({key});
    if (f.value == nullptr) return std::optional<bool>();
    if (!f.value->is_bool()) {
      return Error(f.field, "expected true or false, got " + json_util::Describe(*f.value));
    }
    return std::optional<bool>(f.value->get_bool());
  }

  StatusOr<std::optional<std::string>> String(std::initializer_list<std::string_view> keys) const {
    const Found f = Find(keys);
    if (f.value == nullptr) return std::optional<std::string>();
    if (!f.value->is_string()) {
      return Error(f.field, "expected a string, got " + json_util::Describe(*f.value));
    }
    return std::optional<std::string>(std::string(View(f.value->get_string())));
  }

  const json::object& outer() const { return outer_; }
  const std::string& label() const { return label_; }

 private:
  const json::object& outer_;
  const json::object* text_;
  std::string text_key_;
  std::string label_;
};

// "bfloat16" -> "bf16": the spelling the rest of Cortex prints.
std::string ShortDtype(std::string_view torch_dtype) {
  if (torch_dtype == "bfloat16") return "bf16";
  if (torch_dtype == "float16" || torch_dtype == "half") return "f16";
  if (torch_dtype == "float32" || torch_dtype == "float") return "f32";
  return std::string(torch_dtype);
}

// Describes a quantization_config as "awq-int4-g128", "gptq-int8", "compressed-tensors-int4-g128"
// or "fp8". Only the weights' format is named: that is what sizes the checkpoint.
StatusOr<std::string> DescribeQuantization(const ConfigFields& f) {
  const ConfigFields::Found q = f.Find({"quantization_config"});
  if (q.value == nullptr) return std::string();
  if (!q.value->is_object()) {
    return f.Error(q.field, "expected an object, got " + json_util::Describe(*q.value));
  }
  const json::object& obj = q.value->get_object();
  const json::value* method_v = obj.if_contains("quant_method");
  if (method_v == nullptr || !method_v->is_string()) {
    return f.Error(q.field + ".quant_method",
                   method_v == nullptr
                       ? "is missing"
                       : "expected a string, got " + json_util::Describe(*method_v));
  }
  const std::string method(View(method_v->get_string()));

  // Reads an optional whole-number key of `o`; group sizes may be -1 ("one group per column").
  auto read_int = [&](const json::object& o, std::initializer_list<std::string_view> keys,
                      std::string_view where, std::optional<int64_t>* out) -> Status {
    for (std::string_view key : keys) {
      const json::value* v = o.if_contains(key);
      if (v == nullptr || v->is_null()) continue;
      if (v->is_int64() && v->get_int64() == -1) {
        *out = -1;
        return Status::Ok();
      }
      uint64_t u = 0;
      const std::string why = json_util::ToUint(*v, 1u << 20, &u);
      if (!why.empty()) return f.Error(fmt::format("{}.{}", where, key), why);
      *out = static_cast<int64_t>(u);
      return Status::Ok();
    }
    return Status::Ok();
  };
  auto suffix = [](std::string_view kind, std::optional<int64_t> bits,
                   std::optional<int64_t> group) {
    std::string s;
    if (bits.has_value() && *bits > 0) s += fmt::format("-{}{}", kind, *bits);
    if (group.has_value() && *group > 0) s += fmt::format("-g{}", *group);
    return s;
  };

  std::optional<int64_t> bits, group;
  if (method == "compressed-tensors") {
    const json::value* groups = obj.if_contains("config_groups");
    if (groups == nullptr || !groups->is_object() || groups->get_object().empty()) {
      return method;  // e.g. sparsity-only checkpoints: nothing to say about the weights
    }
    // The groups are usually one ("group_0"); the first one by name stands for the checkpoint.
    std::vector<std::string_view> names;
    for (const auto& [k, v] : groups->get_object())
      names.push_back(View(k));
    std::sort(names.begin(), names.end());
    const json::value& g = groups->get_object().at(names.front());
    const std::string where = fmt::format("{}.config_groups.{}.weights", q.field, names.front());
    if (!g.is_object()) return method;
    const json::value* w = g.get_object().if_contains("weights");
    if (w == nullptr || w->is_null()) return method;
    if (!w->is_object())
      return f.Error(where, "expected an object, got " + json_util::Describe(*w));
    Status s = read_int(w->get_object(), {"num_bits"}, where, &bits);
    if (!s.ok()) return s;
    s = read_int(w->get_object(), {"group_size"}, where, &group);
    if (!s.ok()) return s;
    std::string kind = "int";
    if (const json::value* t = w->get_object().if_contains("type"); t && t->is_string()) {
      kind = std::string(View(t->get_string()));
    }
    return method + suffix(kind, bits, group);
  }
  if (method == "bitsandbytes") {
    auto flag = [&](std::string_view key) {
      const json::value* v = obj.if_contains(key);
      return v != nullptr && v->is_bool() && v->get_bool();
    };
    if (flag("load_in_4bit")) return std::string("bnb-4bit");
    if (flag("load_in_8bit")) return std::string("bnb-8bit");
    return method;
  }
  // awq, gptq and most others spell it "bits"/"group_size"; AutoAWQ's own files say
  // "w_bit"/"q_group_size".
  Status s = read_int(obj, {"bits", "w_bit"}, q.field, &bits);
  if (!s.ok()) return s;
  s = read_int(obj, {"group_size", "q_group_size"}, q.field, &group);
  if (!s.ok()) return s;
  return method + suffix("int", bits, group);
}

// Fills is_swa per layer and n_swa. The configs spell sliding windows several ways:
// an explicit per-layer "layer_types" list (newer transformers), "sliding_window_pattern"
// (gemma3, cohere2: every p-th layer is global), gemma2's fixed alternation, qwen2's
// use_sliding_window + max_window_layers, or a bare "sliding_window" that applies to every
// layer (mistral v0.1).
Status FillSlidingWindow(const ConfigFields& f, std::string_view model_type, ModelInfo* info) {
  StatusOr<std::optional<uint64_t>> window = f.Uint({"sliding_window"}, 0, UINT32_MAX);
  if (!window.ok()) return window.status();
  StatusOr<std::optional<bool>> use = f.Bool("use_sliding_window");
  if (!use.ok()) return use.status();
  const uint32_t n_layer = info->n_layer;

  std::vector<bool> swa(n_layer, false);
  const ConfigFields::Found types = f.Find({"layer_types"});
  if (types.value != nullptr) {
    if (!types.value->is_array()) {
      return f.Error(types.field, "expected an array, got " + json_util::Describe(*types.value));
    }
    const json::array& arr = types.value->get_array();
    if (arr.size() != n_layer) {
      return f.Error(types.field, fmt::format("has {} entries for {} layers", arr.size(), n_layer));
    }
    for (uint32_t i = 0; i < n_layer; ++i) {
      if (!arr[i].is_string()) {
        return f.Error(types.field, fmt::format("entry {} must be a string, got {}", i,
                                                json_util::Describe(arr[i])));
      }
      swa[i] = View(arr[i].get_string()) == "sliding_attention";
    }
  } else if (window->value_or(0) > 0) {
    StatusOr<std::optional<uint64_t>> pattern = f.Uint({"sliding_window_pattern"}, 1, kMaxLayers);
    if (!pattern.ok()) return pattern.status();
    StatusOr<std::optional<uint64_t>> max_window_layers =
        f.Uint({"max_window_layers"}, 0, UINT32_MAX);
    if (!max_window_layers.ok()) return max_window_layers.status();
    for (uint32_t i = 0; i < n_layer; ++i) {
      if (pattern->has_value()) {
        swa[i] = (i + 1) % **pattern != 0;
      } else if (model_type == "gemma2") {
        swa[i] = i % 2 == 0;
      } else if (use->has_value() && max_window_layers->has_value()) {
        swa[i] = i >= **max_window_layers;
      } else {
        swa[i] = true;
      }
    }
  }
  // qwen2 and qwen3 ship a sliding_window value with use_sliding_window false: full attention.
  if (use->has_value() && !**use) std::fill(swa.begin(), swa.end(), false);

  const bool any = std::find(swa.begin(), swa.end(), true) != swa.end();
  if (any && window->value_or(0) == 0) {
    return f.Error(types.field.empty() ? "sliding_window" : types.field,
                   "marks sliding-window layers, but \"sliding_window\" is missing or 0");
  }
  for (uint32_t i = 0; i < n_layer; ++i)
    info->layers[i].is_swa = swa[i];
  info->n_swa = any ? static_cast<uint32_t>(**window) : 0;
  return Status::Ok();
}

// n_ctx_train from max_position_embeddings and rope_scaling (see the header comment).
Status FillContext(const ConfigFields& f, ModelInfo* info) {
  StatusOr<std::optional<uint64_t>> max_pos =
      f.Uint({"max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"}, 1,
             UINT32_MAX);
  if (!max_pos.ok()) return max_pos.status();
  info->n_ctx_train = static_cast<uint32_t>(max_pos->value_or(0));

  const ConfigFields::Found rope = f.Find({"rope_scaling", "rope_parameters"});
  if (rope.value == nullptr) return Status::Ok();
  if (!rope.value->is_object()) {
    return f.Error(rope.field, "expected an object, got " + json_util::Describe(*rope.value));
  }
  const json::object& obj = rope.value->get_object();
  const json::value* type = obj.if_contains("rope_type");
  if (type == nullptr || type->is_null()) type = obj.if_contains("type");
  if (type == nullptr || !type->is_string() || View(type->get_string()) != "yarn") {
    return Status::Ok();
  }
  const json::value* factor_v = obj.if_contains("factor");
  if (factor_v == nullptr) return f.Error(rope.field, "is YaRN but has no \"factor\"");
  double factor = 0;
  std::string why = json_util::ToDouble(*factor_v, &factor);
  if (!why.empty()) return f.Error(rope.field + ".factor", why);
  if (factor < 1.0 || factor > 1e6) {
    return f.Error(rope.field + ".factor",
                   fmt::format("must be between 1 and 1000000 (got {})", factor));
  }
  uint64_t original = info->n_ctx_train;
  if (const json::value* o = obj.if_contains("original_max_position_embeddings");
      o != nullptr && !o->is_null()) {
    why = json_util::ToUint(*o, UINT32_MAX, &original);
    if (!why.empty()) return f.Error(rope.field + ".original_max_position_embeddings", why);
  }
  if (original == 0) {
    return f.Error(rope.field, "is YaRN but neither it nor the config states the original context");
  }
  const double extended = std::floor(factor * static_cast<double>(original));
  if (extended > static_cast<double>(UINT32_MAX)) {
    return f.Error(rope.field, fmt::format("extends the context to {} tokens, more than {}",
                                           extended, UINT32_MAX));
  }
  info->n_ctx_train = static_cast<uint32_t>(extended);
  return Status::Ok();
}

// Experts and which layers use them: deepseek keeps the first `first_k_dense_replace` layers
// dense, qwen2_moe/qwen3_moe list dense layers in `mlp_only_layers` and may make only every
// `decoder_sparse_step`-th layer sparse.
Status FillExperts(const ConfigFields& f, uint64_t n_ff, ModelInfo* info) {
  StatusOr<std::optional<uint64_t>> n_expert =
      f.Uint({"num_local_experts", "num_experts", "n_routed_experts"}, 0, kMaxExperts);
  if (!n_expert.ok()) return n_expert.status();
  info->n_expert = static_cast<uint32_t>(n_expert->value_or(0));
  for (LayerInfo& l : info->layers)
    l.n_ff = static_cast<uint32_t>(n_ff);
  if (info->n_expert == 0) return Status::Ok();

  StatusOr<std::optional<uint64_t>> used =
      f.Uint({"num_experts_per_tok", "experts_per_token"}, 1, info->n_expert);
  if (!used.ok()) return used.status();
  if (!used->has_value()) return f.Missing("num_experts_per_tok");
  info->n_expert_used = static_cast<uint32_t>(**used);

  StatusOr<std::optional<uint64_t>> first_dense = f.Uint({"first_k_dense_replace"}, 0, UINT32_MAX);
  if (!first_dense.ok()) return first_dense.status();
  StatusOr<std::optional<uint64_t>> sparse_step = f.Uint({"decoder_sparse_step"}, 1, kMaxLayers);
  if (!sparse_step.ok()) return sparse_step.status();
  std::vector<bool> dense(info->n_layer, false);
  const ConfigFields::Found mlp_only = f.Find({"mlp_only_layers"});
  if (mlp_only.value != nullptr) {
    if (!mlp_only.value->is_array()) {
      return f.Error(mlp_only.field,
                     "expected an array, got " + json_util::Describe(*mlp_only.value));
    }
    for (const json::value& v : mlp_only.value->get_array()) {
      uint64_t i = 0;
      const std::string why = json_util::ToUint(v, info->n_layer - 1, &i);
      if (!why.empty()) return f.Error(mlp_only.field, "entry " + why);
      dense[i] = true;
    }
  }
  for (uint32_t i = 0; i < info->n_layer; ++i) {
    if (i < first_dense->value_or(0)) dense[i] = true;
    if (sparse_step->has_value() && (i + 1) % **sparse_step != 0) dense[i] = true;
    // A pure MoE layer has no dense feed-forward; shared experts are not counted here.
    if (!dense[i]) info->layers[i].n_ff = 0;
  }
  return Status::Ok();
}

StatusOr<ModelInfo> ParseConfig(std::string_view text, const std::string& name,
                                const std::string& label) {
  StatusOr<json::value> root = json_util::Parse(text, label, Status::Code::kInvalidArgument);
  if (!root.ok()) return root.status();
  if (!root->is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a JSON object, got {}", label, json_util::Describe(*root)));
  }
  const json::object& outer = root->get_object();

  // Multimodal wrappers keep the language model's shape in a nested object.
  const json::object* text_obj = nullptr;
  std::string text_key;
  for (std::string_view key : {"text_config", "llm_config", "language_config"}) {
    const json::value* v = outer.if_contains(key);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_object()) {
      return Status::InvalidArgument(fmt::format("{}: field \"{}\" expected an object, got {}",
                                                 label, key, json_util::Describe(*v)));
    }
    text_obj = &v->get_object();
    text_key = std::string(key);
    break;
  }
  const ConfigFields f(outer, text_obj, text_key, label);

  ModelInfo info;
  info.name = name;
  info.source = ModelSource::kHuggingFace;
  info.weights_exact = false;

  // The outer model_type names the model ("mllama"); the nested one names only its text half
  // ("mllama_text_model").
  const json::value* type = outer.if_contains("model_type");
  if (type == nullptr || type->is_null()) return f.Missing("model_type");
  if (!type->is_string() || type->get_string().empty()) {
    return f.Error("model_type", "expected a non-empty string, got " + json_util::Describe(*type));
  }
  const std::string model_type(View(type->get_string()));
  info.architecture = model_type;

  StatusOr<uint64_t> n_layer =
      f.RequiredUint({"num_hidden_layers", "n_layer", "num_layers"}, 1, kMaxLayers);
  if (!n_layer.ok()) return n_layer.status();
  StatusOr<uint64_t> hidden = f.RequiredUint({"hidden_size", "n_embd", "d_model"}, 1, kMaxHidden);
  if (!hidden.ok()) return hidden.status();
  StatusOr<uint64_t> n_head = f.RequiredUint({"num_attention_heads", "n_head"}, 1, kMaxHeads);
  if (!n_head.ok()) return n_head.status();
  StatusOr<uint64_t> vocab = f.RequiredUint({"vocab_size"}, 1, kMaxVocab);
  if (!vocab.ok()) return vocab.status();
  StatusOr<std::optional<uint64_t>> n_head_kv =
      f.Uint({"num_key_value_heads", "num_kv_heads"}, 1, kMaxHeads);
  if (!n_head_kv.ok()) return n_head_kv.status();
  StatusOr<std::optional<uint64_t>> head_dim = f.Uint({"head_dim"}, 1, kMaxHeadDim);
  if (!head_dim.ok()) return head_dim.status();
  StatusOr<std::optional<uint64_t>> n_ff =
      f.Uint({"intermediate_size", "ffn_hidden_size", "n_inner"}, 0, kMaxFf);
  if (!n_ff.ok()) return n_ff.status();
  StatusOr<std::optional<uint64_t>> kv_lora_rank = f.Uint({"kv_lora_rank"}, 1, kMaxHeadDim);
  if (!kv_lora_rank.ok()) return kv_lora_rank.status();

  const uint64_t kv_heads = n_head_kv->value_or(*n_head);
  if (kv_heads > *n_head || *n_head % kv_heads != 0) {
    return f.Error(f.Find({"num_key_value_heads", "num_kv_heads"}).field,
                   fmt::format("is {}, which does not divide num_attention_heads {}: each KV "
                               "head must serve a whole number of query heads",
                               kv_heads, *n_head));
  }
  uint64_t hd = 0;
  if (head_dim->has_value()) {
    hd = **head_dim;
  } else if (!kv_lora_rank->has_value()) {
    if (*hidden % *n_head != 0) {
      return f.Error("num_attention_heads",
                     fmt::format("is {}, which does not divide hidden_size {}, and there is no "
                                 "\"head_dim\" to say the head size",
                                 *n_head, *hidden));
    }
    hd = *hidden / *n_head;
  }

  info.n_layer = static_cast<uint32_t>(*n_layer);
  info.n_embd = static_cast<uint32_t>(*hidden);
  info.n_vocab = static_cast<uint32_t>(*vocab);
  info.layers.resize(info.n_layer);
  for (LayerInfo& l : info.layers) {
    l.n_head = static_cast<uint32_t>(*n_head);
    l.n_head_kv = static_cast<uint32_t>(kv_heads);
    l.head_dim_k = static_cast<uint32_t>(hd);
    l.head_dim_v = static_cast<uint32_t>(hd);
  }

  // Multi-head latent attention caches one compressed latent plus the rope part per token and
  // layer, shared by all heads; as llama.cpp and vLLM do, that is one KV "head" of
  // kv_lora_rank + qk_rope_head_dim elements with no separate V.
  if (kv_lora_rank->has_value()) {
    StatusOr<std::optional<uint64_t>> rope_dim = f.Uint({"qk_rope_head_dim"}, 0, kMaxHeadDim);
    if (!rope_dim.ok()) return rope_dim.status();
    if (!rope_dim->has_value()) return f.Missing("qk_rope_head_dim");
    info.is_mla = true;
    for (LayerInfo& l : info.layers) {
      l.n_head_kv = 1;
      l.head_dim_k = static_cast<uint32_t>(**kv_lora_rank + **rope_dim);
      l.head_dim_v = static_cast<uint32_t>(**kv_lora_rank);
    }
  }

  Status s = FillExperts(f, n_ff->value_or(0), &info);
  if (!s.ok()) return s;
  s = FillContext(f, &info);
  if (!s.ok()) return s;
  s = FillSlidingWindow(f, model_type, &info);
  if (!s.ok()) return s;

  // mllama's cross-attention layers attend to the image tokens only: their cache does not grow
  // with the text, so per-token KV counts only the self-attention layers.
  const ConfigFields::Found cross = f.Find({"cross_attention_layers"});
  if (cross.value != nullptr) {
    if (!cross.value->is_array()) {
      return f.Error(cross.field, "expected an array, got " + json_util::Describe(*cross.value));
    }
    for (const json::value& v : cross.value->get_array()) {
      uint64_t i = 0;
      const std::string why = json_util::ToUint(v, info.n_layer - 1, &i);
      if (!why.empty()) return f.Error(cross.field, "entry " + why);
      info.layers[i].has_kv = false;
    }
  }

  // Read for validation only: whether lm_head exists shows in the checkpoint's tensors.
  StatusOr<std::optional<bool>> tied = f.Bool("tie_word_embeddings");
  if (!tied.ok()) return tied.status();

  StatusOr<std::string> quant = DescribeQuantization(f);
  if (!quant.ok()) return quant.status();
  StatusOr<std::optional<std::string>> dtype = f.String({"torch_dtype", "dtype"});
  if (!dtype.ok()) return dtype.status();
  info.weights_dtype = !quant->empty() ? *quant : ShortDtype(dtype->value_or(""));

  ApplyKnownEngineLimits(&info);
  info.provenance = fmt::format("Hugging Face {} (shapes only)", label);
  return info;
}

// Splits "model.layers.12.mlp.experts.3.up_proj.weight" into its dot-separated parts.
std::vector<std::string_view> Components(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = name.find('.', start);
    const size_t end = dot == std::string_view::npos ? name.size() : dot;
    parts.push_back(name.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// The decoder layer a tensor belongs to, from the prefixes text models and multimodal wrappers
// use; nullopt for everything else (embeddings, norms, vision towers).
std::optional<uint64_t> LayerIndex(std::string_view name) {
  for (std::string_view prefix : {"model.layers.", "language_model.model.layers.",
                                  "model.language_model.layers.", "language_model.layers."}) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = name.substr(prefix.size());
    uint64_t index = 0;
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9' && digits < 9) {
      index = index * 10 + static_cast<uint64_t>(rest[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return std::nullopt;
    return index;
  }
  return std::nullopt;
}

void ClassifyTensors(const SafetensorsCheckpoint& ckpt, ModelInfo* info) {
  for (const auto& [name, bytes] : ckpt.tensor_bytes) {
    bool embd = false, output = false, expert = false;
    for (std::string_view part : Components(name)) {
      if (part == "embed_tokens") embd = true;
      if (part == "lm_head") output = true;
      if (part == "experts") expert = true;
    }
    if (embd) info->token_embd_bytes += bytes;
    if (output) info->output_bytes += bytes;
    if (expert) info->expert_bytes += bytes;
    // Layers past n_layer (deepseek's multi-token-prediction block) stay in weights_bytes only.
    if (const std::optional<uint64_t> i = LayerIndex(name); i && *i < info->layers.size()) {
      info->layers[*i].weight_bytes += bytes;
    }
  }
}

}  // namespace

StatusOr<ModelInfo> ParseHfConfig(std::string_view config_json, const std::string& name) {
  return ParseConfig(config_json, name, name.empty() ? "config.json" : name + "/config.json");
}

StatusOr<ModelInfo> ReadHfModelDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir + ": no such directory");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  StatusOr<std::string> text = json_util::ReadSmallFile(config_path, kMaxConfigBytes);
  if (!text.ok()) return text.status();

  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
  StatusOr<ModelInfo> info = ParseConfig(*text, name, config_path);
  if (!info.ok()) return info.status();

  StatusOr<SafetensorsCheckpoint> ckpt = ReadSafetensorsDir(dir);
  if (!ckpt.ok()) return ckpt.status();
  info->weights_bytes = ckpt->total_bytes;
  info->weights_exact = ckpt->exact;
  ClassifyTensors(*ckpt, &*info);
  if (ckpt->exact) {
    info->provenance = fmt::format("Hugging Face dir {}: config.json + {} safetensors header{}",
                                   dir, ckpt->files.size(), ckpt->files.size() == 1 ? "" : "s");
  } else {
    info->provenance = fmt::format(
        "Hugging Face dir {}: config.json + model.safetensors.index.json ({})", dir, ckpt->note);
  }
  return info;
}

}  // namespace cortex
