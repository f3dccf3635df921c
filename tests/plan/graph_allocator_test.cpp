#include "plan/graph_allocator.h"

#include <gtest/gtest.h>

namespace cortex {
namespace {

TEST(GraphAllocatorTest, InPlaceOpsReuseTheirSourceWhenItHasNoOtherConsumer) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 100);
  const auto a = g.AddOp("a", 1000, {in});
  const auto b = g.AddOp("b", 1000, {a}, {a});  // in place on a
  const auto c = g.AddOp("c", 1000, {b}, {b});
  g.MarkOutput(c);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 1100u);
}

TEST(GraphAllocatorTest, ASourceWithTwoConsumersIsNotOverwritten) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 100);
  const auto a = g.AddOp("a", 1000, {in});
  const auto b = g.AddOp("b", 1000, {a}, {a});  // a is still needed by c
  const auto c = g.AddOp("c", 1000, {a, b}, {a, b});
  g.MarkOutput(c);
  // a and b both live when c is placed; c then reuses b's memory (b's last consumer).
  EXPECT_EQ(PlanGraphBuffer(g, 1), 100u + 2000u);
}

TEST(GraphAllocatorTest, OpsOnViewsNeverWorkInPlace) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 100);
  const auto a = g.AddOp("a", 1000, {in});
  const auto view = g.AddView("a_reshaped", a);
  const auto rope = g.AddOp("rope", 1000, {view}, {view});
  g.MarkOutput(rope);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 2100u);
}

TEST(GraphAllocatorTest, AViewKeepsItsSourceAliveUntilTheViewsLastConsumer) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 10);
  const auto a = g.AddOp("a", 1000, {in});
  const auto view = g.AddView("a_view", a);
  const auto b = g.AddOp("b", 500, {in});
  const auto c = g.AddOp("c", 200, {view, b});
  const auto d = g.AddOp("d", 1000, {c});  // a is free by now: d fits in its block
  g.MarkOutput(d);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 10u + 1000u + 500u + 200u);
}

TEST(GraphAllocatorTest, FreedBlocksAreReusedByBestFit) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 10);
  const auto big = g.AddOp("big", 1000, {in});
  const auto small = g.AddOp("small", 300, {in});
  const auto keep = g.AddOp("keep", 50, {big, small});  // frees big and small
  const auto x = g.AddOp("x", 250, {keep});             // best fit: small's block
  const auto y = g.AddOp("y", 900, {keep, x});          // fits in big's block
  g.MarkOutput(y);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 10u + 1000u + 300u + 50u);
}

TEST(GraphAllocatorTest, InputsNothingReadsStayAllocated) {
  ComputeGraph g;
  const auto tokens = g.AddInput("tokens", 10);
  g.AddInput("unused_embd", 4000);
  const auto a = g.AddOp("a", 1000, {tokens});
  g.MarkOutput(a);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 5010u);
}

TEST(GraphAllocatorTest, SizesAreRoundedToTheAlignment) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 1);
  const auto a = g.AddOp("a", 33, {in});
  g.MarkOutput(a);
  EXPECT_EQ(PlanGraphBuffer(g, 32), 32u + 64u);
}

TEST(GraphAllocatorTest, SinksTakeNoMemoryButReleaseTheirSources) {
  ComputeGraph g;
  const auto in = g.AddInput("in", 10);
  const auto cache = g.AddExternal("cache");
  const auto k = g.AddOp("k", 100, {in});
  g.AddSink("store_k", {g.AddView("k_view", k), cache});
  const auto next = g.AddOp("next", 100, {in});  // takes k's freed block
  g.MarkOutput(next);
  EXPECT_EQ(PlanGraphBuffer(g, 1), 110u);
}

}  // namespace
}  // namespace cortex
