#include "plan/vllm_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/known_models.h"
#include "util/bytes.h"

namespace cortex {
namespace {

ModelInfo Qwen32BAwq() {
  auto m = LookupKnownModel("Qwen/Qwen2.5-Coder-32B-Instruct", "awq");
  EXPECT_TRUE(m.ok());
  return *m;
}

std::string Flag(const VllmPlan& plan, const std::string& name) {
  for (const auto& [k, v] : plan.server_flags) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(VllmPlanTest, APinnedPoolHoldsBlocksOfSixteenTokens) {
  VllmSettings s;
  s.max_model_len = 32768;
  s.kv_cache_memory_bytes = 8 * kGiB;
  auto plan = PlanVllm(Qwen32BAwq(), s, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  // 256 KiB per token at bf16; 16 tokens per block: 8 GiB hold 2048 blocks, 32,768 tokens.
  EXPECT_EQ(plan->kv_bytes_per_token, 262144u);
  EXPECT_EQ(plan->num_blocks, 2048u);
  EXPECT_EQ(plan->kv_tokens, 32768u);
  EXPECT_DOUBLE_EQ(plan->max_concurrency, 1.0);
  EXPECT_EQ(plan->memory.kv_bytes, 8 * kGiB);
  EXPECT_EQ(Flag(*plan, "kv-cache-memory-bytes"), std::to_string(8 * kGiB));
}

TEST(VllmPlanTest, WithoutFlagsTheRestOfTheBudgetBecomesThePool) {
  VllmSettings s;
  s.max_model_len = 16384;
  auto plan = PlanVllm(Qwen32BAwq(), s, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->requested_bytes, 40 * kGiB);
  EXPECT_LE(plan->memory.total_bytes(), 40 * kGiB);
  EXPECT_GT(plan->memory.total_bytes(), 40 * kGiB - 2 * 262144 * 16);  // only block rounding left
  // The utilization asks vLLM's startup check for the budget only: 40/110.
  EXPECT_EQ(Flag(*plan, "gpu-memory-utilization"), "0.363");
}

TEST(VllmPlanTest, AUtilizationIsAFractionOfTheWholePool) {
  VllmSettings s;
  s.max_model_len = 32768;
  s.gpu_memory_utilization = 0.45;
  auto plan = PlanVllm(Qwen32BAwq(), s, 44 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_NEAR(static_cast<double>(plan->requested_bytes) / kGiB, 49.5, 0.01);
}

TEST(VllmPlanTest, SaysWhenOneMaxModelLenRequestDoesNotFit) {
  VllmSettings s;
  s.max_model_len = 32768;
  auto plan = PlanVllm(Qwen32BAwq(), s, 22 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_LT(plan->kv_tokens, 32768u);
  EXPECT_TRUE(std::any_of(plan->notes.begin(), plan->notes.end(), [](const Note& n) {
    return n.severity == Severity::kError &&
           n.message.find("refuses to start") != std::string::npos;
  }));
}

TEST(VllmPlanTest, Fp8HalvesTheBytesPerToken) {
  VllmSettings s;
  s.max_model_len = 8192;
  s.kv_cache_dtype = "fp8";
  auto plan = PlanVllm(Qwen32BAwq(), s, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kv_bytes_per_token, 131072u);
  EXPECT_EQ(Flag(*plan, "kv-cache-dtype"), "fp8");
}

TEST(VllmPlanTest, RefusesMllama) {
  auto vision = LookupKnownModel("meta-llama/Llama-3.2-11B-Vision-Instruct", "bf16");
  ASSERT_TRUE(vision.ok());
  auto plan = PlanVllm(*vision, VllmSettings{}, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(plan.status().message().find("24907"), std::string::npos);
}

TEST(VllmPlanTest, LargeDevicesGetVllmsLargerBatchDefaults) {
  VllmSettings s;
  s.max_model_len = 8192;
  auto large = PlanVllm(Qwen32BAwq(), s, 40 * kGiB, 110 * kGiB, kGiB);
  auto small = PlanVllm(Qwen32BAwq(), s, 40 * kGiB, 48 * kGiB, kGiB);
  ASSERT_TRUE(large.ok() && small.ok());
  EXPECT_EQ(large->max_num_batched_tokens, 8192u);
  EXPECT_EQ(large->max_num_seqs, 1024u);
  EXPECT_EQ(small->max_num_batched_tokens, 2048u);
  EXPECT_EQ(small->max_num_seqs, 256u);
}

}  // namespace
}  // namespace cortex

namespace cortex {
namespace {

TEST(VllmPlanTest, AbsurdBatchSizesAreRefusedNotWrappedAround) {
  auto m = LookupKnownModel("Qwen/Qwen2.5-Coder-32B-Instruct", "awq");
  ASSERT_TRUE(m.ok());
  VllmSettings s;
  s.max_model_len = 8192;
  s.max_num_batched_tokens = 9007199254740992ull;  // 2^53: the product wraps to 0 unchecked
  auto plan = PlanVllm(*m, s, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("1 EiB"), std::string::npos);
}

TEST(VllmPlanTest, APinnedPoolLargerThanTheBudgetIsOverBudget) {
  auto m = LookupKnownModel("Qwen/Qwen2.5-Coder-32B-Instruct", "awq");
  ASSERT_TRUE(m.ok());
  VllmSettings s;
  s.max_model_len = 8192;
  s.kv_cache_memory_bytes = uint64_t{1} << 45;
  auto plan = PlanVllm(*m, s, 40 * kGiB, 110 * kGiB, kGiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_GT(plan->requested_bytes, 40 * kGiB);
  EXPECT_GT(plan->memory.total_bytes(), 40 * kGiB);
}

}  // namespace
}  // namespace cortex
