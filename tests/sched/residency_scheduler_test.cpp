// ResidencyScheduler against FakeSupervisor: on-demand loads, eviction, anti-thrash, crashes,
// failures and operator actions. Every test ends by checking the ledger never overcommitted.
#include "sched/residency_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sched/fake_supervisor.h"

namespace cortex::sched {
namespace {

using testing::Engine;
using testing::ExpectLedgerNeverOverPool;
using testing::FakeSupervisor;
using testing::kGiB;
using Outcome = FakeSupervisor::Outcome;

EngineSpec OnDemand(EngineSpec spec) {
  spec.start_resident = false;
  return spec;
}

std::vector<Effect::Kind> Kinds(const std::vector<Effect>& effects, const std::string& engine) {
  std::vector<Effect::Kind> kinds;
  for (const Effect& e : effects) {
    if (e.engine == engine) kinds.push_back(e.kind);
  }
  return kinds;
}

TEST(ResidencyScheduler, BootStartsResidentEnginesThatFitInOrderAndReportsTheRest) {
  ResidencyScheduler sched(
      {Engine("a", 60), Engine("b", 50), Engine("c", 30), OnDemand(Engine("d", 10))}, {},
      100 * kGiB);
  std::vector<Effect> effects = sched.Boot(0);
  ASSERT_EQ(effects.size(), 3u);
  EXPECT_EQ(effects[0].kind, Effect::Kind::kStart);
  EXPECT_EQ(effects[0].engine, "a");
  EXPECT_EQ(effects[0].profile, "normal");
  EXPECT_EQ(effects[1].kind, Effect::Kind::kReject);
  EXPECT_EQ(effects[1].engine, "b");
  EXPECT_NE(effects[1].reason.find("not started at boot"), std::string::npos);
  EXPECT_EQ(effects[2].kind, Effect::Kind::kStart);
  EXPECT_EQ(effects[2].engine, "c");
  EXPECT_EQ(sched.state("b"), EngineState::kStopped);
  EXPECT_EQ(sched.state("d"), EngineState::kStopped);
  EXPECT_EQ(sched.reason("b"), effects[1].reason);
  EXPECT_EQ(sched.ledger().committed_bytes(), 90 * kGiB);
  ExpectLedgerNeverOverPool(sched.ledger());
}

TEST(ResidencyScheduler, DemandForAStoppedEngineThatFitsReservesStartsAndAdmitsOnReady) {
  ResidencyScheduler sched({OnDemand(Engine("a", 40))}, {}, 100 * kGiB);
  std::vector<Effect> effects;
  EXPECT_EQ(sched.Demand("a", 0, &effects), DemandResult::kWait);
  ASSERT_EQ(effects.size(), 1u);
  EXPECT_EQ(effects[0].kind, Effect::Kind::kStart);
  EXPECT_EQ(sched.ledger().Held("a"), 40 * kGiB);
  EXPECT_EQ(sched.state("a"), EngineState::kStarting);
  EXPECT_EQ(sched.waiting("a"), 1);

  effects = sched.EngineReady("a", 5);
  ASSERT_EQ(effects.size(), 1u);
  EXPECT_EQ(effects[0].kind, Effect::Kind::kAdmit);
  EXPECT_EQ(sched.waiting("a"), 0);
  EXPECT_EQ(sched.Demand("a", 5, &effects), DemandResult::kReadyNow);
  sched.RequestStarted("a", 5);
  EXPECT_EQ(sched.in_flight("a"), 1);
  EXPECT_TRUE(sched.RequestFinished("a", 6).empty());
  EXPECT_EQ(sched.in_flight("a"), 0);
  ExpectLedgerNeverOverPool(sched.ledger());
}

TEST(ResidencyScheduler, WaitersOfOneEngineAreAdmittedTogether) {
  FakeSupervisor sim({OnDemand(Engine("a", 40, /*load_seconds=*/5))}, {}, 100 * kGiB);
  for (int i = 0; i < 5; ++i)
    sim.Submit("a", 0.5 * i);
  sim.RunUntil(20);
  EXPECT_EQ(sim.Count(Outcome::kDone), 5);
  EXPECT_EQ(sim.starts["a"], 1);
  EXPECT_EQ(sim.admits["a"], 1);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, UnknownEngineIsReportedAndChangesNothing) {
  ResidencyScheduler sched({Engine("a", 40)}, {}, 100 * kGiB);
  std::vector<Effect> effects;
  EXPECT_EQ(sched.Demand("nope", 0, &effects), DemandResult::kUnknown);
  EXPECT_TRUE(effects.empty());
  EXPECT_TRUE(sched.EngineReady("nope", 0).empty());
  EXPECT_TRUE(sched.EngineExited("nope", 0).empty());
  EXPECT_FALSE(sched.AdminStart("nope", 0).ok());
  EXPECT_FALSE(sched.AdminStop("nope", 0).ok());
}

TEST(ResidencyScheduler, EvictsAnIdleEngineAndStartsTheOtherOnlyAfterItExited) {
  FakeSupervisor sim({Engine("a", 60), OnDemand(Engine("b", 60))}, {}, 100 * kGiB);
  sim.Boot();
  sim.RunUntil(10);
  ASSERT_EQ(sim.sched.state("a"), EngineState::kReady);

  int b = sim.Submit("b", 10);
  sim.RunUntil(10);
  EXPECT_EQ(sim.stops["a"], 1);
  EXPECT_EQ(sim.starts["b"], 0) << "b must wait for a's memory to be given back";
  EXPECT_EQ(sim.sched.state("a"), EngineState::kStopping);
  EXPECT_EQ(sim.sched.ledger().Held("b"), std::nullopt);

  sim.RunUntil(11);  // a exits (stop takes 1 s)
  EXPECT_EQ(sim.starts["b"], 1);
  sim.RunUntil(30);
  EXPECT_EQ(sim.requests[b].outcome, Outcome::kDone);
  EXPECT_EQ(sim.sched.swaps(), 1);
  EXPECT_NE(sim.sched.reason("a").find("evicted for 'b'"), std::string::npos);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, VictimWithRequestsInFlightIsDrainedThenStopped) {
  FakeSupervisor sim({Engine("a", 60), OnDemand(Engine("b", 60))}, {}, 100 * kGiB);
  sim.Boot();
  int long_a = sim.Submit("a", 20, /*duration=*/8);
  int b = sim.Submit("b", 21);
  int late_a = sim.Submit("a", 22);
  sim.RunUntil(22);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kDraining);
  EXPECT_EQ(sim.requests[late_a].outcome, Outcome::kWaiting) << "a draining takes no new work";
  EXPECT_EQ(sim.stops["a"], 0);

  sim.RunUntil(28);  // the long request ends: a stops
  EXPECT_EQ(sim.requests[long_a].outcome, Outcome::kDone);
  EXPECT_EQ(sim.stops["a"], 1);
  sim.RunUntil(60);
  EXPECT_EQ(sim.requests[b].outcome, Outcome::kDone);
  EXPECT_EQ(sim.requests[late_a].outcome, Outcome::kDone) << "a comes back for its waiter";
  EXPECT_EQ(sim.starts["a"], 2);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, DrainIsBoundedByTheDrainTimeout) {
  SchedulerOptions options;
  options.drain_timeout_s = 30;
  FakeSupervisor sim({Engine("a", 60), OnDemand(Engine("b", 60))}, {}, 100 * kGiB, options);
  sim.Boot();
  sim.Submit("a", 20, /*duration=*/1000);
  int b = sim.Submit("b", 21);
  sim.RunUntil(50.9);
  EXPECT_EQ(sim.stops["a"], 0);
  sim.RunUntil(51);
  ASSERT_EQ(sim.stops["a"], 1);
  auto stop = std::find_if(sim.effects.begin(), sim.effects.end(), [](const Effect& e) {
    return e.kind == Effect::Kind::kStop && e.engine == "a";
  });
  EXPECT_NE(stop->reason.find("drain timed out with 1 in flight"), std::string::npos);
  sim.RunUntil(70);
  EXPECT_EQ(sim.requests[b].outcome, Outcome::kDone);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, EvictsTheEngineIdleLongestAndOnlyAsManyAsNeeded) {
  FakeSupervisor sim({Engine("a", 30), Engine("b", 30), Engine("c", 30), OnDemand(Engine("d", 30))},
                     {}, 100 * kGiB);
  sim.Boot();
  sim.Submit("a", 20);
  sim.Submit("b", 25);
  sim.Submit("c", 15);
  sim.Submit("d", 30);
  sim.RunUntil(60);
  EXPECT_EQ(sim.stops["c"], 1);
  EXPECT_EQ(sim.stops["a"], 0);
  EXPECT_EQ(sim.stops["b"], 0);
  EXPECT_EQ(sim.sched.swaps(), 1);
  EXPECT_EQ(sim.Count(Outcome::kDone), 4);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, RejectsWaitersWhenOnlyPinnedEnginesHoldTheMemory) {
  EngineSpec pinned = Engine("a", 80);
  pinned.pinned = true;
  FakeSupervisor sim({pinned, OnDemand(Engine("b", 50)), OnDemand(Engine("huge", 200))}, {},
                     100 * kGiB);
  sim.Boot();
  int b = sim.Submit("b", 10);
  int huge = sim.Submit("huge", 11);
  sim.RunUntil(20);
  EXPECT_EQ(sim.requests[b].outcome, Outcome::kRejected);
  EXPECT_NE(sim.requests[b].reason.find("not pinned"), std::string::npos);
  EXPECT_EQ(sim.requests[huge].outcome, Outcome::kRejected);
  EXPECT_EQ(sim.stops["a"], 0);
  EXPECT_EQ(sim.sched.swaps(), 0);
  EXPECT_EQ(sim.sched.state("b"), EngineState::kStopped);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, BusyEngineKeepsItsMemoryForTheHoldWindowThenIsDrained) {
  SchedulerOptions options;
  options.hold_s = 10;
  FakeSupervisor sim({OnDemand(Engine("a", 60)), OnDemand(Engine("b", 60))}, {}, 100 * kGiB,
                     options);
  // a loads on demand (ready at 5) and is kept busy by overlapping requests.
  for (int i = 0; i < 30; ++i)
    sim.Submit("a", 0.5 * i, /*duration=*/2);
  sim.Submit("b", 6);
  sim.RunUntil(14.9);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kReady);
  EXPECT_EQ(sim.sched.waiting("b"), 1);
  EXPECT_EQ(sim.sched.NextDeadline(), 15);
  sim.RunUntil(15);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kDraining);
  EXPECT_EQ(sim.sched.swaps(), 1);
  sim.RunUntil(100);
  EXPECT_EQ(sim.Count(Outcome::kDone), 31);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, AlternatingDemandsForTwoEnginesThatCannotBothFitDoNotThrash) {
  FakeSupervisor sim({OnDemand(Engine("a", 60)), OnDemand(Engine("b", 60))}, {}, 100 * kGiB);
  for (int i = 0; i < 40; ++i)
    sim.Submit(i % 2 == 0 ? "a" : "b", 0.5 * i, /*duration=*/2);
  sim.RunUntil(200);
  EXPECT_EQ(sim.Count(Outcome::kDone), 40);
  RecordProperty("swaps", sim.sched.swaps());
  EXPECT_LE(sim.sched.swaps(), 4);
  EXPECT_LE(sim.starts["a"] + sim.starts["b"], 5);
  double longest_wait = 0;
  for (const FakeSupervisor::Request& r : sim.requests) {
    longest_wait = std::max(longest_wait, r.started - r.arrived);
  }
  // A turn lasts at most hold_s plus a drain; each side waits about one turn plus a load.
  RecordProperty("longest_wait_s", std::to_string(longest_wait));
  EXPECT_LT(longest_wait, 40);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, AWaiterThatLeavesNoLongerCausesAnEviction) {
  FakeSupervisor sim({Engine("a", 60), OnDemand(Engine("b", 60))}, {}, 100 * kGiB);
  sim.Boot();
  sim.Submit("a", 10, /*duration=*/30);  // a ready since 5: within its hold until 15
  sim.RunUntil(10);
  int b = sim.Submit("b", 11, /*duration=*/1, /*timeout=*/2);
  sim.RunUntil(13);
  EXPECT_EQ(sim.requests[b].outcome, Outcome::kTimedOut);
  EXPECT_EQ(sim.sched.waiting("b"), 0);
  sim.RunUntil(60);
  EXPECT_EQ(sim.stops["a"], 0);
  EXPECT_EQ(sim.sched.swaps(), 0);
  EXPECT_EQ(sim.starts["b"], 0);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, CrashKeepsTheReservationAndTheWaiters) {
  ResidencyScheduler sched({OnDemand(Engine("a", 40))}, {}, 100 * kGiB);
  std::vector<Effect> effects;
  ASSERT_EQ(sched.Demand("a", 0, &effects), DemandResult::kWait);
  ASSERT_EQ(sched.Demand("a", 1, &effects), DemandResult::kWait);
  effects = sched.EngineCrashed("a", 2);
  EXPECT_TRUE(effects.empty());
  EXPECT_EQ(sched.state("a"), EngineState::kStarting);
  EXPECT_EQ(sched.ledger().Held("a"), 40 * kGiB);
  EXPECT_EQ(sched.waiting("a"), 2);

  effects = sched.EngineReady("a", 8);
  EXPECT_EQ(Kinds(effects, "a"), std::vector<Effect::Kind>{Effect::Kind::kAdmit});

  // Crashing while serving: the requests in flight still finish through RequestFinished.
  ASSERT_EQ(sched.Demand("a", 9, &effects), DemandResult::kReadyNow);
  sched.RequestStarted("a", 9);
  sched.EngineCrashed("a", 10);
  EXPECT_EQ(sched.state("a"), EngineState::kStarting);
  EXPECT_EQ(sched.ledger().Held("a"), 40 * kGiB);
  sched.RequestFinished("a", 10);
  EXPECT_EQ(sched.in_flight("a"), 0);
  sched.EngineReady("a", 15);
  EXPECT_EQ(sched.state("a"), EngineState::kReady);
  ExpectLedgerNeverOverPool(sched.ledger());
}

TEST(ResidencyScheduler, FailureReleasesMemoryRejectsWaitersUntilAdminStart) {
  ResidencyScheduler sched({OnDemand(Engine("a", 40))}, {}, 100 * kGiB);
  std::vector<Effect> effects;
  ASSERT_EQ(sched.Demand("a", 0, &effects), DemandResult::kWait);
  effects = sched.EngineFailed("a", 3);
  ASSERT_EQ(Kinds(effects, "a"), std::vector<Effect::Kind>{Effect::Kind::kReject});
  EXPECT_NE(effects[0].reason.find("failed"), std::string::npos);
  EXPECT_EQ(sched.state("a"), EngineState::kFailed);
  EXPECT_EQ(sched.ledger().committed_bytes(), 0u);
  EXPECT_EQ(sched.waiting("a"), 0);
  EXPECT_EQ(sched.Demand("a", 4, &effects), DemandResult::kFailed);

  StatusOr<std::vector<Effect>> started = sched.AdminStart("a", 10);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(Kinds(*started, "a"), std::vector<Effect::Kind>{Effect::Kind::kStart});
  EXPECT_EQ(sched.state("a"), EngineState::kStarting);
  ExpectLedgerNeverOverPool(sched.ledger());
}

TEST(ResidencyScheduler, UnexpectedExitReleasesMemoryAndRestartsForWaiters) {
  FakeSupervisor sim({Engine("a", 40)}, {}, 100 * kGiB);
  sim.auto_answer = false;
  sim.Boot();
  sim.Apply(sim.sched.EngineReady("a", 5));
  sim.Apply(sim.sched.EngineExited("a", 6));  // nobody asked it to stop
  EXPECT_EQ(sim.sched.state("a"), EngineState::kStopped);
  EXPECT_EQ(sim.sched.ledger().committed_bytes(), 0u);
  EXPECT_NE(sim.sched.reason("a").find("unexpectedly"), std::string::npos);

  std::vector<Effect> effects;
  EXPECT_EQ(sim.sched.Demand("a", 7, &effects), DemandResult::kWait);
  EXPECT_EQ(Kinds(effects, "a"), std::vector<Effect::Kind>{Effect::Kind::kStart});
  // Odd reports in odd states never abort, and never leak memory: each unexpected exit
  // releases, and the waiter brings the engine back.
  sim.sched.EngineExited("a", 8);
  sim.sched.EngineExited("a", 8);
  sim.sched.EngineSlept("a", 8);
  sim.sched.EngineCrashed("a", 8);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kStarting);
  EXPECT_EQ(sim.sched.waiting("a"), 1);
  EXPECT_EQ(sim.sched.ledger().committed_bytes(), 40 * kGiB);
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, ReadyWithoutAReservationIsStopped) {
  ResidencyScheduler sched({OnDemand(Engine("a", 40))}, {}, 100 * kGiB);
  std::vector<Effect> effects = sched.EngineReady("a", 1);
  EXPECT_EQ(Kinds(effects, "a"), std::vector<Effect::Kind>{Effect::Kind::kStop});
  EXPECT_EQ(sched.state("a"), EngineState::kStopping);
}

TEST(ResidencyScheduler, AdminStopDrainsStopsAndKeepsTheEngineOffUntilAdminStart) {
  FakeSupervisor sim({Engine("a", 40)}, {}, 100 * kGiB);
  sim.Boot();
  sim.Submit("a", 10, /*duration=*/5);
  sim.RunUntil(11);
  StatusOr<std::vector<Effect>> stopped = sim.sched.AdminStop("a", 11);
  ASSERT_TRUE(stopped.ok());
  sim.Apply(*stopped);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kDraining);
  int refused = sim.Submit("a", 12);
  sim.RunUntil(30);
  EXPECT_EQ(sim.requests[refused].outcome, Outcome::kPaused);
  EXPECT_EQ(sim.requests[0].outcome, Outcome::kDone);
  EXPECT_EQ(sim.sched.state("a"), EngineState::kStopped);
  EXPECT_TRUE(sim.sched.admin_stopped("a"));
  EXPECT_EQ(sim.sched.ledger().committed_bytes(), 0u);

  StatusOr<std::vector<Effect>> started = sim.sched.AdminStart("a", 30);
  ASSERT_TRUE(started.ok());
  sim.Apply(*started);
  int later = sim.Submit("a", 31);
  sim.RunUntil(60);
  EXPECT_EQ(sim.requests[later].outcome, Outcome::kDone);
  EXPECT_FALSE(sim.sched.admin_stopped("a"));
  ExpectLedgerNeverOverPool(sim.sched.ledger());
}

TEST(ResidencyScheduler, AdminStartOfAnEngineLargerThanThePoolIsAnError) {
  ResidencyScheduler sched({OnDemand(Engine("a", 200))}, {}, 100 * kGiB);
  StatusOr<std::vector<Effect>> started = sched.AdminStart("a", 0);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("needs 200.0 GiB"), std::string::npos);
}

TEST(ResidencyScheduler, ValidateCatchesWhatTheConstructorTakesOnTrust) {
  EngineSpec no_normal;
  no_normal.name = "x";
  no_normal.bytes_by_profile["burst"] = 1;
  EXPECT_FALSE(ResidencyScheduler::Validate({no_normal}, {}, 100).ok());
  EXPECT_FALSE(ResidencyScheduler::Validate({Engine("a", 1), Engine("a", 1)}, {}, 100 * kGiB).ok());
  EXPECT_FALSE(ResidencyScheduler::Validate({Engine("a", 200)}, {}, 100 * kGiB).ok());
  EXPECT_FALSE(
      ResidencyScheduler::Validate({Engine("a", 1)}, {{"a", "burst", {}}}, 100 * kGiB).ok());
  EngineSpec deep = Engine("deep", 64);
  deep.bytes_by_profile["burst"] = 96 * kGiB;
  EXPECT_TRUE(ResidencyScheduler::Validate({Engine("fast", 44), deep},
                                           {{"deep", "burst", {"fast"}}}, 110 * kGiB)
                  .ok());
  EXPECT_FALSE(ResidencyScheduler::Validate({Engine("fast", 44), deep},
                                            {{"deep", "burst", {"ghost"}}}, 110 * kGiB)
                   .ok());
}

TEST(ResidencyScheduler, NamesAreStable) {
  EXPECT_EQ(EngineStateName(EngineState::kStopped), "stopped");
  EXPECT_EQ(EngineStateName(EngineState::kStarting), "starting");
  EXPECT_EQ(EngineStateName(EngineState::kReady), "ready");
  EXPECT_EQ(EngineStateName(EngineState::kDraining), "draining");
  EXPECT_EQ(EngineStateName(EngineState::kStopping), "stopping");
  EXPECT_EQ(EngineStateName(EngineState::kSleeping), "sleeping");
  EXPECT_EQ(EngineStateName(EngineState::kFailed), "failed");
  EXPECT_EQ(EffectKindName(Effect::Kind::kStart), "start");
  EXPECT_EQ(EffectKindName(Effect::Kind::kStop), "stop");
  EXPECT_EQ(EffectKindName(Effect::Kind::kSleep), "sleep");
  EXPECT_EQ(EffectKindName(Effect::Kind::kWake), "wake");
  EXPECT_EQ(EffectKindName(Effect::Kind::kAdmit), "admit");
  EXPECT_EQ(EffectKindName(Effect::Kind::kReject), "reject");
}

}  // namespace
}  // namespace cortex::sched
