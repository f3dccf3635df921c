#include "plan/llama_cpp_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/known_models.h"
#include "util/bytes.h"

namespace cortex {
namespace {

ModelInfo Llama8B() {
  auto m = LookupKnownModel("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", "q4_k_m");
  EXPECT_TRUE(m.ok());
  return *m;
}

bool HasNote(const LlamaCppPlan& plan, const std::string& text) {
  return std::any_of(plan.notes.begin(), plan.notes.end(),
                     [&](const Note& n) { return n.message.find(text) != std::string::npos; });
}

std::string Flag(const LlamaCppPlan& plan, const std::string& name) {
  for (const auto& [k, v] : plan.server_flags) {
    if (k == name) return v.empty() ? "<set>" : v;
  }
  return "<absent>";
}

TEST(LlamaCppPlanTest, ContextZeroMeansTheTrainingContext) {
  LlamaCppSettings s;
  s.parallel = 1;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kv.n_ctx, 4194304u);
  EXPECT_TRUE(HasNote(*plan, "training context"));
}

TEST(LlamaCppPlanTest, AutomaticParallelMeansFourSlotsSharingAUnifiedCache) {
  LlamaCppSettings s;
  s.ctx_size = 32768;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->n_seq, 4u);
  EXPECT_TRUE(plan->unified);
  EXPECT_EQ(plan->kv.n_ctx, 32768u);
  EXPECT_EQ(Flag(*plan, "parallel"), "4");
  EXPECT_EQ(Flag(*plan, "kv-unified"), "<set>");
}

TEST(LlamaCppPlanTest, ExplicitParallelLeavesTheCacheSplitPerSlot) {
  LlamaCppSettings s;
  s.ctx_size = 32768;
  s.parallel = 3;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->unified);
  EXPECT_EQ(plan->kv.n_ctx_seq, 11008u);
  EXPECT_EQ(plan->ctx_per_slot(Llama8B()), 11008u);
  EXPECT_EQ(Flag(*plan, "no-kv-unified"), "<set>");
}

TEST(LlamaCppPlanTest, RefusesQuantizedVWithFlashAttentionOff) {
  LlamaCppSettings s;
  s.ctx_size = 4096;
  s.cache_type_v = GgmlType::kQ8_0;
  s.flash_attn = FlashAttnMode::kOff;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("needs flash attention"), std::string::npos);
}

TEST(LlamaCppPlanTest, FlashAttentionAutoIsEnabledForAQuantizedV) {
  LlamaCppSettings s;
  s.ctx_size = 4096;
  s.cache_type_v = GgmlType::kQ8_0;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->flash_attn);
  EXPECT_EQ(Flag(*plan, "flash-attn"), "on");
  EXPECT_TRUE(HasNote(*plan, "quantized V"));
}

TEST(LlamaCppPlanTest, BatchIsClampedToTheRequestedContextBeforePadding) {
  LlamaCppSettings s;
  s.ctx_size = 300;
  s.parallel = 1;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->n_batch, 300u);
  EXPECT_EQ(plan->n_ubatch, 300u);
  EXPECT_EQ(plan->kv.n_ctx, 512u);
}

TEST(LlamaCppPlanTest, OutputBufferHoldsOneRowOfLogitsPerSlot) {
  LlamaCppSettings s;
  s.ctx_size = 8192;
  s.parallel = 3;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->memory.output_bytes, 128256ull * 3 * 4);
}

TEST(LlamaCppPlanTest, PromptCacheCountsAsOverheadAndDefaultsToEightGiB) {
  LlamaCppSettings s;
  s.ctx_size = 8192;
  s.parallel = 1;
  auto plan = PlanLlamaCpp(Llama8B(), s, 512 * kMiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->memory.overhead_bytes, 8 * kGiB + 512 * kMiB);
  s.cache_ram_mib = 0;
  plan = PlanLlamaCpp(Llama8B(), s, 512 * kMiB);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->memory.overhead_bytes, 512 * kMiB);
  EXPECT_EQ(Flag(*plan, "cache-ram"), "0");
}

TEST(LlamaCppPlanTest, PassesEveryMemoryFlagExplicitlyWithFitOff) {
  LlamaCppSettings s;
  s.ctx_size = 10000;
  s.parallel = 1;
  auto plan = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Flag(*plan, "fit"), "off");
  EXPECT_EQ(Flag(*plan, "ctx-size"), "10000");  // as requested; llama.cpp pads it itself
  EXPECT_EQ(Flag(*plan, "cache-type-k"), "f16");
  EXPECT_EQ(Flag(*plan, "ubatch-size"), "512");
  EXPECT_EQ(Flag(*plan, "n-gpu-layers"), "33");  // all 32 blocks and the output layer
}

TEST(LlamaCppPlanTest, UnoffloadedLayersStayOutOfDeviceMemory) {
  LlamaCppSettings s;
  s.ctx_size = 8192;
  s.parallel = 1;
  s.cache_ram_mib = 0;
  s.n_gpu_layers = 0;
  auto cpu = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->memory.device_bytes, 0u);
  s.n_gpu_layers = -2;
  auto gpu = PlanLlamaCpp(Llama8B(), s, 0);
  ASSERT_TRUE(gpu.ok());
  // Everything but the token embeddings and the host-side buffers.
  EXPECT_GT(gpu->memory.device_bytes, gpu->memory.weights_bytes - Llama8B().token_embd_bytes);
}

TEST(LlamaCppPlanTest, MaxContextIsTheLargestThatFitsTheBudget) {
  LlamaCppSettings s;
  s.parallel = 1;
  s.cache_type_k = GgmlType::kQ8_0;
  s.flash_attn = FlashAttnMode::kOn;
  s.cache_ram_mib = 0;
  const uint64_t budget = 64 * kGiB;
  const uint64_t max = MaxLlamaCppContext(Llama8B(), s, 512 * kMiB, budget);
  ASSERT_GT(max, 0u);
  EXPECT_EQ(max % 256, 0u);
  s.ctx_size = static_cast<int64_t>(max);
  auto at_max = PlanLlamaCpp(Llama8B(), s, 512 * kMiB);
  ASSERT_TRUE(at_max.ok());
  EXPECT_LE(at_max->memory.total_bytes(), budget);
  s.ctx_size = static_cast<int64_t>(max + 256);
  auto above = PlanLlamaCpp(Llama8B(), s, 512 * kMiB);
  ASSERT_TRUE(above.ok());
  EXPECT_GT(above->memory.total_bytes(), budget);
  // About 600,000 tokens at ~98 KiB each: the seed's "4M context in ~58 GB" is off by 6x.
  EXPECT_GT(max, 550000u);
  EXPECT_LT(max, 650000u);
}

TEST(LlamaCppPlanTest, MaxContextIsZeroWhenTheWeightsAloneDoNotFit) {
  LlamaCppSettings s;
  s.parallel = 1;
  EXPECT_EQ(MaxLlamaCppContext(Llama8B(), s, 0, 2 * kGiB), 0u);
}

TEST(LlamaCppPlanTest, RefusesModelsLlamaCppCannotLoad) {
  auto vision = LookupKnownModel("meta-llama/Llama-3.2-11B-Vision-Instruct", "q4_k_m");
  ASSERT_TRUE(vision.ok());
  LlamaCppSettings s;
  s.ctx_size = 4096;
  auto plan = PlanLlamaCpp(*vision, s, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Status::Code::kUnsupported);
}

}  // namespace
}  // namespace cortex

namespace cortex {
namespace {

TEST(LlamaCppPlanTest, RecurrentModelsArePlannedWithoutAttention) {
  ModelInfo m;
  m.architecture = "mamba";
  m.n_layer = 2;
  m.n_embd = 256;
  m.n_vocab = 1000;
  m.n_ctx_train = 1 << 20;
  m.recurrent_state_elements = 3 * 512 + 16 * 512;
  for (int i = 0; i < 2; ++i) {
    LayerInfo l;
    l.is_recurrent = true;
    l.has_kv = false;
    m.layers.push_back(l);
  }
  LlamaCppSettings s;
  s.ctx_size = 4096;
  s.parallel = 2;
  s.cache_type_k = GgmlType::kQ8_0;  // would rotate an attention cache
  auto plan = PlanLlamaCpp(m, s, 0);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->memory.kv_bytes, 2u * (3 * 512 + 16 * 512) * 4 * 2);
  // Each layer's state sits on its layer's device.
  EXPECT_GE(plan->memory.device_bytes, plan->memory.kv_bytes);
}

TEST(LlamaCppPlanTest, AbsurdSizesAreRefusedNotWrappedAround) {
  ModelInfo m;
  m.architecture = "llama";
  m.n_layer = 1;
  m.n_embd = 1 << 20;
  m.n_vocab = 1000;
  m.n_ctx_train = 0;
  LayerInfo l;
  l.n_head = 1 << 20;
  l.n_head_kv = 1 << 20;
  l.head_dim_k = l.head_dim_v = 1 << 16;
  l.n_ff = 1 << 20;
  m.layers.push_back(l);
  LlamaCppSettings s;
  s.ctx_size = 4294967040;
  s.parallel = 1;
  s.ubatch_size = 1 << 20;
  s.batch_size = 1 << 20;
  s.flash_attn = FlashAttnMode::kOff;
  auto plan = PlanLlamaCpp(m, s, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("1 EiB"), std::string::npos) << plan.status().message();
}

}  // namespace
}  // namespace cortex
