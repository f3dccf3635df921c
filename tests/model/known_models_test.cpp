#include "model/known_models.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace cortex {
namespace {

using ::testing::HasSubstr;

uint64_t KvBytesPerTokenF16(const ModelInfo& m) {
  uint64_t sum = 0;
  for (const LayerInfo& l : m.layers) {
    if (l.has_kv) sum += 2ull * l.n_head_kv * l.head_dim_k * 2;
  }
  return sum;
}

uint64_t LayerBytes(const ModelInfo& m) {
  uint64_t sum = 0;
  for (const LayerInfo& l : m.layers)
    sum += l.weight_bytes;
  return sum;
}

struct ShapeCase {
  std::string repo;
  std::string architecture;
  double params;                // A-memory.md section 5
  uint64_t kv_bytes_per_token;  // f16 K+V, A-memory.md section 5
  uint32_t n_layer;
  uint32_t n_ctx_train;
  bool tied;
};

void PrintTo(const ShapeCase& c, std::ostream* os) {
  *os << c.repo;
}

class KnownShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(KnownShapeTest, ParametersWithinOnePercentOfTheNotes) {
  StatusOr<uint64_t> n = KnownModelParameterCount(GetParam().repo);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_NEAR(static_cast<double>(*n), GetParam().params, GetParam().params * 0.01)
      << GetParam().repo;
}

TEST_P(KnownShapeTest, KvBytesPerTokenMatchTheNotes) {
  StatusOr<ModelInfo> m = LookupKnownModel(GetParam().repo, "q8_0");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(KvBytesPerTokenF16(*m), GetParam().kv_bytes_per_token);
}

TEST_P(KnownShapeTest, ShapeContextAndArchitecture) {
  StatusOr<ModelInfo> m = LookupKnownModel(GetParam().repo, "bf16");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, GetParam().repo);
  EXPECT_EQ(m->architecture, GetParam().architecture);
  EXPECT_EQ(m->source, ModelSource::kKnownTable);
  EXPECT_EQ(m->n_layer, GetParam().n_layer);
  EXPECT_EQ(m->layers.size(), GetParam().n_layer);
  EXPECT_EQ(m->n_ctx_train, GetParam().n_ctx_train);
  EXPECT_EQ(m->n_swa, 0u);
  EXPECT_FALSE(m->weights_exact);
  EXPECT_EQ(m->output_bytes == 0, GetParam().tied);
  EXPECT_THAT(m->provenance, HasSubstr("known table: " + GetParam().repo));
}

TEST_P(KnownShapeTest, Bf16WeightsAreTwoBytesPerParameter) {
  StatusOr<ModelInfo> m = LookupKnownModel(GetParam().repo, "bf16");
  StatusOr<uint64_t> n = KnownModelParameterCount(GetParam().repo);
  ASSERT_TRUE(m.ok() && n.ok());
  // Llama-3.1-8B's bf16 uses llama.cpp's published F16 size, the others the estimate.
  EXPECT_NEAR(static_cast<double>(m->weights_bytes), 2.0 * static_cast<double>(*n),
              0.005 * 2.0 * static_cast<double>(*n));
}

TEST_P(KnownShapeTest, ByteSplitIsConsistentForEveryQuant) {
  for (const char* quant :
       {"q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", "q8_0", "f16", "bf16", "awq", "gptq"}) {
    StatusOr<ModelInfo> m = LookupKnownModel(GetParam().repo, quant);
    ASSERT_TRUE(m.ok()) << quant << ": " << m.status().ToString();
    const uint64_t parts = m->token_embd_bytes + m->output_bytes + LayerBytes(*m);
    EXPECT_LE(parts, m->weights_bytes) << quant;
    // The layers hold most of every model here. The largest remainder is mllama's vision
    // encoder, kept in bf16 next to 4-bit AWQ layers (about 23% of the bytes).
    EXPECT_GT(static_cast<double>(parts), 0.75 * static_cast<double>(m->weights_bytes)) << quant;
    EXPECT_GT(m->token_embd_bytes, 0u) << quant;
    for (const LayerInfo& l : m->layers)
      EXPECT_GT(l.weight_bytes, 0u) << quant;
    EXPECT_EQ(m->expert_bytes, 0u);
    EXPECT_FALSE(m->weights_exact);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, KnownShapeTest,
    ::testing::Values(
        ShapeCase{"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "qwen2", 32.76e9, 262144, 64, 131072,
                  false},
        ShapeCase{"Qwen/Qwen2.5-Coder-32B-Instruct", "qwen2", 32.76e9, 262144, 64, 32768, false},
        ShapeCase{"nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", "llama", 8.03e9, 131072, 32,
                  4194304, false},
        ShapeCase{"meta-llama/Llama-3.2-11B-Vision-Instruct", "mllama", 10.6e9, 131072, 40, 131072,
                  false},
        ShapeCase{"ibm-granite/granite-3.0-8b-instruct", "granite", 8.17e9, 163840, 40, 4096, true},
        ShapeCase{"Qwen/Qwen2.5-0.5B-Instruct", "qwen2", 0.49e9, 12288, 24, 32768, true},
        ShapeCase{"HuggingFaceTB/SmolLM2-135M-Instruct", "llama", 0.135e9, 23040, 30, 8192, true},
        ShapeCase{"TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", 1.10e9, 22528, 22, 2048, false}),
    [](const ::testing::TestParamInfo<ShapeCase>& info) {
      std::string name;
      for (char c : info.param.repo)
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(KnownModelsTest, NamesListEveryEntryAndEachResolves) {
  const std::vector<std::string> names = KnownModelNames();
  EXPECT_EQ(names.size(), 8u);
  for (const std::string& name : names) {
    StatusOr<ModelInfo> m = LookupKnownModel(name, "q4_k_m");
    ASSERT_TRUE(m.ok()) << name << ": " << m.status().ToString();
    EXPECT_EQ(m->name, name);
  }
}

TEST(KnownModelsTest, LookupIsCaseInsensitiveAndAcceptsTheShortName) {
  for (const char* id : {"Qwen/Qwen2.5-Coder-32B-Instruct", "qwen/qwen2.5-coder-32b-instruct",
                         "Qwen2.5-Coder-32B-Instruct", "QWEN2.5-CODER-32B-INSTRUCT"}) {
    StatusOr<ModelInfo> m = LookupKnownModel(id, "AWQ");
    ASSERT_TRUE(m.ok()) << id << ": " << m.status().ToString();
    EXPECT_EQ(m->name, "Qwen/Qwen2.5-Coder-32B-Instruct") << id;
  }
}

TEST(KnownModelsTest, UltraLongOldNameResolves) {
  for (const char* id :
       {"nvidia/Llama-3.1-8B-UltraLong-4M-Instruct", "Llama-3.1-8B-UltraLong-4M-Instruct",
        "Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct"}) {
    StatusOr<ModelInfo> m = LookupKnownModel(id, "q4_k_m");
    ASSERT_TRUE(m.ok()) << id << ": " << m.status().ToString();
    EXPECT_EQ(m->name, "nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct");
  }
}

TEST(KnownModelsTest, AnotherOwnersRepoIsNotThisModel) {
  StatusOr<ModelInfo> m = LookupKnownModel("someone/Qwen2.5-Coder-32B-Instruct", "awq");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
}

TEST(KnownModelsTest, UnknownModelListsTheKnownNames) {
  StatusOr<ModelInfo> m = LookupKnownModel("mistralai/Mistral-7B-v0.1", "q4_k_m");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("mistralai/Mistral-7B-v0.1"));
  for (const std::string& name : KnownModelNames()) {
    EXPECT_THAT(m.status().message(), HasSubstr(name));
  }
  StatusOr<uint64_t> n = KnownModelParameterCount("");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kNotFound);
}

TEST(KnownModelsTest, UnknownQuantListsTheAcceptedOnes) {
  for (const char* quant : {"", "q3_k_m", "int4", "awq-int8"}) {
    StatusOr<ModelInfo> m = LookupKnownModel("Qwen/Qwen2.5-0.5B-Instruct", quant);
    ASSERT_FALSE(m.ok()) << quant;
    EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr("q4_k_m"));
    EXPECT_THAT(m.status().message(), HasSubstr("gptq"));
  }
}

TEST(KnownModelsTest, PublishedSizesFor32BModels) {
  struct Case {
    const char* repo;
    const char* quant;
    uint64_t bytes;
    const char* dtype;
  };
  for (const Case& c : {
           Case{"Qwen/Qwen2.5-Coder-32B-Instruct", "awq", 19330000000ull, "awq-int4-g128"},
           Case{"Qwen/Qwen2.5-Coder-32B-Instruct", "gptq-int4", 19340000000ull, "gptq-int4-g128"},
           Case{"Qwen/Qwen2.5-Coder-32B-Instruct", "Q4_K_M", 19900000000ull, "q4_K_M"},
           Case{"Qwen/Qwen2.5-Coder-32B-Instruct", "q8_0", 34800000000ull, "q8_0"},
           Case{"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "awq", 19330000000ull, "awq-int4-g128"},
           Case{"deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "q4_k_m", 19900000000ull, "q4_K_M"},
       }) {
    StatusOr<ModelInfo> m = LookupKnownModel(c.repo, c.quant);
    ASSERT_TRUE(m.ok()) << c.repo << " " << c.quant;
    EXPECT_EQ(m->weights_bytes, c.bytes) << c.repo << " " << c.quant;
    EXPECT_EQ(m->weights_dtype, c.dtype);
    EXPECT_THAT(m->provenance, HasSubstr("as published"));
  }
  // The distill borrows the Coder's listing and says so.
  StatusOr<ModelInfo> distill = LookupKnownModel("DeepSeek-R1-Distill-Qwen-32B", "awq");
  ASSERT_TRUE(distill.ok());
  EXPECT_THAT(distill->provenance, HasSubstr("same architecture"));
}

TEST(KnownModelsTest, AwqKeepsEmbeddingsInBf16) {
  StatusOr<ModelInfo> m = LookupKnownModel("Qwen/Qwen2.5-Coder-32B-Instruct", "awq");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->token_embd_bytes, 152064ull * 5120 * 2);
  EXPECT_EQ(m->output_bytes, 152064ull * 5120 * 2);
  // Tied: one bf16 embedding, no lm_head.
  m = LookupKnownModel("Qwen/Qwen2.5-0.5B-Instruct", "gptq");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->token_embd_bytes, 151936ull * 896 * 2);
  EXPECT_EQ(m->output_bytes, 0u);
  EXPECT_THAT(m->provenance, HasSubstr("estimated"));
}

TEST(KnownModelsTest, AwqEstimateQuantizesOnlyTheLinearLayers) {
  // No published AWQ size for the 8B: embeddings and lm_head stay bf16, the rest is ~4.25 bpw.
  StatusOr<ModelInfo> m =
      LookupKnownModel("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", "awq");
  StatusOr<uint64_t> n =
      KnownModelParameterCount("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct");
  ASSERT_TRUE(m.ok() && n.ok());
  const double embd = 128256.0 * 4096;
  EXPECT_EQ(m->token_embd_bytes, static_cast<uint64_t>(embd * 2));
  EXPECT_EQ(m->output_bytes, static_cast<uint64_t>(embd * 2));
  const double rest = static_cast<double>(m->weights_bytes - m->token_embd_bytes - m->output_bytes);
  EXPECT_NEAR(rest, (static_cast<double>(*n) - 2 * embd) * 4.25 / 8, 0.01 * rest);
  EXPECT_THAT(m->provenance, HasSubstr("estimated"));
}

TEST(KnownModelsTest, GgufTokenEmbeddingTypes) {
  // Untied Q4_K_M: token_embd ~q4_K (4.5 bpw), output q6_K (6.5625 bpw).
  StatusOr<ModelInfo> m = LookupKnownModel("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "q4_k_m");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->token_embd_bytes, 32000ull * 2048 * 144 / 256);
  EXPECT_EQ(m->output_bytes, 32000ull * 2048 * 210 / 256);
  EXPECT_EQ(m->weights_dtype, "q4_K_M");
  EXPECT_THAT(m->provenance, HasSubstr("estimate"));
  // Tied: the embedding doubles as the output and gets the output's q6_K.
  m = LookupKnownModel("HuggingFaceTB/SmolLM2-135M-Instruct", "q4_k_m");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->token_embd_bytes, 49152ull * 576 * 210 / 256);
  EXPECT_EQ(m->output_bytes, 0u);
}

TEST(KnownModelsTest, Llama8BFamilyUsesLlamaCppTable) {
  struct Case {
    const char* quant;
    double gib;
  };
  for (const Case& c :
       {Case{"q4_k_m", 4.58}, Case{"q8_0", 7.95}, Case{"f16", 14.96}, Case{"bf16", 14.96},
        Case{"q4_k_s", 4.36}, Case{"q5_k_m", 5.33}, Case{"q6_k", 6.14}}) {
    StatusOr<ModelInfo> m =
        LookupKnownModel("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", c.quant);
    ASSERT_TRUE(m.ok()) << c.quant;
    EXPECT_EQ(m->weights_bytes, static_cast<uint64_t>(std::llround(c.gib * kGiB))) << c.quant;
    EXPECT_THAT(m->provenance, HasSubstr("tools/quantize/README.md")) << c.quant;
  }
}

TEST(KnownModelsTest, GraniteSizesPublishedOrEstimated) {
  StatusOr<ModelInfo> m = LookupKnownModel("ibm-granite/granite-3.0-8b-instruct", "q6_k");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->weights_bytes, 6700000000ull);
  m = LookupKnownModel("ibm-granite/granite-3.0-8b-instruct", "q5_k_s");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->weights_bytes, 5600000000ull);
  // No published q8_0: parameters x 8.5 bits.
  m = LookupKnownModel("ibm-granite/granite-3.0-8b-instruct", "q8_0");
  StatusOr<uint64_t> n = KnownModelParameterCount("ibm-granite/granite-3.0-8b-instruct");
  ASSERT_TRUE(m.ok() && n.ok());
  EXPECT_NEAR(static_cast<double>(m->weights_bytes), static_cast<double>(*n) * 8.5 / 8, 1.0);
  EXPECT_THAT(m->provenance, HasSubstr("estimated"));
  EXPECT_EQ(m->n_vocab, 49155u);
  EXPECT_EQ(m->layers[0].n_ff, 12800u);
}

TEST(KnownModelsTest, ContextNotesInProvenance) {
  StatusOr<ModelInfo> coder = LookupKnownModel("Qwen/Qwen2.5-Coder-32B-Instruct", "q4_k_m");
  ASSERT_TRUE(coder.ok());
  EXPECT_EQ(coder->n_ctx_train, 32768u);
  EXPECT_THAT(coder->provenance, HasSubstr("YaRN"));
  StatusOr<ModelInfo> ultra = LookupKnownModel("Llama-3.1-8B-UltraLong-4M-Instruct", "q8_0");
  ASSERT_TRUE(ultra.ok());
  EXPECT_EQ(ultra->n_ctx_train, 4194304u);
  EXPECT_THAT(ultra->provenance, HasSubstr("from the model card; exact config value not verified"));
}

TEST(KnownModelsTest, MllamaIsFlaggedForBothEngines) {
  StatusOr<ModelInfo> m = LookupKnownModel("Llama-3.2-11B-Vision-Instruct", "q4_k_m");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m->vllm_unsupported, HasSubstr("PR #24907"));
  EXPECT_THAT(m->llama_cpp_unsupported, HasSubstr("no mllama architecture in llama.cpp"));
  const std::vector<uint32_t> cross = {3, 8, 13, 18, 23, 28, 33, 38};
  for (uint32_t i = 0; i < m->n_layer; ++i) {
    const bool is_cross = std::find(cross.begin(), cross.end(), i) != cross.end();
    EXPECT_EQ(m->layers[i].has_kv, !is_cross) << i;
  }
  // Other models run on both.
  m = LookupKnownModel("TinyLlama-1.1B-Chat-v1.0", "q4_k_m");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->vllm_unsupported.empty());
  EXPECT_TRUE(m->llama_cpp_unsupported.empty());
}

TEST(KnownModelsTest, ApplyKnownEngineLimitsKeepsExistingReasons) {
  ModelInfo info;
  info.architecture = "mllama";
  info.vllm_unsupported = "already said";
  ApplyKnownEngineLimits(&info);
  EXPECT_EQ(info.vllm_unsupported, "already said");
  EXPECT_THAT(info.llama_cpp_unsupported, HasSubstr("llama-arch.cpp"));
  ModelInfo llama;
  llama.architecture = "llama";
  ApplyKnownEngineLimits(&llama);
  EXPECT_TRUE(llama.llama_cpp_unsupported.empty());
  EXPECT_TRUE(llama.vllm_unsupported.empty());
}

}  // namespace
}  // namespace cortex
