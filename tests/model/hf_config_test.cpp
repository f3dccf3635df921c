#include "model/hf_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "model/known_models.h"
#include "model/safetensors_writer.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

using ::cortex::testing::TempDir;
using ::cortex::testing::WriteSafetensors;
using ::cortex::testing::WriteText;
using ::testing::HasSubstr;

// KV bytes per token at 2 bytes per element, over the layers that cache text tokens.
uint64_t KvBytesPerToken(const ModelInfo& m) {
  uint64_t sum = 0;
  for (const LayerInfo& l : m.layers) {
    if (!l.has_kv) continue;
    sum += uint64_t{l.n_head_kv} * (l.head_dim_k + (m.is_mla ? 0 : l.head_dim_v)) * 2;
  }
  return sum;
}

int CountSwa(const ModelInfo& m) {
  int n = 0;
  for (const LayerInfo& l : m.layers)
    n += l.is_swa ? 1 : 0;
  return n;
}

// Qwen2.5-32B-Instruct's config.json (the shape DeepSeek-R1-Distill-Qwen-32B and
// Qwen2.5-Coder-32B share).
constexpr const char* kQwen32B = R"({
  "architectures": ["Qwen2ForCausalLM"],
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "hidden_act": "silu",
  "hidden_size": 5120,
  "initializer_range": 0.02,
  "intermediate_size": 27648,
  "max_position_embeddings": 32768,
  "max_window_layers": 70,
  "model_type": "qwen2",
  "num_attention_heads": 40,
  "num_hidden_layers": 64,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0,
  "sliding_window": 131072,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 152064
})";

// Llama-3.1-8B-Instruct's config.json.
constexpr const char* kLlama31_8B = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 8.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
})";

// Llama-3.2-11B-Vision-Instruct's config.json, vision_config abridged.
constexpr const char* kMllama = R"({
  "architectures": ["MllamaForConditionalGeneration"],
  "image_token_index": 128256,
  "model_type": "mllama",
  "text_config": {
    "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38],
    "dropout": 0,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 131072,
    "model_type": "mllama_text_model",
    "num_attention_heads": 32,
    "num_hidden_layers": 40,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "rope_theta": 500000.0,
    "tie_word_embeddings": false,
    "torch_dtype": "bfloat16",
    "vocab_size": 128256
  },
  "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0",
  "vision_config": {
    "hidden_size": 1280,
    "image_size": 560,
    "max_num_tiles": 4,
    "model_type": "mllama_vision_model",
    "num_attention_heads": 16,
    "num_global_layers": 8,
    "num_hidden_layers": 32,
    "vision_output_dim": 7680
  }
})";

// Gemma-3-27B-it's config.json, vision_config abridged: SWA every layer but each 6th.
constexpr const char* kGemma3 = R"({
  "architectures": ["Gemma3ForConditionalGeneration"],
  "boi_token_index": 255999,
  "model_type": "gemma3",
  "text_config": {
    "head_dim": 128,
    "hidden_size": 5376,
    "intermediate_size": 21504,
    "model_type": "gemma3_text",
    "num_attention_heads": 32,
    "num_hidden_layers": 62,
    "num_key_value_heads": 16,
    "query_pre_attn_scalar": 168,
    "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
    "sliding_window": 1024,
    "sliding_window_pattern": 6
  },
  "max_position_embeddings": 131072,
  "torch_dtype": "bfloat16",
  "vocab_size": 262208,
  "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"}
})";

// gpt-oss-20b-style: explicit layer_types, experts, YaRN.
constexpr const char* kGptOss = R"({
  "architectures": ["GptOssForCausalLM"],
  "experts_per_token": 4,
  "head_dim": 64,
  "hidden_size": 2880,
  "intermediate_size": 2880,
  "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention",
                  "sliding_attention", "full_attention", "sliding_attention", "full_attention"],
  "max_position_embeddings": 131072,
  "model_type": "gpt_oss",
  "num_attention_heads": 64,
  "num_experts_per_tok": 4,
  "num_hidden_layers": 8,
  "num_key_value_heads": 8,
  "num_local_experts": 32,
  "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn"],
                          "quant_method": "mxfp4"},
  "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0,
                   "original_max_position_embeddings": 4096, "rope_type": "yarn",
                   "truncate": false},
  "sliding_window": 128,
  "tie_word_embeddings": false,
  "vocab_size": 201088
})";

// DeepSeek-V3's config.json, abridged: MLA, 256 routed experts, first 3 layers dense, FP8.
constexpr const char* kDeepSeekV3 = R"({
  "architectures": ["DeepseekV3ForCausalLM"],
  "first_k_dense_replace": 3,
  "hidden_size": 7168,
  "intermediate_size": 18432,
  "kv_lora_rank": 512,
  "max_position_embeddings": 163840,
  "model_type": "deepseek_v3",
  "moe_intermediate_size": 2048,
  "n_routed_experts": 256,
  "n_shared_experts": 1,
  "num_attention_heads": 128,
  "num_experts_per_tok": 8,
  "num_hidden_layers": 61,
  "num_key_value_heads": 128,
  "num_nextn_predict_layers": 1,
  "q_lora_rank": 1536,
  "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64,
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                          "weight_block_size": [128, 128]},
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                   "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                   "type": "yarn"},
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "v_head_dim": 128,
  "vocab_size": 129280
})";

TEST(HfConfigTest, Qwen32B) {
  StatusOr<ModelInfo> m = ParseHfConfig(kQwen32B, "Qwen/Qwen2.5-32B-Instruct");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "Qwen/Qwen2.5-32B-Instruct");
  EXPECT_EQ(m->architecture, "qwen2");
  EXPECT_EQ(m->source, ModelSource::kHuggingFace);
  EXPECT_EQ(m->n_layer, 64u);
  EXPECT_EQ(m->n_embd, 5120u);
  EXPECT_EQ(m->n_vocab, 152064u);
  EXPECT_EQ(m->n_ctx_train, 32768u);
  ASSERT_EQ(m->layers.size(), 64u);
  for (const LayerInfo& l : m->layers) {
    EXPECT_EQ(l.n_head, 40u);
    EXPECT_EQ(l.n_head_kv, 8u);
    EXPECT_EQ(l.head_dim_k, 128u);
    EXPECT_EQ(l.head_dim_v, 128u);
    EXPECT_EQ(l.n_ff, 27648u);
    EXPECT_TRUE(l.has_kv);
  }
  // sliding_window is set, but use_sliding_window is false: full attention everywhere.
  EXPECT_EQ(CountSwa(*m), 0);
  EXPECT_EQ(m->n_swa, 0u);
  EXPECT_EQ(m->n_expert, 0u);
  EXPECT_FALSE(m->is_mla);
  EXPECT_EQ(KvBytesPerToken(*m), 262144u);
  EXPECT_EQ(m->weights_dtype, "bf16");
  EXPECT_EQ(m->weights_bytes, 0u);
  EXPECT_FALSE(m->weights_exact);
  EXPECT_TRUE(m->vllm_unsupported.empty());
  EXPECT_TRUE(m->llama_cpp_unsupported.empty());
  EXPECT_THAT(m->provenance, HasSubstr("Qwen/Qwen2.5-32B-Instruct/config.json"));
}

TEST(HfConfigTest, ShapesAgreeWithTheKnownTable) {
  StatusOr<ModelInfo> hf = ParseHfConfig(kQwen32B, "qwen");
  StatusOr<ModelInfo> table = LookupKnownModel("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "awq");
  ASSERT_TRUE(hf.ok() && table.ok());
  EXPECT_EQ(hf->n_layer, table->n_layer);
  EXPECT_EQ(hf->n_embd, table->n_embd);
  EXPECT_EQ(hf->n_vocab, table->n_vocab);
  EXPECT_EQ(KvBytesPerToken(*hf), KvBytesPerToken(*table));
  EXPECT_EQ(hf->layers[0].n_ff, table->layers[0].n_ff);
}

TEST(HfConfigTest, YarnRopeScalingExtendsTheContext) {
  // Qwen's instructions for 128K: add this rope_scaling to config.json.
  std::string config = kQwen32B;
  config.replace(config.find("\"rope_theta\""), 0,
                 R"("rope_scaling": {"factor": 4.0, "original_max_position_embeddings": 32768,
                    "type": "yarn"}, )");
  StatusOr<ModelInfo> m = ParseHfConfig(config, "coder");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->n_ctx_train, 131072u);
}

// Qwen2.5-0.5B-Instruct's config.json: max_window_layers 21 of 24, sliding window off.
constexpr const char* kQwen05B = R"({
  "architectures": ["Qwen2ForCausalLM"],
  "hidden_size": 896,
  "intermediate_size": 4864,
  "max_position_embeddings": 32768,
  "max_window_layers": 21,
  "model_type": "qwen2",
  "num_attention_heads": 14,
  "num_hidden_layers": 24,
  "num_key_value_heads": 2,
  "sliding_window": 32768,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "use_sliding_window": false,
  "vocab_size": 151936
})";

TEST(HfConfigTest, QwenUseSlidingWindowDecides) {
  StatusOr<ModelInfo> off = ParseHfConfig(kQwen05B, "Qwen/Qwen2.5-0.5B-Instruct");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(CountSwa(*off), 0);
  EXPECT_EQ(off->n_swa, 0u);
  EXPECT_EQ(KvBytesPerToken(*off), 12288u);

  // Switched on, the layers from max_window_layers up use the window.
  std::string config = kQwen05B;
  const std::string flag = "\"use_sliding_window\": false";
  config.replace(config.find(flag), flag.size(), "\"use_sliding_window\": true");
  StatusOr<ModelInfo> on = ParseHfConfig(config, "Qwen/Qwen2.5-0.5B-Instruct");
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_EQ(CountSwa(*on), 3);
  EXPECT_FALSE(on->layers[20].is_swa);
  EXPECT_TRUE(on->layers[21].is_swa);
  EXPECT_TRUE(on->layers[23].is_swa);
  EXPECT_EQ(on->n_swa, 32768u);
}

TEST(HfConfigTest, Llama31KeepsMaxPositionEmbeddingsUnderLlama3Scaling) {
  StatusOr<ModelInfo> m = ParseHfConfig(kLlama31_8B, "meta-llama/Llama-3.1-8B-Instruct");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->architecture, "llama");
  EXPECT_EQ(m->n_layer, 32u);
  EXPECT_EQ(m->n_ctx_train, 131072u);
  EXPECT_EQ(m->layers[0].head_dim_k, 128u);  // 4096 / 32, no head_dim key
  EXPECT_EQ(KvBytesPerToken(*m), 131072u);
  EXPECT_EQ(CountSwa(*m), 0);
}

TEST(HfConfigTest, MllamaUsesTextConfigAndMarksCrossAttentionLayers) {
  StatusOr<ModelInfo> m = ParseHfConfig(kMllama, "meta-llama/Llama-3.2-11B-Vision-Instruct");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->architecture, "mllama");
  EXPECT_EQ(m->n_layer, 40u);
  EXPECT_EQ(m->n_embd, 4096u);  // the text model's, not the vision tower's 1280
  EXPECT_EQ(m->n_vocab, 128256u);
  EXPECT_EQ(m->n_ctx_train, 131072u);
  const std::vector<uint32_t> cross = {3, 8, 13, 18, 23, 28, 33, 38};
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    const bool is_cross = std::find(cross.begin(), cross.end(), i) != cross.end();
    EXPECT_EQ(m->layers[i].has_kv, !is_cross) << "layer " << i;
    EXPECT_EQ(m->layers[i].n_head_kv, 8u);
  }
  EXPECT_EQ(KvBytesPerToken(*m), 131072u);  // 32 self-attention layers
  EXPECT_THAT(m->vllm_unsupported, HasSubstr("PR #24907"));
  EXPECT_THAT(m->vllm_unsupported, HasSubstr("V0 encoder-decoder"));
  EXPECT_THAT(m->llama_cpp_unsupported, HasSubstr("src/llama-arch.cpp"));
}

TEST(HfConfigTest, TextConfigFieldErrorsNameTheNestedField) {
  std::string config = kMllama;
  config.replace(config.find("\"num_attention_heads\": 32"), 25, "\"num_attention_heads\": 0");
  StatusOr<ModelInfo> m = ParseHfConfig(config, "vision");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("\"text_config.num_attention_heads\""));
}

TEST(HfConfigTest, Gemma3SlidingWindowPattern) {
  StatusOr<ModelInfo> m = ParseHfConfig(kGemma3, "google/gemma-3-27b-it");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->architecture, "gemma3");
  EXPECT_EQ(m->n_layer, 62u);
  EXPECT_EQ(m->n_vocab, 262208u);            // from the outer object: text_config lacks it
  EXPECT_EQ(m->n_ctx_train, 131072u);        // linear scaling: max_position_embeddings stands
  EXPECT_EQ(m->layers[0].head_dim_k, 128u);  // explicit head_dim, not 5376 / 32
  EXPECT_EQ(m->n_swa, 1024u);
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    EXPECT_EQ(m->layers[i].is_swa, (i + 1) % 6 != 0) << "layer " << i;
  }
  EXPECT_EQ(CountSwa(*m), 62 - 10);
}

TEST(HfConfigTest, Gemma2AlternatesWithoutAPattern) {
  StatusOr<ModelInfo> m = ParseHfConfig(R"({"model_type": "gemma2", "num_hidden_layers": 4,
      "hidden_size": 2304, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
      "intermediate_size": 9216, "vocab_size": 256000, "max_position_embeddings": 8192,
      "sliding_window": 4096})",
                                        "gemma2");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->layers[0].is_swa);
  EXPECT_FALSE(m->layers[1].is_swa);
  EXPECT_TRUE(m->layers[2].is_swa);
  EXPECT_FALSE(m->layers[3].is_swa);
  EXPECT_EQ(m->n_swa, 4096u);
}

TEST(HfConfigTest, BareSlidingWindowAppliesToEveryLayer) {
  // Mistral-7B-v0.1.
  StatusOr<ModelInfo> m = ParseHfConfig(R"({"model_type": "mistral", "num_hidden_layers": 32,
      "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
      "intermediate_size": 14336, "vocab_size": 32000, "max_position_embeddings": 32768,
      "sliding_window": 4096, "torch_dtype": "bfloat16"})",
                                        "mistral");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(CountSwa(*m), 32);
  EXPECT_EQ(m->n_swa, 4096u);
}

TEST(HfConfigTest, NullSlidingWindowMeansNone) {
  // Mistral-7B-Instruct-v0.2 and later.
  StatusOr<ModelInfo> m = ParseHfConfig(R"({"model_type": "mistral", "num_hidden_layers": 2,
      "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
      "sliding_window": null})",
                                        "mistral");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(CountSwa(*m), 0);
  EXPECT_EQ(m->n_swa, 0u);
  EXPECT_EQ(m->layers[0].n_head_kv, 4u);  // num_key_value_heads defaults to the head count
}

TEST(HfConfigTest, GptOssLayerTypesExpertsAndYarn) {
  StatusOr<ModelInfo> m = ParseHfConfig(kGptOss, "openai/gpt-oss-20b");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->n_expert, 32u);
  EXPECT_EQ(m->n_expert_used, 4u);
  EXPECT_EQ(m->n_ctx_train, 4096u * 32);
  EXPECT_EQ(m->n_swa, 128u);
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    EXPECT_EQ(m->layers[i].is_swa, i % 2 == 0) << "layer " << i;
    EXPECT_EQ(m->layers[i].n_ff, 0u);  // every layer is MoE
    EXPECT_EQ(m->layers[i].head_dim_k, 64u);
  }
  EXPECT_EQ(m->weights_dtype, "mxfp4");
}

TEST(HfConfigTest, DeepSeekV3Mla) {
  StatusOr<ModelInfo> m = ParseHfConfig(kDeepSeekV3, "deepseek-ai/DeepSeek-V3");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->is_mla);
  EXPECT_EQ(m->n_layer, 61u);
  EXPECT_EQ(m->n_expert, 256u);
  EXPECT_EQ(m->n_expert_used, 8u);
  EXPECT_EQ(m->n_ctx_train, 163840u);  // 4096 x 40
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    EXPECT_EQ(m->layers[i].n_head, 128u);
    EXPECT_EQ(m->layers[i].n_head_kv, 1u);
    EXPECT_EQ(m->layers[i].head_dim_k, 576u);  // kv_lora_rank + qk_rope_head_dim
    EXPECT_EQ(m->layers[i].head_dim_v, 512u);
    EXPECT_EQ(m->layers[i].n_ff, i < 3 ? 18432u : 0u) << "layer " << i;
  }
  EXPECT_EQ(m->weights_dtype, "fp8");
}

TEST(HfConfigTest, QwenMoeDenseLayers) {
  StatusOr<ModelInfo> m = ParseHfConfig(R"({"model_type": "qwen2_moe", "num_hidden_layers": 4,
      "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100, "intermediate_size": 256,
      "num_experts": 8, "num_experts_per_tok": 2, "decoder_sparse_step": 2,
      "mlp_only_layers": [3]})",
                                        "moe");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Sparse where (i + 1) % 2 == 0 and not listed in mlp_only_layers: only layer 1.
  EXPECT_EQ(m->layers[0].n_ff, 256u);
  EXPECT_EQ(m->layers[1].n_ff, 0u);
  EXPECT_EQ(m->layers[2].n_ff, 256u);
  EXPECT_EQ(m->layers[3].n_ff, 256u);
}

struct QuantCase {
  std::string label;
  std::string quantization_config;
  std::string expected;
};

void PrintTo(const QuantCase& c, std::ostream* os) {
  *os << c.label;
}

class HfQuantizationTest : public ::testing::TestWithParam<QuantCase> {};

TEST_P(HfQuantizationTest, NamesTheWeightFormat) {
  std::string config = kQwen32B;
  config.replace(config.find("\"rms_norm_eps\""), 0,
                 "\"quantization_config\": " + GetParam().quantization_config + ", ");
  StatusOr<ModelInfo> m = ParseHfConfig(config, "q");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->weights_dtype, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HfQuantizationTest,
    ::testing::Values(
        // Qwen/Qwen2.5-Coder-32B-Instruct-AWQ.
        QuantCase{"awq",
                  R"({"bits": 4, "group_size": 128, "modules_to_not_convert": null,
                      "quant_method": "awq", "version": "gemm", "zero_point": true})",
                  "awq-int4-g128"},
        // Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4.
        QuantCase{"gptq",
                  R"({"bits": 4, "damp_percent": 0.01, "desc_act": false, "group_size": 128,
                      "quant_method": "gptq", "static_groups": false, "sym": true,
                      "true_sequential": true})",
                  "gptq-int4-g128"},
        QuantCase{"gptq_per_column", R"({"bits": 8, "group_size": -1, "quant_method": "gptq"})",
                  "gptq-int8"},
        // An llm-compressor W4A16 checkpoint.
        QuantCase{"compressed_tensors",
                  R"({"config_groups": {"group_0": {"input_activations": null,
                      "output_activations": null, "targets": ["Linear"],
                      "weights": {"actorder": null, "block_structure": null, "dynamic": false,
                                  "group_size": 128, "num_bits": 4, "observer": "minmax",
                                  "observer_kwargs": {}, "strategy": "group",
                                  "symmetric": true, "type": "int"}}},
                      "format": "pack-quantized", "ignore": ["lm_head"],
                      "kv_cache_scheme": null, "quant_method": "compressed-tensors",
                      "quantization_status": "compressed"})",
                  "compressed-tensors-int4-g128"},
        QuantCase{"compressed_tensors_fp8",
                  R"({"config_groups": {"group_0": {"weights": {"num_bits": 8,
                      "type": "float", "strategy": "channel", "group_size": null}}},
                      "quant_method": "compressed-tensors"})",
                  "compressed-tensors-float8"},
        QuantCase{"bitsandbytes",
                  R"({"quant_method": "bitsandbytes", "load_in_4bit": true,
                      "load_in_8bit": false})",
                  "bnb-4bit"},
        QuantCase{"null_config", "null", "bf16"}),
    [](const ::testing::TestParamInfo<QuantCase>& info) { return info.param.label; });

struct BadConfigCase {
  std::string label;
  std::string json;
  std::string expected;
};

void PrintTo(const BadConfigCase& c, std::ostream* os) {
  *os << c.label;
}

class HfBadConfigTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(HfBadConfigTest, IsInvalidArgumentNamingFileAndField) {
  StatusOr<ModelInfo> m = ParseHfConfig(GetParam().json, "org/model");
  ASSERT_FALSE(m.ok()) << GetParam().label;
  EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument) << m.status().ToString();
  EXPECT_THAT(m.status().message(), HasSubstr("org/model/config.json"));
  EXPECT_THAT(m.status().message(), HasSubstr(GetParam().expected));
}

// A valid small config with one field spliced in front (later duplicates of a key win in
// Boost.JSON, so the spliced field is overridden only if it is repeated below).
std::string Tiny(const std::string& fields) {
  return "{" + fields + R"( "model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
      "vocab_size": 100})";
}

INSTANTIATE_TEST_SUITE_P(
    Table, HfBadConfigTest,
    ::testing::Values(
        BadConfigCase{"not_json", "{model_type: llama}", "not valid JSON"},
        BadConfigCase{"too_deep", std::string(100, '[') + std::string(100, ']'), "not valid JSON"},
        BadConfigCase{"not_object", "[1, 2]", "expected a JSON object, got an array"},
        BadConfigCase{"missing_model_type",
                      R"({"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                          "vocab_size": 100})",
                      "required field \"model_type\" is missing"},
        BadConfigCase{"missing_layers", Tiny(""),
                      "required field \"num_hidden_layers\" is missing"},
        BadConfigCase{"missing_vocab",
                      R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
                          "num_attention_heads": 4})",
                      "required field \"vocab_size\" is missing"},
        BadConfigCase{"zero_heads",
                      R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
                          "num_attention_heads": 0, "vocab_size": 100})",
                      "field \"num_attention_heads\" must be at least 1 (got 0)"},
        BadConfigCase{"zero_kv_heads", Tiny(R"("num_hidden_layers": 2, "num_key_value_heads": 0,)"),
                      "field \"num_key_value_heads\" must be at least 1"},
        BadConfigCase{"kv_heads_do_not_divide",
                      Tiny(R"("num_hidden_layers": 2, "num_key_value_heads": 3,)"),
                      "field \"num_key_value_heads\" is 3, which does not divide"},
        BadConfigCase{"more_kv_heads_than_heads",
                      Tiny(R"("num_hidden_layers": 2, "num_key_value_heads": 8,)"),
                      "does not divide num_attention_heads 4"},
        BadConfigCase{"heads_do_not_divide_hidden",
                      R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 100,
                          "num_attention_heads": 3, "vocab_size": 100})",
                      "does not divide hidden_size 100"},
        BadConfigCase{"string_for_int", Tiny(R"("num_hidden_layers": "32",)"),
                      "field \"num_hidden_layers\" expected a whole number, got a string "
                      "(\"32\")"},
        BadConfigCase{"bool_for_int", Tiny(R"("num_hidden_layers": true,)"), "got a boolean"},
        BadConfigCase{"negative_layers", Tiny(R"("num_hidden_layers": -1,)"),
                      "must not be negative (got -1)"},
        BadConfigCase{"fractional_layers", Tiny(R"("num_hidden_layers": 2.5,)"),
                      "must be a whole number"},
        BadConfigCase{"huge_layers", Tiny(R"("num_hidden_layers": 1e30,)"),
                      "larger than the largest allowed value"},
        BadConfigCase{"infinite_layers", Tiny(R"("num_hidden_layers": 1e400,)"), "finite"},
        BadConfigCase{"too_many_layers", Tiny(R"("num_hidden_layers": 4000000000,)"),
                      "larger than the largest allowed value 65536"},
        BadConfigCase{"huge_vocab",
                      R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
                          "num_attention_heads": 4, "vocab_size": 18446744073709551615})",
                      "field \"vocab_size\""},
        BadConfigCase{"model_type_not_string", R"({"model_type": 7, "num_hidden_layers": 2})",
                      "field \"model_type\""},
        BadConfigCase{"text_config_not_object", Tiny(R"("text_config": [],)"),
                      "field \"text_config\" expected an object"},
        BadConfigCase{"yarn_factor_string",
                      Tiny(R"("num_hidden_layers": 2, "rope_scaling": {"type": "yarn",
                              "factor": "four"},)"),
                      "rope_scaling.factor\" expected a number"},
        BadConfigCase{"yarn_factor_absurd",
                      Tiny(R"("num_hidden_layers": 2, "max_position_embeddings": 4096,
                              "rope_scaling": {"rope_type": "yarn", "factor": 1e12},)"),
                      "must be between 1 and 1000000"},
        BadConfigCase{"yarn_overflows_context",
                      Tiny(R"("num_hidden_layers": 2, "rope_scaling": {"rope_type": "yarn",
                              "factor": 1000000,
                              "original_max_position_embeddings": 4294967295},)"),
                      "extends the context"},
        BadConfigCase{"rope_scaling_not_object", Tiny(R"("num_hidden_layers": 2,
                              "rope_scaling": 8,)"),
                      "field \"rope_scaling\" expected an object"},
        BadConfigCase{"layer_types_wrong_length",
                      Tiny(R"("num_hidden_layers": 3, "sliding_window": 128,
                              "layer_types": ["sliding_attention", "full_attention"],)"),
                      "has 2 entries for 3 layers"},
        BadConfigCase{"layer_types_without_window", Tiny(R"("num_hidden_layers": 2,
                              "layer_types": ["sliding_attention", "full_attention"],)"),
                      "\"sliding_window\" is missing or 0"},
        BadConfigCase{"cross_layers_not_array",
                      Tiny(R"("num_hidden_layers": 2, "cross_attention_layers": 1,)"),
                      "field \"cross_attention_layers\" expected an array"},
        BadConfigCase{"cross_layer_out_of_range",
                      Tiny(R"("num_hidden_layers": 2, "cross_attention_layers": [1, 2],)"),
                      "field \"cross_attention_layers\" entry 2 is larger"},
        BadConfigCase{"experts_without_top_k",
                      Tiny(R"("num_hidden_layers": 2, "num_local_experts": 8,)"),
                      "required field \"num_experts_per_tok\" is missing"},
        BadConfigCase{"top_k_above_experts", Tiny(R"("num_hidden_layers": 2, "num_local_experts": 8,
                              "num_experts_per_tok": 9,)"),
                      "field \"num_experts_per_tok\" 9 is larger"},
        BadConfigCase{"mla_without_rope_dim",
                      Tiny(R"("num_hidden_layers": 2, "kv_lora_rank": 512,)"),
                      "required field \"qk_rope_head_dim\" is missing"},
        BadConfigCase{"quant_without_method",
                      Tiny(R"("num_hidden_layers": 2, "quantization_config": {"bits": 4},)"),
                      "quantization_config.quant_method\" is missing"},
        BadConfigCase{"quant_bits_string", Tiny(R"("num_hidden_layers": 2, "quantization_config":
                              {"quant_method": "awq", "bits": "4"},)"),
                      "quantization_config.bits\" expected a whole number"},
        BadConfigCase{"tie_not_bool",
                      Tiny(R"("num_hidden_layers": 2, "tie_word_embeddings": "yes",)"),
                      "field \"tie_word_embeddings\" expected true or false"},
        BadConfigCase{"dtype_not_string", Tiny(R"("num_hidden_layers": 2, "torch_dtype": 16,)"),
                      "field \"torch_dtype\" expected a string"}),
    [](const ::testing::TestParamInfo<BadConfigCase>& info) { return info.param.label; });

TEST(HfConfigTest, EmptyNameStillLabelsTheFile) {
  StatusOr<ModelInfo> m = ParseHfConfig("{}", "");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("config.json: required field \"model_type\""));
}

// A two-layer model small enough to write real safetensors for.
constexpr const char* kTinyConfig = R"({
  "model_type": "llama", "num_hidden_layers": 2, "hidden_size": 8, "num_attention_heads": 2,
  "num_key_value_heads": 1, "intermediate_size": 16, "vocab_size": 10,
  "max_position_embeddings": 256, "torch_dtype": "bfloat16", "num_local_experts": 2,
  "num_experts_per_tok": 1})";

TEST(HfModelDirTest, SumsAndClassifiesTensorBytes) {
  TempDir dir;
  WriteText(dir.File("config.json"), kTinyConfig);
  const uint64_t total = WriteSafetensors(
      dir.File("model.safetensors"),
      {
          {"model.embed_tokens.weight", "BF16", {10, 8}},                         // 160
          {"model.layers.0.self_attn.q_proj.weight", "BF16", {8, 8}},             // 128
          {"model.layers.0.mlp.experts.0.up_proj.weight", "BF16", {16, 8}},       // 256
          {"model.layers.0.mlp.experts.1.up_proj.weight", "BF16", {16, 8}},       // 256
          {"model.layers.1.self_attn.k_proj.weight", "BF16", {4, 8}},             // 64
          {"model.layers.1.mlp.shared_experts.up_proj.weight", "BF16", {16, 8}},  // 256
          {"model.layers.7.extra.weight", "BF16", {4}},                           // 8: past n_layer
          {"model.norm.weight", "BF16", {8}},                                     // 16
          {"lm_head.weight", "BF16", {10, 8}},                                    // 160
      });
  StatusOr<ModelInfo> m = ReadHfModelDir(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(total, 160u + 128 + 256 + 256 + 64 + 256 + 8 + 16 + 160);
  EXPECT_EQ(m->weights_bytes, total);
  EXPECT_TRUE(m->weights_exact);
  EXPECT_EQ(m->token_embd_bytes, 160u);
  EXPECT_EQ(m->output_bytes, 160u);
  EXPECT_EQ(m->expert_bytes, 512u);  // shared experts are not routed experts
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].weight_bytes, 128u + 256 + 256);
  EXPECT_EQ(m->layers[1].weight_bytes, 64u + 256);
  EXPECT_EQ(m->source, ModelSource::kHuggingFace);
  EXPECT_EQ(m->name, std::filesystem::path(dir.path()).filename().string());
  EXPECT_EQ(m->provenance,
            "Hugging Face dir " + dir.path() + ": config.json + 1 safetensors header");
}

TEST(HfModelDirTest, ShardedWithIndexAndMultimodalPrefixes) {
  TempDir dir;
  WriteText(dir.File("config.json"), kMllama);
  const uint64_t a =
      WriteSafetensors(dir.File("model-00001-of-00002.safetensors"),
                       {{"language_model.model.embed_tokens.weight", "BF16", {16, 4}},
                        {"language_model.model.layers.3.cross_attn.k_proj.weight", "BF16", {4, 4}},
                        {"vision_model.transformer.layers.0.mlp.fc1.weight", "BF16", {4, 4}}});
  const uint64_t b =
      WriteSafetensors(dir.File("model-00002-of-00002.safetensors"),
                       {{"language_model.model.layers.39.mlp.down_proj.weight", "BF16", {2, 4}},
                        {"language_model.lm_head.weight", "BF16", {16, 4}}});
  WriteText(dir.File("model.safetensors.index.json"), R"({"metadata": {"total_size": 1},
      "weight_map": {
        "language_model.model.embed_tokens.weight": "model-00001-of-00002.safetensors",
        "language_model.lm_head.weight": "model-00002-of-00002.safetensors"}})");
  StatusOr<ModelInfo> m = ReadHfModelDir(dir.path() + "/");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->weights_bytes, a + b);  // headers win over the index's total_size
  EXPECT_TRUE(m->weights_exact);
  EXPECT_EQ(m->token_embd_bytes, 128u);
  EXPECT_EQ(m->output_bytes, 128u);
  EXPECT_EQ(m->layers[3].weight_bytes, 32u);
  EXPECT_EQ(m->layers[39].weight_bytes, 16u);
  EXPECT_EQ(m->layers[0].weight_bytes, 0u);  // the vision tower's layer 0 is not the LM's
  EXPECT_THAT(m->provenance, HasSubstr("config.json + 2 safetensors headers"));
  EXPECT_EQ(m->name, std::filesystem::path(dir.path()).filename().string());
  EXPECT_THAT(m->vllm_unsupported, HasSubstr("PR #24907"));
}

TEST(HfModelDirTest, MissingShardUsesIndexTotalAndSaysSo) {
  TempDir dir;
  WriteText(dir.File("config.json"), kTinyConfig);
  WriteSafetensors(dir.File("model-00001-of-00002.safetensors"), {{"lm_head.weight", "BF16", {1}}});
  WriteText(dir.File("model.safetensors.index.json"), R"({"metadata": {"total_size": 4096},
      "weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors",
                     "model.norm.weight": "model-00002-of-00002.safetensors"}})");
  StatusOr<ModelInfo> m = ReadHfModelDir(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->weights_bytes, 4096u);
  EXPECT_FALSE(m->weights_exact);
  EXPECT_THAT(m->provenance, HasSubstr("model-00002-of-00002.safetensors is missing"));
  EXPECT_THAT(m->provenance, HasSubstr("total_size"));
}

TEST(HfModelDirTest, MissingPiecesAreNotFound) {
  TempDir dir;
  StatusOr<ModelInfo> m = ReadHfModelDir(dir.File("nope"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);

  m = ReadHfModelDir(dir.path());  // no config.json
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("config.json"));

  WriteText(dir.File("config.json"), kTinyConfig);  // no weights
  m = ReadHfModelDir(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("safetensors"));
}

TEST(HfModelDirTest, BadConfigNamesThePath) {
  TempDir dir;
  WriteText(dir.File("config.json"), R"({"model_type": "llama", "num_hidden_layers": "x"})");
  WriteSafetensors(dir.File("model.safetensors"), {{"a", "BF16", {1}}});
  StatusOr<ModelInfo> m = ReadHfModelDir(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr(dir.File("config.json")));
  EXPECT_THAT(m.status().message(), HasSubstr("num_hidden_layers"));
}

}  // namespace
}  // namespace cortex
