#include "ingest/job_plan.h"

#include <gtest/gtest.h>

namespace cortex::ingest {
namespace {

LaneTarget Lane(const std::string& name, uint64_t ctx, uint64_t burst_ctx = 0) {
  LaneTarget t;
  t.lane = name;
  t.engine = name + "-engine";
  t.ctx = ctx;
  t.burst_ctx = burst_ctx;
  t.burst_profile = burst_ctx > 0 ? "burst" : "";
  return t;
}

std::vector<LaneTarget> Lanes() {
  return {Lane("coder", 32768), Lane("fast", 8192), Lane("reader", 65536, 524288)};
}

JobPlanInput Input(uint64_t packed, const std::string& strategy = "auto") {
  JobPlanInput in;
  in.packed_tokens = packed;
  in.instruction_tokens = 200;
  in.max_tokens = 1000;
  in.strategy = strategy;
  return in;
}

TEST(RouteLaneTest, SmallestLaneWhoseNormalContextHoldsThePrompt) {
  IngestConfig ic;
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1000, 5000, 1000, true), 1);   // fast, 8K
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1000, 20000, 1000, true), 0);  // coder, 32K
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1000, 60000, 1000, true), 2);  // reader, 64K
}

TEST(RouteLaneTest, BurstContextOnlyWhenNoNormalContextHoldsIt) {
  IngestConfig ic;
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1000, 300000, 1000, true), 2);
  // Fits nowhere: the lane with the largest context, which can take it in parts.
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1000, 900000, 1000, true), 2);
}

TEST(RouteLaneTest, UploadsOverTheDeepThresholdGoToTheDeepLane) {
  IngestConfig ic;
  ic.deep_threshold_bytes = 50'000'000;
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 60'000'000, 100, 1000, true), 2);
  ic.deep_lane = "coder";
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 60'000'000, 100, 1000, true), 0);
}

TEST(RouteLaneTest, NamedLaneWinsAndUnknownNameIsMinusOne) {
  IngestConfig ic;
  EXPECT_EQ(RouteLane(Lanes(), ic, "coder", 1, 900000, 1000, true), 0);
  EXPECT_EQ(RouteLane(Lanes(), ic, "nope", 1, 1, 1000, true), -1);
  ic.lane = "fast";
  EXPECT_EQ(RouteLane(Lanes(), ic, "", 1, 900000, 1000, true), 1);
}

TEST(PlanJobTest, WholePromptThatFitsNormallyNeedsNoBurst) {
  IngestConfig ic;
  const JobPlan p = PlanJob(Lane("reader", 65536, 524288), ic, Input(30000));
  ASSERT_TRUE(p.ok) << p.error_message;
  EXPECT_EQ(p.strategy, "whole");
  EXPECT_FALSE(p.needs_burst);
  EXPECT_EQ(p.context, 65536u);
}

TEST(PlanJobTest, WholePromptThatOnlyTheBurstProfileHoldsNeedsBurst) {
  IngestConfig ic;
  const JobPlan p = PlanJob(Lane("reader", 65536, 524288), ic, Input(300000));
  ASSERT_TRUE(p.ok) << p.error_message;
  EXPECT_EQ(p.strategy, "whole");
  EXPECT_TRUE(p.needs_burst);
  EXPECT_EQ(p.context, 524288u);
}

TEST(PlanJobTest, AutoSplitsWhenThePrefillWouldTakeTooLong) {
  IngestConfig ic;
  ic.max_whole_time_s = 3600;
  JobPlanInput in = Input(300000);
  // Quadratic in the prompt, as prefill at depth is: 300K tokens take hours.
  in.prefill_seconds = [](uint64_t n) { return 1e-7 * double(n) * double(n); };
  const JobPlan p = PlanJob(Lane("reader", 65536, 524288), ic, in);
  ASSERT_TRUE(p.ok) << p.error_message;
  EXPECT_EQ(p.strategy, "split");
  EXPECT_FALSE(p.needs_burst);
  EXPECT_EQ(p.part_budget, 65536u - 200 - 256 - 1000);
  ASSERT_TRUE(p.estimate_s.has_value());
  EXPECT_LT(*p.estimate_s, 1e-7 * 300200.0 * 300200.0);
  EXPECT_NE(p.why.find("max_whole_time"), std::string::npos) << p.why;
}

TEST(PlanJobTest, WholeThatFitsNowhereFailsAtOnceWithTheArithmetic) {
  IngestConfig ic;
  const JobPlan p = PlanJob(Lane("reader", 65536, 524288), ic, Input(900000, "whole"));
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error_code, "context_exceeded");
  EXPECT_NE(p.error_message.find("900200"), std::string::npos) << p.error_message;
  EXPECT_NE(p.error_message.find("524288"), std::string::npos) << p.error_message;
}

TEST(PlanJobTest, BurstNotAllowedMeansSplitInAuto) {
  IngestConfig ic;
  JobPlanInput in = Input(300000);
  in.burst_allowed = false;
  const JobPlan p = PlanJob(Lane("reader", 65536, 524288), ic, in);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.strategy, "split");
}

TEST(PlanJobTest, PartsTooSmallForTheAnalysisAreRefused) {
  IngestConfig ic;
  const JobPlan p = PlanJob(Lane("tiny", 1500), ic, Input(100000, "split"));
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error_code, "split_impossible");
}

TEST(PlanJobTest, ManyPartsShrinkEachPartialAnalysisToFitTheFinalPass) {
  IngestConfig ic;
  JobPlanInput in = Input(5'000'000, "split");
  const JobPlan p = PlanJob(Lane("reader", 65536), ic, in);
  ASSERT_TRUE(p.ok) << p.error_message;
  const uint64_t parts = (5'000'000 + p.part_budget - 1) / p.part_budget;
  EXPECT_LE(parts * p.part_max_tokens + 200 + 256 + 1000, 65536u);
  EXPECT_LT(p.part_max_tokens, 1000u);
}

TEST(SplitPackedTest, WholeFilesInOrderWithinTheBudget) {
  std::vector<PackedFile> files = {{"a", 100, 400}, {"b", 500, 400}, {"c", 900, 400}};
  // 0.25 tokens per byte, 250 tokens = 1000 bytes per part: a+b, then c.
  const auto parts = SplitPacked(files, 0.25, 250);
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_EQ(parts[0].ranges.size(), 1u);  // neighbours merged into one range
  EXPECT_EQ(parts[0].ranges[0].offset, 100u);
  EXPECT_EQ(parts[0].ranges[0].length, 800u);
  EXPECT_EQ(parts[1].ranges[0].offset, 900u);
}

TEST(SplitPackedTest, AFileLargerThanAPartIsCutIntoPartsOfItsOwn) {
  std::vector<PackedFile> files = {{"a", 0, 100}, {"huge", 100, 2500}, {"b", 2600, 100}};
  const auto parts = SplitPacked(files, 1.0, 1000);
  ASSERT_EQ(parts.size(), 5u);  // a | huge 1000 | huge 1000 | huge 500 | b
  EXPECT_EQ(parts[1].ranges[0].offset, 100u);
  EXPECT_EQ(parts[3].ranges[0].length, 500u);
  uint64_t total = 0;
  for (const auto& p : parts)
    total += p.bytes;
  EXPECT_EQ(total, 2700u);
}

}  // namespace
}  // namespace cortex::ingest
