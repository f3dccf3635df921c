#include "model/known_models.h"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "model/ggml_type.h"
#include "util/bytes.h"

namespace cortex {
namespace {

// Why engines refuse mllama (Llama 3.2 Vision); A-memory.md sections 0 and 4.6.
constexpr std::string_view kMllamaLlamaCpp =
    "no mllama architecture in llama.cpp's src/llama-arch.cpp (llama.cpp d32676d7, 2026-08)";
constexpr std::string_view kMllamaVllm =
    "vLLM removed Mllama with V0 encoder-decoder support, PR #24907, Sept 2025 "
    "(https://github.com/vllm-project/vllm/pull/24907)";

// A file size someone published for one quantization of a model.
struct PublishedSize {
  std::string_view quant;  // a key of kQuants
  double amount;
  uint64_t unit;  // 10^9 for Hugging Face listings (GB), 2^30 for llama.cpp's table (GiB)
  std::string_view source;
};

struct KnownModel {
  std::string_view repo_id;
  std::string_view alias;         // an older repo id, or empty
  std::string_view architecture;  // llama.cpp's name
  uint32_t n_layer;
  uint32_t n_embd;
  uint32_t n_head;
  uint32_t n_head_kv;
  uint32_t head_dim;
  uint32_t n_ff;
  uint32_t n_vocab;
  uint32_t n_ctx_train;
  bool tied_embeddings;
  bool qkv_bias;                                 // qwen2 has biases on q, k and v
  std::vector<uint32_t> cross_attention_layers;  // mllama: no per-token KV
  double card_total_params;                      // > 0: the card's count including a vision encoder
  std::string_view source;                       // where the shapes and context come from
};

// Shapes and contexts: A-memory.md section 5 (each entry names the primary source).
// Formatted by hand: one line per group of fields reads better than one line per number.
// clang-format off
const std::vector<KnownModel>& Table() {
  static const std::vector<KnownModel> table = {
      // Qwen2.5-32B base config, which the distill keeps (LLM-Prof sglang/Model_Config.md,
      // fitmyllm: 64 layers, 8 KV heads, head dim 128, 128K).
      {.repo_id = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", .alias = "", .architecture = "qwen2",
       .n_layer = 64, .n_embd = 5120, .n_head = 40, .n_head_kv = 8, .head_dim = 128,
       .n_ff = 27648, .n_vocab = 152064, .n_ctx_train = 131072,
       .tied_embeddings = false, .qkv_bias = true, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "Qwen2.5-32B config (A-memory.md section 5: LLM-Prof sglang/Model_Config.md, "
                 "fitmyllm)"},
      // Model card: "32.5B ... 64 layers ... 40 for Q and 8 for KV"; config.json has
      // max_position_embeddings 32768, 128K needs rope_scaling YaRN factor 4.0.
      {.repo_id = "Qwen/Qwen2.5-Coder-32B-Instruct", .alias = "", .architecture = "qwen2",
       .n_layer = 64, .n_embd = 5120, .n_head = 40, .n_head_kv = 8, .head_dim = 128,
       .n_ff = 27648, .n_vocab = 152064, .n_ctx_train = 32768,
       .tied_embeddings = false, .qkv_bias = true, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "Qwen2.5-Coder-32B-Instruct model card and config.json (A-memory.md section 5); "
                 "context 32768 as shipped, 131072 only with rope_scaling YaRN factor 4 added "
                 "to config.json"},
      // Llama-3.1-8B-Instruct shape ("Base model: meta-llama/Llama-3.1-8B-Instruct"); the card
      // says "Maximum context window: 4M tokens". Formerly nvidia/Llama-3.1-8B-UltraLong-4M-...
      {.repo_id = "nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct",
       .alias = "nvidia/Llama-3.1-8B-UltraLong-4M-Instruct", .architecture = "llama",
       .n_layer = 32, .n_embd = 4096, .n_head = 32, .n_head_kv = 8, .head_dim = 128,
       .n_ff = 14336, .n_vocab = 128256, .n_ctx_train = 4194304,
       .tied_embeddings = false, .qkv_bias = false, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "Llama-3.1-8B-Instruct shape per the model card "
                 "(https://huggingface.co/nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct); "
                 "context 4M = 4194304 from the model card; exact config value not verified"},
      // transformers MllamaTextConfig defaults (configuration_mllama.py); 10.6B with vision per
      // the card.
      {.repo_id = "meta-llama/Llama-3.2-11B-Vision-Instruct", .alias = "",
       .architecture = "mllama",
       .n_layer = 40, .n_embd = 4096, .n_head = 32, .n_head_kv = 8, .head_dim = 128,
       .n_ff = 14336, .n_vocab = 128256, .n_ctx_train = 131072,
       .tied_embeddings = false, .qkv_bias = false,
       .cross_attention_layers = {3, 8, 13, 18, 23, 28, 33, 38},
       .card_total_params = 10.6e9,
       .source = "transformers models/mllama/configuration_mllama.py MllamaTextConfig "
                 "(A-memory.md section 5); 10.6B parameters including the vision encoder per "
                 "the model card"},
      // Ollama library GGUF metadata of granite3-dense:8b.
      {.repo_id = "ibm-granite/granite-3.0-8b-instruct", .alias = "", .architecture = "granite",
       .n_layer = 40, .n_embd = 4096, .n_head = 32, .n_head_kv = 8, .head_dim = 128,
       .n_ff = 12800, .n_vocab = 49155, .n_ctx_train = 4096,
       .tied_embeddings = true, .qkv_bias = false, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "Ollama library GGUF metadata of granite3-dense:8b (A-memory.md section 5)"},
      // Its config.json and card ("0.49B ... 14 for Q and 2 for KV").
      {.repo_id = "Qwen/Qwen2.5-0.5B-Instruct", .alias = "", .architecture = "qwen2",
       .n_layer = 24, .n_embd = 896, .n_head = 14, .n_head_kv = 2, .head_dim = 64,
       .n_ff = 4864, .n_vocab = 151936, .n_ctx_train = 32768,
       .tied_embeddings = true, .qkv_bias = true, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "Qwen2.5-0.5B config.json and model card (A-memory.md section 5)"},
      // Configs in several repos (hidden 576, 30 layers, 9/3 heads, 8192).
      {.repo_id = "HuggingFaceTB/SmolLM2-135M-Instruct", .alias = "", .architecture = "llama",
       .n_layer = 30, .n_embd = 576, .n_head = 9, .n_head_kv = 3, .head_dim = 64,
       .n_ff = 1536, .n_vocab = 49152, .n_ctx_train = 8192,
       .tied_embeddings = true, .qkv_bias = false, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "SmolLM2-135M config.json (A-memory.md section 5; an early revision said "
                 "context 2048)"},
      {.repo_id = "TinyLlama/TinyLlama-1.1B-Chat-v1.0", .alias = "", .architecture = "llama",
       .n_layer = 22, .n_embd = 2048, .n_head = 32, .n_head_kv = 4, .head_dim = 64,
       .n_ff = 5632, .n_vocab = 32000, .n_ctx_train = 2048,
       .tied_embeddings = false, .qkv_bias = false, .cross_attention_layers = {},
       .card_total_params = 0,
       .source = "TinyLlama-1.1B-Chat-v1.0 config.json (A-memory.md section 5)"},
  };
  return table;
}
// clang-format on

// Published sizes: A-memory.md section 6.
std::vector<PublishedSize> Published(std::string_view repo_id) {
  constexpr uint64_t kGB = 1000000000ull;
  constexpr std::string_view kLlamaCppTable =
      "llama.cpp tools/quantize/README.md table for Llama-3.1-8B, the same shape";
  if (repo_id == "Qwen/Qwen2.5-Coder-32B-Instruct" ||
      repo_id == "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B") {
    // The distill has the Coder's architecture, so its checkpoints have the same sizes.
    const bool same = repo_id != "Qwen/Qwen2.5-Coder-32B-Instruct";
    const std::string_view awq = same ? "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ listing (same "
                                        "architecture)"
                                      : "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ listing";
    const std::string_view gptq = same ? "Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4 listing "
                                         "(same architecture)"
                                       : "Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4 listing";
    const std::string_view gguf = same ? "bartowski/mradermacher Qwen2.5-Coder-32B GGUF "
                                         "listings (same architecture)"
                                       : "bartowski/mradermacher Qwen2.5-Coder-32B GGUF listings";
    return {
        {"awq", 19.33, kGB, awq},    {"gptq", 19.34, kGB, gptq},  {"q4_k_s", 18.8, kGB, gguf},
        {"q4_k_m", 19.9, kGB, gguf}, {"q5_k_s", 22.6, kGB, gguf}, {"q5_k_m", 23.3, kGB, gguf},
        {"q6_k", 26.9, kGB, gguf},   {"q8_0", 34.8, kGB, gguf},
    };
  }
  if (repo_id == "nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct") {
    return {
        {"q4_k_s", 4.36, kGiB, kLlamaCppTable},
        {"q4_k_m", 4.58, kGiB, kLlamaCppTable},
        {"q5_k_s", 5.21, kGiB, kLlamaCppTable},
        {"q5_k_m", 5.33, kGiB, kLlamaCppTable},
        {"q6_k", 6.14, kGiB, kLlamaCppTable},
        {"q8_0", 7.95, kGiB, kLlamaCppTable},
        {"f16", 14.96, kGiB, kLlamaCppTable},
        {"bf16", 14.96, kGiB,
         "the F16 size in llama.cpp tools/quantize/README.md for Llama-3.1-8B, the same shape; "
         "bf16 has as many bytes"},
    };
  }
  if (repo_id == "ibm-granite/granite-3.0-8b-instruct") {
    return {
        {"q6_k", 6.7, kGB, "Ollama library granite3-dense:8b"},
        {"q5_k_s", 5.6, kGB, "Ollama library granite3-dense:8b"},
    };
  }
  return {};
}

enum class QuantKind { kGguf, kUnquantized, kInt4Linear };

struct Quant {
  std::string_view key;    // what callers pass (lowercased)
  std::string_view dtype;  // ModelInfo::weights_dtype
  QuantKind kind;
  double bpw;  // bits per weight of the whole model (GGUF) or of the linear layers (int4)
  // GGUF only: the types llama.cpp's quantizer usually gives the token embedding and the
  // output matrix (output gets q6_K in K-quant mixes; a tied embedding is quantized as the
  // output). Estimates, said so in provenance.
  GgmlType embd_type;
  GgmlType output_type;
};

// Bits per weight of the llama.cpp mixes: tools/quantize/README.md (A-memory.md section 6).
// AWQ/GPTQ: 4-bit weights plus per-group scales and zeros on the linear layers, embeddings and
// lm_head kept in bf16, as the Qwen AWQ/GPTQ checkpoints do.
constexpr Quant kQuants[] = {
    {"q4_k_s", "q4_K_S", QuantKind::kGguf, 4.67, GgmlType::kQ4_K, GgmlType::kQ6_K},
    {"q4_k_m", "q4_K_M", QuantKind::kGguf, 4.89, GgmlType::kQ4_K, GgmlType::kQ6_K},
    {"q5_k_s", "q5_K_S", QuantKind::kGguf, 5.57, GgmlType::kQ5_K, GgmlType::kQ6_K},
    {"q5_k_m", "q5_K_M", QuantKind::kGguf, 5.70, GgmlType::kQ5_K, GgmlType::kQ6_K},
    {"q6_k", "q6_K", QuantKind::kGguf, 6.56, GgmlType::kQ6_K, GgmlType::kQ6_K},
    {"q8_0", "q8_0", QuantKind::kGguf, 8.50, GgmlType::kQ8_0, GgmlType::kQ8_0},
    {"f16", "f16", QuantKind::kUnquantized, 16, GgmlType::kF16, GgmlType::kF16},
    {"bf16", "bf16", QuantKind::kUnquantized, 16, GgmlType::kBF16, GgmlType::kBF16},
    {"awq", "awq-int4-g128", QuantKind::kInt4Linear, 4.25, GgmlType::kBF16, GgmlType::kBF16},
    {"gptq", "gptq-int4-g128", QuantKind::kInt4Linear, 4.25, GgmlType::kBF16, GgmlType::kBF16},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view LastComponent(std::string_view id) {
  const size_t slash = id.rfind('/');
  return slash == std::string_view::npos ? id : id.substr(slash + 1);
}

const KnownModel* Find(std::string_view hf_repo_id) {
  const std::string want = Lower(hf_repo_id);
  const bool bare = want.find('/') == std::string::npos;
  for (const KnownModel& m : Table()) {
    for (std::string_view id : {m.repo_id, m.alias}) {
      if (id.empty()) continue;
      if (Lower(id) == want) return &m;
      if (bare && Lower(LastComponent(id)) == want) return &m;
    }
  }
  return nullptr;
}

Status NotFoundStatus(std::string_view hf_repo_id) {
  std::string names;
  for (const KnownModel& m : Table()) {
    if (!names.empty()) names += ", ";
    names += m.repo_id;
  }
  return Status::NotFound(
      fmt::format("\"{}\" is not in the table of known models; known: {}", hf_repo_id, names));
}

const Quant* FindQuant(std::string_view quant) {
  std::string want = Lower(quant);
  if (want == "awq-int4" || want == "awq-int4-g128") want = "awq";
  if (want == "gptq-int4" || want == "gptq-int4-g128") want = "gptq";
  for (const Quant& q : kQuants) {
    if (q.key == want) return &q;
  }
  return nullptr;
}

// Parameters by role, from the shapes.
struct ParamCounts {
  uint64_t embd = 0;                   // token embedding
  uint64_t output = 0;                 // lm_head; 0 when tied
  std::vector<uint64_t> layer;         // every tensor of each decoder layer
  std::vector<uint64_t> layer_linear;  // the projection matrices of each layer
  uint64_t final_norm = 0;
  uint64_t extra = 0;  // outside the language model (vision encoder)

  uint64_t Total() const {
    uint64_t t = embd + output + final_norm + extra;
    for (uint64_t l : layer)
      t += l;
    return t;
  }
  uint64_t Linear() const {
    uint64_t t = 0;
    for (uint64_t l : layer_linear)
      t += l;
    return t;
  }
};

ParamCounts CountParams(const KnownModel& m) {
  ParamCounts p;
  const uint64_t h = m.n_embd;
  const uint64_t q = uint64_t{m.n_head} * m.head_dim;
  const uint64_t kv = uint64_t{m.n_head_kv} * m.head_dim;
  p.embd = uint64_t{m.n_vocab} * h;
  p.output = m.tied_embeddings ? 0 : uint64_t{m.n_vocab} * h;
  p.final_norm = h;
  for (uint32_t i = 0; i < m.n_layer; ++i) {
    const uint64_t linear = h * q + 2 * h * kv + q * h + 3 * h * m.n_ff;
    uint64_t other = 2 * h;  // attention and MLP norms
    if (m.qkv_bias) other += q + 2 * kv;
    const bool cross = std::find(m.cross_attention_layers.begin(), m.cross_attention_layers.end(),
                                 i) != m.cross_attention_layers.end();
    // mllama's cross-attention layers add q/k norms over the head size and two tanh gates.
    if (cross) other += 2 * uint64_t{m.head_dim} + 2;
    p.layer.push_back(linear + other);
    p.layer_linear.push_back(linear);
  }
  if (m.card_total_params > 0) {
    const double lm = static_cast<double>(p.Total());
    p.extra = m.card_total_params > lm ? static_cast<uint64_t>(m.card_total_params - lm) : 0;
  }
  return p;
}

uint64_t Bytes(double params, double bits_per_weight) {
  return static_cast<uint64_t>(std::llround(params * bits_per_weight / 8.0));
}

double Bpw(GgmlType type) {
  const GgmlTypeTraits& t = Traits(type);
  return 8.0 * t.type_size / t.block_size;
}

std::string FormatParams(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f}B", static_cast<double>(n) / 1e9);
  return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
}

}  // namespace

StatusOr<ModelInfo> LookupKnownModel(std::string_view hf_repo_id, std::string_view quant) {
  const KnownModel* m = Find(hf_repo_id);
  if (m == nullptr) return NotFoundStatus(hf_repo_id);
  const Quant* qt = FindQuant(quant);
  if (qt == nullptr) {
    std::string keys;
    for (const Quant& q : kQuants) {
      if (!keys.empty()) keys += ", ";
      keys += q.key;
    }
    return Status::InvalidArgument(
        fmt::format("unknown quantization \"{}\" for {}; accepted: {}", quant, m->repo_id, keys));
  }

  ModelInfo info;
  info.name = std::string(m->repo_id);
  info.architecture = std::string(m->architecture);
  info.source = ModelSource::kKnownTable;
  info.n_layer = m->n_layer;
  info.n_embd = m->n_embd;
  info.n_vocab = m->n_vocab;
  info.n_ctx_train = m->n_ctx_train;
  info.layers.resize(m->n_layer);
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    LayerInfo& l = info.layers[i];
    l.n_head = m->n_head;
    l.n_head_kv = m->n_head_kv;
    l.head_dim_k = m->head_dim;
    l.head_dim_v = m->head_dim;
    l.n_ff = m->n_ff;
    // Cross-attention layers cache the image tokens' K/V only, not the text's.
    l.has_kv = std::find(m->cross_attention_layers.begin(), m->cross_attention_layers.end(), i) ==
               m->cross_attention_layers.end();
  }

  // Weight bytes by role.
  const ParamCounts p = CountParams(*m);
  const uint64_t total_params = p.Total();
  std::string weights_how;
  switch (qt->kind) {
    case QuantKind::kGguf: {
      info.weights_bytes = Bytes(static_cast<double>(total_params), qt->bpw);
      // A tied embedding is the output matrix too, so the quantizer gives it the output's type.
      info.token_embd_bytes = Bytes(static_cast<double>(p.embd),
                                    Bpw(m->tied_embeddings ? qt->output_type : qt->embd_type));
      info.output_bytes = Bytes(static_cast<double>(p.output), Bpw(qt->output_type));
      weights_how = fmt::format(
          "estimated as {} parameters x {:.2f} bits per weight (llama.cpp {}); token_embd as {} "
          "and output as {}, the types llama.cpp's quantizer usually picks (estimate)",
          FormatParams(total_params), qt->bpw, qt->dtype,
          GgmlTypeName(m->tied_embeddings ? qt->output_type : qt->embd_type),
          GgmlTypeName(qt->output_type));
      break;
    }
    case QuantKind::kUnquantized:
      info.weights_bytes = Bytes(static_cast<double>(total_params), 16);
      info.token_embd_bytes = Bytes(static_cast<double>(p.embd), 16);
      info.output_bytes = Bytes(static_cast<double>(p.output), 16);
      weights_how = fmt::format("estimated as {} parameters x 2 bytes", FormatParams(total_params));
      break;
    case QuantKind::kInt4Linear: {
      const uint64_t linear = p.Linear();
      info.weights_bytes = Bytes(static_cast<double>(linear), qt->bpw) +
                           Bytes(static_cast<double>(total_params - linear), 16);
      info.token_embd_bytes = Bytes(static_cast<double>(p.embd), 16);
      info.output_bytes = Bytes(static_cast<double>(p.output), 16);
      weights_how = fmt::format(
          "estimated as {} linear-layer parameters x {:.2f} bits plus {} other parameters "
          "(embeddings, lm_head, norms{}) kept in bf16",
          FormatParams(linear), qt->bpw, FormatParams(total_params - linear),
          p.extra > 0 ? ", vision encoder" : "");
      break;
    }
  }
  for (const PublishedSize& s : Published(m->repo_id)) {
    if (s.quant != qt->key) continue;
    info.weights_bytes =
        static_cast<uint64_t>(std::llround(s.amount * static_cast<double>(s.unit)));
    weights_how = fmt::format("{} {} as published ({}); token_embd/output bytes estimated",
                              s.amount, s.unit == kGiB ? "GiB" : "GB", s.source);
  }

  // What is left after embeddings, output and the vision encoder is spread over the layers in
  // proportion to their parameters.
  const double extra_bytes =
      static_cast<double>(p.extra) * (qt->kind == QuantKind::kGguf ? qt->bpw / 8.0 : 2.0);
  const double rest = static_cast<double>(info.weights_bytes) -
                      static_cast<double>(info.token_embd_bytes + info.output_bytes) - extra_bytes;
  uint64_t layer_params = 0;
  for (uint64_t l : p.layer)
    layer_params += l;
  if (rest > 0 && layer_params > 0) {
    for (uint32_t i = 0; i < m->n_layer; ++i) {
      info.layers[i].weight_bytes = static_cast<uint64_t>(rest * static_cast<double>(p.layer[i]) /
                                                          static_cast<double>(layer_params));
    }
  }

  info.weights_exact = false;
  info.weights_dtype = std::string(qt->dtype);
  ApplyKnownEngineLimits(&info);
  const std::string params =
      p.extra == 0
          ? fmt::format("{} parameters computed from the shapes", FormatParams(total_params))
          : fmt::format(
                "{} language-model parameters computed from the shapes plus {} for the "
                "vision encoder (the card's total less the language model)",
                FormatParams(total_params - p.extra), FormatParams(p.extra));
  info.provenance =
      fmt::format("known table: {} ({}): shapes from {}; {}; weights {} {}", m->repo_id,
                  m->architecture, m->source, params, qt->dtype, weights_how);
  return info;
}

std::vector<std::string> KnownModelNames() {
  std::vector<std::string> names;
  for (const KnownModel& m : Table())
    names.emplace_back(m.repo_id);
  return names;
}

StatusOr<uint64_t> KnownModelParameterCount(std::string_view hf_repo_id) {
  const KnownModel* m = Find(hf_repo_id);
  if (m == nullptr) return NotFoundStatus(hf_repo_id);
  return CountParams(*m).Total();
}

void ApplyKnownEngineLimits(ModelInfo* info) {
  if (info->architecture == "mllama") {
    if (info->llama_cpp_unsupported.empty()) info->llama_cpp_unsupported = kMllamaLlamaCpp;
    if (info->vllm_unsupported.empty()) info->vllm_unsupported = kMllamaVllm;
  }
}

}  // namespace cortex
