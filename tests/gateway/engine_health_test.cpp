#include "gateway/engine_health.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

using P = EngineHealth::Probe;
const EngineHealth::TimePoint t{};

TEST(EngineHealthTest, ProbesMoveTheEngineThroughItsStates) {
  EngineHealth h;
  EXPECT_EQ(h.state(), EngineState::kUnknown);
  h.OnProbe(P::kLoading, t);
  EXPECT_EQ(h.state(), EngineState::kLoading);
  h.OnProbe(P::kOk, t);
  EXPECT_EQ(h.state(), EngineState::kUp);
  h.OnProbe(P::kFailed, t);
  EXPECT_EQ(h.state(), EngineState::kDegraded);
  h.OnProbe(P::kFailed, t);
  h.OnProbe(P::kFailed, t);
  EXPECT_EQ(h.state(), EngineState::kDown);
  h.OnProbe(P::kOk, t);
  EXPECT_EQ(h.state(), EngineState::kUp);
}

TEST(EngineHealthTest, AnEngineThatNeverAnsweredIsDown) {
  EngineHealth h;
  h.OnProbe(P::kFailed, t);
  EXPECT_EQ(h.state(), EngineState::kDown);
}

TEST(EngineHealthTest, RequestFailuresCountBetweenProbes) {
  EngineHealth h;
  h.OnProbe(P::kOk, t);
  h.OnRequest(false, t);
  EXPECT_EQ(h.state(), EngineState::kDegraded);
  h.OnRequest(true, t);
  EXPECT_EQ(h.state(), EngineState::kUp);
  for (int i = 0; i < 3; ++i)
    h.OnRequest(false, t);
  EXPECT_EQ(h.state(), EngineState::kDown);
  h.MarkDown(t);
  EXPECT_EQ(h.consecutive_failures(), 3);
}

}  // namespace
}  // namespace cortex::gateway
