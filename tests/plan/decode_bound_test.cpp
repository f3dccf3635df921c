#include "plan/decode_bound.h"

#include <gtest/gtest.h>

#include "model/known_models.h"

namespace cortex {
namespace {

TEST(DecodeBoundTest, A32BFourBitModelIsBoundedNearElevenTokensPerSecondOnStrixHalo) {
  auto m = LookupKnownModel("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "q4_k_m");
  ASSERT_TRUE(m.ok());
  const double bound =
      DecodeTokensPerSecondBound(256'000'000'000ull, 0.8, ActiveWeightBytesPerToken(*m));
  EXPECT_GT(bound, 9.0);
  EXPECT_LT(bound, 12.0);  // the seed wants 30-50
}

TEST(DecodeBoundTest, UntiedEmbeddingsAreGatheredTiedOnesAreReadWhole) {
  ModelInfo m;
  m.n_vocab = 1000;
  m.weights_bytes = 10'000;
  m.token_embd_bytes = 4'000;
  m.output_bytes = 4'000;
  EXPECT_EQ(ActiveWeightBytesPerToken(m), 6'000u + 4u);
  m.output_bytes = 0;
  EXPECT_EQ(ActiveWeightBytesPerToken(m), 10'000u);
}

TEST(DecodeBoundTest, OnlyTheExpertsATokenUsesAreRead) {
  ModelInfo m;
  m.weights_bytes = 100'000;
  m.expert_bytes = 80'000;
  m.n_expert = 8;
  m.n_expert_used = 2;
  EXPECT_EQ(ActiveWeightBytesPerToken(m), 100'000u - 60'000u);
}

TEST(DecodeBoundTest, ZeroBytesMeansNoBound) {
  EXPECT_EQ(DecodeTokensPerSecondBound(1, 1, 0), 0);
}

}  // namespace
}  // namespace cortex
