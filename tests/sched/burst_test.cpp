// Burst mode against FakeSupervisor, on the seed's two engines: fast (44 GiB) and deep (64 GiB
// normally, 96 GiB in burst, pausing fast) in a 110 GiB pool, which cannot hold deep's burst
// beside fast.
#include <gtest/gtest.h>

#include <algorithm>

#include "sched/fake_supervisor.h"
#include "sched/residency_scheduler.h"

namespace cortex::sched {
namespace {

using testing::Engine;
using testing::ExpectLedgerNeverOverPool;
using testing::FakeSupervisor;
using testing::kGiB;
using Outcome = FakeSupervisor::Outcome;

constexpr uint64_t kPool = 110 * kGiB;

std::vector<EngineSpec> Engines(bool fast_can_sleep) {
  EngineSpec fast = Engine("fast", 44, /*load_seconds=*/5);
  fast.can_sleep = fast_can_sleep;
  fast.sleeping_bytes = 4 * kGiB;
  EngineSpec deep = Engine("deep", 64, /*load_seconds=*/10);
  deep.bytes_by_profile["burst"] = 96 * kGiB;
  return {fast, deep};
}

std::vector<BurstSpec> Bursts() {
  return {{"deep", "burst", {"fast"}}};
}

// Index of the first effect of `kind` for `engine` at or after `from`; effects.size() if none.
size_t Find(const std::vector<Effect>& effects, Effect::Kind kind, const std::string& engine,
            size_t from = 0) {
  for (size_t i = from; i < effects.size(); ++i) {
    if (effects[i].kind == kind && effects[i].engine == engine) return i;
  }
  return effects.size();
}

void TurnBurst(FakeSupervisor& sim, bool on) {
  StatusOr<std::vector<Effect>> effects = sim.sched.SetBurst(on, "deep", sim.now);
  ASSERT_TRUE(effects.ok()) << effects.status().ToString();
  sim.Apply(*effects);
}

TEST(Burst, RoundTripStopsFastRestartsDeepInBurstAndBack) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/false), Bursts(), kPool);
  sim.Boot();
  sim.RunUntil(20);
  ASSERT_EQ(sim.sched.state("fast"), EngineState::kReady);
  ASSERT_EQ(sim.sched.state("deep"), EngineState::kReady);
  EXPECT_TRUE(sim.sched.burst_settled());

  size_t mark = sim.effects.size();
  TurnBurst(sim, true);
  EXPECT_TRUE(sim.sched.burst_active());
  EXPECT_EQ(sim.sched.burst_engine(), "deep");
  EXPECT_FALSE(sim.sched.burst_settled());
  EXPECT_TRUE(sim.sched.paused("fast"));
  EXPECT_EQ(sim.sched.profile("deep"), "burst");

  int paused = sim.Submit("fast", 20.5);
  sim.RunUntil(20.5);
  EXPECT_EQ(sim.requests[paused].outcome, Outcome::kPaused);

  sim.RunUntil(40);
  size_t stop_fast = Find(sim.effects, Effect::Kind::kStop, "fast", mark);
  size_t stop_deep = Find(sim.effects, Effect::Kind::kStop, "deep", mark);
  size_t start_burst = Find(sim.effects, Effect::Kind::kStart, "deep", mark);
  ASSERT_LT(stop_fast, sim.effects.size());
  ASSERT_LT(stop_deep, sim.effects.size());
  ASSERT_LT(start_burst, sim.effects.size());
  EXPECT_GT(start_burst, stop_fast);
  EXPECT_GT(start_burst, stop_deep);
  EXPECT_EQ(sim.effects[start_burst].profile, "burst");
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kReady);
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kStopped);
  EXPECT_EQ(sim.sched.ledger().HeldProfile("deep"), "burst");
  EXPECT_TRUE(sim.sched.burst_settled());

  mark = sim.effects.size();
  TurnBurst(sim, false);
  EXPECT_FALSE(sim.sched.burst_active());
  EXPECT_FALSE(sim.sched.burst_settled());
  EXPECT_FALSE(sim.sched.paused("fast"));
  sim.RunUntil(80);
  size_t stop_burst = Find(sim.effects, Effect::Kind::kStop, "deep", mark);
  size_t start_normal = Find(sim.effects, Effect::Kind::kStart, "deep", mark);
  size_t start_fast = Find(sim.effects, Effect::Kind::kStart, "fast", mark);
  ASSERT_LT(start_normal, sim.effects.size());
  ASSERT_LT(start_fast, sim.effects.size());
  EXPECT_LT(stop_burst, start_normal);
  EXPECT_LT(start_normal, start_fast) << "deep comes back first, then what it paused";
  EXPECT_EQ(sim.effects[start_normal].profile, "normal");
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kReady);
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kReady);
  EXPECT_TRUE(sim.sched.burst_settled());
  EXPECT_EQ(sim.started_profiles["deep"], (std::vector<std::string>{"normal", "burst", "normal"}));
  EXPECT_EQ(sim.sched.swaps(), 0) << "burst switches are not on-demand evictions";
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, FastThatCanSleepIsSleptAndWokenInsteadOfRestarted) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/true), Bursts(), kPool);
  sim.Boot();
  sim.RunUntil(20);
  TurnBurst(sim, true);
  sim.RunUntil(40);
  EXPECT_EQ(sim.sleeps["fast"], 1);
  EXPECT_EQ(sim.stops["fast"], 0);
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kSleeping);
  EXPECT_EQ(sim.sched.ledger().Held("fast"), 4 * kGiB);
  EXPECT_EQ(sim.sched.ledger().Held("deep"), 96 * kGiB);
  EXPECT_TRUE(sim.sched.burst_settled());

  TurnBurst(sim, false);
  sim.RunUntil(80);
  EXPECT_EQ(sim.wakes["fast"], 1);
  EXPECT_EQ(sim.starts["fast"], 1) << "woken, not restarted";
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kReady);
  EXPECT_EQ(sim.sched.ledger().Held("fast"), 44 * kGiB);
  EXPECT_EQ(sim.sched.ledger().Held("deep"), 64 * kGiB);
  EXPECT_TRUE(sim.sched.burst_settled());
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, DrainsRequestsInFlightAndStartsTheBurstOnlyAfterBothReleased) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/false), Bursts(), kPool);
  sim.Boot();
  int fast_request = sim.Submit("fast", 19, /*duration=*/6);
  int deep_request = sim.Submit("deep", 19, /*duration=*/3);
  sim.RunUntil(20);
  TurnBurst(sim, true);
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kDraining);
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kDraining);
  int deep_waiter = sim.Submit("deep", 21);
  sim.RunUntil(23.5);  // deep's request ended at 22 and it exited at 23; fast still drains
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kStopped);
  EXPECT_EQ(sim.starts["deep"], 1) << "no burst start while fast still holds 44 GiB";
  sim.RunUntil(26.5);  // fast's request ended at 25, it exited at 26
  EXPECT_EQ(sim.starts["deep"], 2);
  EXPECT_FALSE(sim.sched.burst_settled());
  sim.RunUntil(40);
  EXPECT_EQ(sim.requests[fast_request].outcome, Outcome::kDone);
  EXPECT_EQ(sim.requests[deep_request].outcome, Outcome::kDone);
  EXPECT_EQ(sim.requests[deep_waiter].outcome, Outcome::kDone)
      << "deep's waiters are admitted once it is back in burst";
  EXPECT_TRUE(sim.sched.burst_settled());
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, TheLedgerNamesWhoAskedForEachSwitchAndNothingElse) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/false), Bursts(), kPool);
  sim.Boot();
  sim.RunUntil(20);
  const size_t before = sim.sched.ledger().events().size();
  for (const LedgerEvent& e : sim.sched.ledger().events())
    EXPECT_EQ(e.reason, "");

  StatusOr<std::vector<Effect>> on = sim.sched.SetBurst(true, "deep", sim.now, "ingest job ing_1");
  ASSERT_TRUE(on.ok());
  sim.Apply(*on);
  sim.RunUntil(60);
  StatusOr<std::vector<Effect>> off =
      sim.sched.SetBurst(false, "deep", sim.now, "ingest job ing_1");
  ASSERT_TRUE(off.ok());
  sim.Apply(*off);
  sim.RunUntil(100);
  ASSERT_TRUE(sim.sched.burst_settled());

  std::vector<std::string> seen;
  const auto& events = sim.sched.ledger().events();
  for (size_t i = before; i < events.size(); ++i) {
    seen.push_back(std::string(LedgerEventKindName(events[i].kind)) + " " + events[i].engine + " " +
                   events[i].profile + ": " + events[i].reason);
  }
  const std::vector<std::string> expected = {
      "release fast normal: burst on: ingest job ing_1",
      "release deep normal: burst on: ingest job ing_1",
      "reserve deep burst: burst on: ingest job ing_1",
      "release deep burst: burst off: ingest job ing_1",
      "reserve deep normal: burst off: ingest job ing_1",
      "reserve fast normal: burst off: ingest job ing_1",
  };
  EXPECT_EQ(seen, expected);

  // After the switch has settled, an ordinary change carries no burst reason.
  sim.sched.EngineCrashed("fast", 101);
  sim.RunUntil(120);
  for (size_t i = before + expected.size(); i < events.size(); ++i) {
    EXPECT_EQ(events[i].reason, "") << events[i].engine;
  }
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, WaitersOfAPausedEngineAreRejectedWithTheReason) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/false), Bursts(), kPool);
  sim.auto_answer = false;
  std::vector<Effect> effects;
  sim.Boot();  // both starting
  ASSERT_EQ(sim.sched.Demand("fast", 1, &effects), DemandResult::kWait);
  StatusOr<std::vector<Effect>> on = sim.sched.SetBurst(true, "deep", 2);
  ASSERT_TRUE(on.ok());
  auto reject = std::find_if(on->begin(), on->end(), [](const Effect& e) {
    return e.kind == Effect::Kind::kReject && e.engine == "fast";
  });
  ASSERT_NE(reject, on->end());
  EXPECT_NE(reject->reason.find("paused by the burst of 'deep'"), std::string::npos);
  EXPECT_EQ(sim.sched.waiting("fast"), 0);
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kStopping) << "a loading engine is stopped";
}

TEST(Burst, SetBurstIsIdempotentAndRejectsWhatItCannotDo) {
  std::vector<EngineSpec> engines = Engines(false);
  engines[0].bytes_by_profile["burst"] = 60 * kGiB;
  engines.push_back(Engine("plain", 1));
  FakeSupervisor sim(engines, {{"deep", "burst", {"fast"}}, {"fast", "burst", {"deep"}}}, kPool);
  sim.Boot();
  sim.RunUntil(20);

  TurnBurst(sim, true);
  StatusOr<std::vector<Effect>> again = sim.sched.SetBurst(true, "deep", 21);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());

  StatusOr<std::vector<Effect>> other = sim.sched.SetBurst(true, "fast", 21);
  EXPECT_EQ(other.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(other.status().message().find("already active for 'deep'"), std::string::npos);
  EXPECT_EQ(sim.sched.SetBurst(false, "fast", 21).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sim.sched.SetBurst(true, "ghost", 21).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(sim.sched.SetBurst(true, "plain", 21).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(sim.sched.AdminStart("fast", 21).status().code(), Status::Code::kInvalidArgument)
      << "a paused engine is not started behind the burst's back";

  sim.RunUntil(60);
  TurnBurst(sim, false);
  StatusOr<std::vector<Effect>> off_again = sim.sched.SetBurst(false, "deep", 60);
  ASSERT_TRUE(off_again.ok());
  EXPECT_TRUE(off_again->empty());
  sim.RunUntil(100);
  EXPECT_TRUE(sim.sched.burst_settled());
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, TurningItOffBeforeItSettledEndsInTheNormalLayout) {
  FakeSupervisor sim(Engines(/*fast_can_sleep=*/true), Bursts(), kPool);
  sim.Boot();
  sim.RunUntil(20);
  TurnBurst(sim, true);
  sim.RunUntil(20.5);
  TurnBurst(sim, false);
  sim.RunUntil(80);
  EXPECT_TRUE(sim.sched.burst_settled());
  EXPECT_EQ(sim.sched.state("fast"), EngineState::kReady);
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kReady);
  EXPECT_EQ(sim.sched.ledger().HeldProfile("deep"), "normal");
  EXPECT_EQ(sim.sched.ledger().committed_bytes(), 108 * kGiB);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(Burst, OtherEnginesCannotTakeTheBurstsMemory) {
  std::vector<EngineSpec> engines = Engines(false);
  EngineSpec small = Engine("small", 20);  // 14 GiB are free beside the burst
  small.start_resident = false;
  engines.push_back(small);
  FakeSupervisor sim(engines, Bursts(), kPool);
  sim.Boot();
  sim.RunUntil(20);
  TurnBurst(sim, true);
  sim.RunUntil(40);
  int r = sim.Submit("small", 40);
  sim.RunUntil(60);
  EXPECT_EQ(sim.requests[r].outcome, Outcome::kRejected);
  EXPECT_EQ(sim.sched.state("deep"), EngineState::kReady);
  EXPECT_EQ(sim.sched.ledger().HeldProfile("deep"), "burst");
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

}  // namespace
}  // namespace cortex::sched
