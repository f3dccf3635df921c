#include "plan/kv_cache.h"

#include <gtest/gtest.h>

#include "model/known_models.h"

namespace cortex {
namespace {

ModelInfo Known(const char* repo) {
  auto m = LookupKnownModel(repo, "q4_k_m");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

// A uniform attention model: `layers` layers of `kv_heads` KV heads of `head_dim`.
ModelInfo Uniform(uint32_t layers, uint32_t heads, uint32_t kv_heads, uint32_t head_dim) {
  ModelInfo m;
  m.architecture = "llama";
  m.n_layer = layers;
  m.n_embd = heads * head_dim;
  m.n_ctx_train = 8192;
  for (uint32_t i = 0; i < layers; ++i) {
    LayerInfo l;
    l.n_head = heads;
    l.n_head_kv = kv_heads;
    l.head_dim_k = l.head_dim_v = head_dim;
    m.layers.push_back(l);
  }
  return m;
}

uint64_t BytesPerToken(const ModelInfo& m, GgmlType k, GgmlType v) {
  KvCacheParams p;
  p.n_ctx = 256;
  p.type_k = k;
  p.type_v = v;
  auto kv = LlamaCppKvCache(m, p);
  EXPECT_TRUE(kv.ok()) << kv.status().ToString();
  return kv->bytes_per_cell;
}

// Research note A-memory.md section 5, "KV bytes per token".
TEST(KvCacheTest, BytesPerTokenMatchTheResearchTableForLlama31And32BQwen) {
  const ModelInfo llama = Known("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct");
  EXPECT_EQ(BytesPerToken(llama, GgmlType::kF16, GgmlType::kF16), 131072u);
  EXPECT_EQ(BytesPerToken(llama, GgmlType::kQ8_0, GgmlType::kF16), 100352u);
  EXPECT_EQ(BytesPerToken(llama, GgmlType::kQ8_0, GgmlType::kQ8_0), 69632u);
  EXPECT_EQ(BytesPerToken(llama, GgmlType::kQ4_0, GgmlType::kQ4_0), 36864u);
  const ModelInfo qwen = Known("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B");
  EXPECT_EQ(BytesPerToken(qwen, GgmlType::kF16, GgmlType::kF16), 262144u);
  EXPECT_EQ(BytesPerToken(qwen, GgmlType::kQ8_0, GgmlType::kF16), 200704u);
  EXPECT_EQ(BytesPerToken(qwen, GgmlType::kQ8_0, GgmlType::kQ8_0), 139264u);
  EXPECT_EQ(BytesPerToken(qwen, GgmlType::kQ4_0, GgmlType::kQ4_0), 73728u);
  // q5_1 stores 32 elements in 24 bytes.
  EXPECT_EQ(BytesPerToken(llama, GgmlType::kQ5_1, GgmlType::kQ5_1), 32u * 2 * 1024 / 32 * 24);
}

TEST(KvCacheTest, FourMillionTokensAtQ8KAndF16VNeed374GiB) {
  KvCacheParams p;
  p.n_ctx = 4000000;
  p.type_k = GgmlType::kQ8_0;
  p.type_v = GgmlType::kF16;
  auto kv = LlamaCppKvCache(Known("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct"), p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->n_ctx, 4000000u);  // already a multiple of 256
  EXPECT_EQ(kv->kv_bytes(), 4000000ull * 100352);
  EXPECT_NEAR(static_cast<double>(kv->kv_bytes()) / (1ull << 30), 373.84, 0.01);
}

struct PaddingCase {
  uint32_t ctx;
  uint32_t n_seq;
  bool unified;
  uint32_t want_n_ctx;
  uint32_t want_n_ctx_seq;
};

class KvCachePaddingTest : public ::testing::TestWithParam<PaddingCase> {};

// llama_context pads the context to 256 and, without --kv-unified, each slot's stream to 256.
TEST_P(KvCachePaddingTest, PadsContextLikeLlamaContext) {
  const PaddingCase& c = GetParam();
  KvCacheParams p;
  p.n_ctx = c.ctx;
  p.n_seq = c.n_seq;
  p.unified = c.unified;
  auto kv = LlamaCppKvCache(Uniform(2, 4, 2, 64), p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->n_ctx, c.want_n_ctx);
  EXPECT_EQ(kv->n_ctx_seq, c.want_n_ctx_seq);
  EXPECT_EQ(kv->n_stream, c.unified ? 1u : c.n_seq);
  // Every cell of every stream costs the same.
  EXPECT_EQ(kv->kv_bytes(), uint64_t{kv->n_ctx} * kv->bytes_per_cell);
}

INSTANTIATE_TEST_SUITE_P(ResearchExamples, KvCachePaddingTest,
                         ::testing::Values(PaddingCase{10000, 1, false, 10240, 10240},
                                           PaddingCase{32768, 3, false, 33024, 11008},
                                           PaddingCase{32768, 4, false, 32768, 8192},
                                           PaddingCase{100000, 4, true, 100096, 100096},
                                           PaddingCase{1000, 3, false, 1536,
                                                       512},  // logged by llama-server
                                           PaddingCase{5000, 3, true, 5120, 5120}));

TEST(KvCacheTest, RefusesQuantizedCacheWhoseBlockDoesNotDivideTheHeadDimension) {
  KvCacheParams p;
  p.n_ctx = 1024;
  p.type_k = GgmlType::kQ4_0;
  auto kv = LlamaCppKvCache(Uniform(2, 4, 2, 80), p);
  ASSERT_FALSE(kv.ok());
  EXPECT_NE(kv.status().message().find("head dimension 80"), std::string::npos);
}

TEST(KvCacheTest, RefusesSlotCountsLlamaCppRejects) {
  KvCacheParams p;
  p.n_ctx = 1024;
  p.n_seq = 0;
  EXPECT_FALSE(LlamaCppKvCache(Uniform(2, 4, 2, 64), p).ok());
  p.n_seq = 257;
  EXPECT_FALSE(LlamaCppKvCache(Uniform(2, 4, 2, 64), p).ok());
}

TEST(KvCacheTest, ContextZeroMeansTheTrainingContext) {
  KvCacheParams p;
  p.n_ctx = 0;
  auto kv = LlamaCppKvCache(Uniform(2, 4, 2, 64), p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->n_ctx, 8192u);
}

TEST(KvCacheTest, SlidingWindowLayersHoldTheWindowPlusAMicroBatch) {
  ModelInfo m = Uniform(6, 4, 2, 64);
  m.n_swa = 4096;
  for (int i = 0; i < 5; ++i)
    m.layers[i].is_swa = true;  // Gemma 3: 5 of 6 layers slide
  KvCacheParams p;
  p.n_ctx = 32768;
  p.n_ubatch = 512;
  auto kv = LlamaCppKvCache(m, p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->n_swa_cells, 4608u);  // pad(4096 + 512, 256)
  EXPECT_EQ(kv->n_layers_swa, 5u);
  EXPECT_EQ(kv->n_layers_full, 1u);
  const uint64_t per_cell_layer = 2 * 2 * 64 * 2;  // K+V, 2 heads of 64, f16
  EXPECT_EQ(kv->kv_bytes(), per_cell_layer * (32768 + 5 * 4608));
  // --swa-full gives sliding layers the whole context.
  p.swa_full = true;
  auto full = LlamaCppKvCache(m, p);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->kv_bytes(), per_cell_layer * 32768 * 6);
}

TEST(KvCacheTest, WithoutFlashAttentionVIsPaddedToTheWidestLayer) {
  ModelInfo m = Uniform(2, 4, 2, 64);
  m.layers[1].n_head_kv = 4;
  KvCacheParams p;
  p.n_ctx = 256;
  p.flash_attn = false;
  auto kv = LlamaCppKvCache(m, p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->v_bytes, 256ull * 2 * (4 * 64) * 2);
  p.flash_attn = true;
  auto fa = LlamaCppKvCache(m, p);
  ASSERT_TRUE(fa.ok());
  EXPECT_EQ(fa->v_bytes, 256ull * (2 * 64 + 4 * 64) * 2);
}

TEST(KvCacheTest, RecurrentLayersKeepAFixedF32StatePerSlot) {
  ModelInfo m = Uniform(2, 4, 2, 64);
  m.layers[0].is_recurrent = true;
  m.layers[0].has_kv = false;
  m.recurrent_state_elements = 1000;
  KvCacheParams p;
  p.n_ctx = 4096;
  p.n_seq = 3;
  auto kv = LlamaCppKvCache(m, p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->recurrent_bytes, 1000u * 4 * 3);
  EXPECT_EQ(kv->n_layers_full, 1u);
}

TEST(KvCacheTest, MlaModelsKeepOnlyK) {
  ModelInfo m = Uniform(2, 16, 1, 576);
  m.is_mla = true;
  KvCacheParams p;
  p.n_ctx = 256;
  auto kv = LlamaCppKvCache(m, p);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->v_bytes, 0u);
  EXPECT_EQ(kv->k_bytes, 256ull * 2 * 576 * 2);
}

}  // namespace
}  // namespace cortex
