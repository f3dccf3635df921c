#include "sched/eviction_policy.h"

#include <gtest/gtest.h>

namespace cortex::sched {
namespace {

EvictionCandidate Idle(std::string name, uint64_t bytes, double idle_since = 0,
                       double load_seconds = 30) {
  EvictionCandidate c;
  c.name = std::move(name);
  c.bytes = bytes;
  c.idle_since = idle_since;
  c.load_seconds = load_seconds;
  return c;
}

TEST(ChooseVictims, NeverPicksPinnedPausedStartingOrHeldEngines) {
  std::vector<EvictionCandidate> resident = {Idle("pinned", 50), Idle("paused", 50),
                                             Idle("starting", 50), Idle("held", 50)};
  resident[0].pinned = true;
  resident[1].paused = true;
  resident[2].starting = true;
  resident[3].held = true;
  EXPECT_TRUE(ChooseVictims(resident, 10).empty());

  resident.push_back(Idle("free", 10));
  EXPECT_EQ(ChooseVictims(resident, 10), std::vector<std::string>{"free"});
}

TEST(ChooseVictims, PrefersEnginesWithNothingInFlightAndNobodyWaiting) {
  std::vector<EvictionCandidate> resident = {Idle("serving", 50, 0), Idle("queued", 50, 0),
                                             Idle("quiet", 50, 90)};
  resident[0].in_flight = 2;
  resident[1].waiting = 1;
  EXPECT_EQ(ChooseVictims(resident, 40), std::vector<std::string>{"quiet"});
  EXPECT_EQ(ChooseVictims(resident, 60), (std::vector<std::string>{"quiet", "queued"}));
}

TEST(ChooseVictims, AmongIdleEnginesPrefersLongestIdleThenCheapestToReload) {
  std::vector<EvictionCandidate> resident = {
      Idle("recent", 50, 100, 5), Idle("old_slow", 50, 10, 60), Idle("old_fast", 50, 10, 5)};
  EXPECT_EQ(ChooseVictims(resident, 50), std::vector<std::string>{"old_fast"});
  EXPECT_EQ(ChooseVictims(resident, 100), (std::vector<std::string>{"old_fast", "old_slow"}));
}

TEST(ChooseVictims, StopsOnlyAsManyAsNeeded) {
  // The small idle engine goes first, but the large one alone is enough once it must go too.
  std::vector<EvictionCandidate> resident = {Idle("small", 10, 0), Idle("large", 60, 50)};
  EXPECT_EQ(ChooseVictims(resident, 50), std::vector<std::string>{"large"});
  EXPECT_EQ(ChooseVictims(resident, 65), (std::vector<std::string>{"small", "large"}));
  EXPECT_EQ(ChooseVictims(resident, 5), std::vector<std::string>{"small"});
}

TEST(ChooseVictims, ReturnsNothingWhenNoAllowedSetFreesEnoughOrNothingIsNeeded) {
  std::vector<EvictionCandidate> resident = {Idle("a", 10), Idle("b", 20)};
  EXPECT_TRUE(ChooseVictims(resident, 31).empty());
  EXPECT_TRUE(ChooseVictims(resident, 0).empty());
  EXPECT_TRUE(ChooseVictims({}, 1).empty());
}

}  // namespace
}  // namespace cortex::sched
