// Compute buffers against figures llama-server printed (llama.cpp d32676d7, CPU backend,
// `-lv 4 --fit off`, synthetic llama models written by tests/support): "sched_reserve: CPU
// compute buffer size = X MiB", two decimals. The opt-in integration test checks the same
// against a live llama-server; these rows keep the model honest when none is at hand.
#include "plan/compute_buffer.h"

#include <gtest/gtest.h>

#include "plan/kv_cache.h"

namespace cortex {
namespace {

// The "mB" shape: 4 layers, n_embd 512, 8 heads of 64, 2 KV heads, n_ff 1408, vocab 1959.
ModelInfo ShapeB(uint32_t n_embd = 512, uint32_t heads = 8, uint32_t kv_heads = 2,
                 uint32_t head_dim = 64, uint32_t n_ff = 1408) {
  ModelInfo m;
  m.architecture = "llama";
  m.n_layer = 4;
  m.n_embd = n_embd;
  m.n_vocab = 1959;
  m.n_ctx_train = 8192;
  for (int i = 0; i < 4; ++i) {
    LayerInfo l;
    l.n_head = heads;
    l.n_head_kv = kv_heads;
    l.head_dim_k = l.head_dim_v = head_dim;
    l.n_ff = n_ff;
    m.layers.push_back(l);
  }
  return m;
}

struct Row {
  uint32_t ctx;
  uint32_t np;
  bool unified;
  bool fa;
  uint32_t ubatch;
  GgmlType k;
  GgmlType v;
  double logged_mib;
};

double PlannedMib(const ModelInfo& m, const Row& r) {
  KvCacheParams kp;
  kp.n_ctx = r.ctx;
  kp.n_seq = r.np;
  kp.unified = r.unified;
  kp.type_k = r.k;
  kp.type_v = r.v;
  kp.flash_attn = r.fa;
  auto kv = LlamaCppKvCache(m, kp);
  EXPECT_TRUE(kv.ok());
  ComputeBufferParams p;
  p.n_ctx_seq = kv->n_ctx_seq;
  p.n_seq = r.np;
  p.unified = r.unified;
  p.n_ubatch = std::min({r.ctx, 2048u, r.ubatch});
  p.n_outputs_max = r.np;
  p.flash_attn = r.fa;
  p.type_k = r.k;
  p.type_v = r.v;
  return static_cast<double>(LlamaCppComputeBuffer(m, p).device_bytes) / (1 << 20);
}

class ComputeBufferLogTest : public ::testing::TestWithParam<Row> {};

TEST_P(ComputeBufferLogTest, MatchesTheBufferLlamaServerReserved) {
  const Row& r = GetParam();
  EXPECT_NEAR(PlannedMib(ShapeB(), r), r.logged_mib, 0.0051);
}

constexpr GgmlType F16 = GgmlType::kF16;
constexpr GgmlType Q8 = GgmlType::kQ8_0;
constexpr GgmlType Q4 = GgmlType::kQ4_0;

INSTANTIATE_TEST_SUITE_P(LoggedByLlamaServer, ComputeBufferLogTest,
                         ::testing::Values(Row{1000, 1, false, true, 128, F16, F16, 3.32},
                                           Row{1000, 1, false, true, 128, Q8, Q8, 3.10},
                                           Row{1000, 1, false, true, 512, F16, F16, 13.26},
                                           Row{1000, 1, false, true, 512, Q8, Q8, 12.29},
                                           Row{1000, 1, false, true, 512, Q4, F16, 13.28},
                                           Row{1000, 1, false, false, 128, F16, F16, 5.88},
                                           Row{1000, 1, false, false, 512, Q4, F16, 22.52},
                                           Row{1000, 3, false, true, 512, F16, F16, 12.79},
                                           Row{1000, 3, false, false, 128, F16, F16, 3.66},
                                           Row{1000, 3, false, false, 512, Q4, F16, 13.55},
                                           Row{1000, 3, true, true, 128, Q8, Q8, 3.12},
                                           Row{1000, 3, true, false, 512, F16, F16, 23.55},
                                           Row{5000, 1, false, true, 512, F16, F16, 17.26},
                                           Row{5000, 1, true, false, 512, F16, F16, 95.51},
                                           Row{5000, 1, false, false, 128, Q4, F16, 23.64},
                                           Row{5000, 3, false, true, 128, Q8, Q8, 3.31},
                                           Row{5000, 3, false, true, 512, Q4, F16, 14.05},
                                           Row{5000, 3, false, false, 512, F16, F16, 37.08}));

// Other shapes, each differing from B in one dimension (1024-token context, one slot, ub 512).
TEST(ComputeBufferTest, FollowsEachShapeDimensionAsLlamaServerDid) {
  const Row fa_on{1000, 1, false, true, 512, F16, F16, 0};
  const Row fa_off{1000, 1, false, false, 512, F16, F16, 0};
  EXPECT_NEAR(PlannedMib(ShapeB(1024, 16), fa_on), 15.26, 0.0051);  // wider embedding
  EXPECT_NEAR(PlannedMib(ShapeB(1024, 16), fa_off), 44.51, 0.0051);
  EXPECT_NEAR(PlannedMib(ShapeB(512, 8, 2, 64, 2816), fa_on), 21.51, 0.0051);  // wider FFN
  EXPECT_NEAR(PlannedMib(ShapeB(512, 4, 4, 128), fa_off), 17.01, 0.0051);      // head 128
  EXPECT_NEAR(PlannedMib(ShapeB(512, 8, 2, 128), fa_off), 26.01, 0.0051);      // q wider than E
}

TEST(ComputeBufferTest, WithoutFlashAttentionTheKqMatrixGrowsWithContextTimesHeads) {
  const ModelInfo m = ShapeB();
  const double small = PlannedMib(m, {1024, 1, true, false, 512, F16, F16, 0});
  const double large = PlannedMib(m, {8192, 1, true, false, 512, F16, F16, 0});
  // 7168 more cells: KQ (8 heads) and the f32 mask, 4 bytes each, for 512 tokens.
  EXPECT_NEAR(large - small, 7168.0 * 512 * (8 * 4 + 4) / (1 << 20), 0.01);
}

TEST(ComputeBufferTest, AGpuBackendAlsoNeedsAHostBufferForInputsAndEmbeddings) {
  ComputeBufferParams p;
  p.n_ctx_seq = 4096;
  p.n_ubatch = 512;
  p.gpu = true;
  const ComputeBufferSize size = LlamaCppComputeBuffer(ShapeB(), p);
  EXPECT_GT(size.host_bytes, 512u * 512 * 4);
  EXPECT_GT(size.device_bytes, 0u);
}

}  // namespace
}  // namespace cortex
