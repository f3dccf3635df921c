#include "sched/memory_ledger.h"

#include <gtest/gtest.h>

#include <limits>

namespace cortex::sched {
namespace {

TEST(MemoryLedger, ReservesWhileItFitsAndRefusesPastThePool) {
  MemoryLedger ledger(100);
  EXPECT_TRUE(ledger.Reserve("a", "normal", 60));
  EXPECT_FALSE(ledger.Reserve("b", "normal", 41));
  EXPECT_TRUE(ledger.Reserve("b", "burst", 40));
  EXPECT_EQ(ledger.committed_bytes(), 100u);
  EXPECT_EQ(ledger.free_bytes(), 0u);
  EXPECT_EQ(ledger.Held("b"), 40u);
  EXPECT_EQ(ledger.HeldProfile("b"), "burst");

  ASSERT_EQ(ledger.events().size(), 3u);
  const LedgerEvent& refused = ledger.events()[1];
  EXPECT_EQ(refused.kind, LedgerEvent::Kind::kRefuse);
  EXPECT_EQ(refused.engine, "b");
  EXPECT_EQ(refused.bytes, 41u);
  EXPECT_EQ(refused.committed_after, 60u);
  EXPECT_EQ(ledger.events()[2].committed_after, 100u);
  EXPECT_LT(ledger.events()[0].seq, ledger.events()[1].seq);
}

TEST(MemoryLedger, RefusesASecondReservationForTheSameEngine) {
  MemoryLedger ledger(100);
  EXPECT_TRUE(ledger.Reserve("a", "normal", 10));
  EXPECT_FALSE(ledger.Reserve("a", "burst", 10));
  EXPECT_EQ(ledger.Held("a"), 10u);
  EXPECT_EQ(ledger.HeldProfile("a"), "normal");
  EXPECT_EQ(ledger.events().back().kind, LedgerEvent::Kind::kRefuse);
}

TEST(MemoryLedger, HugeRequestIsRefusedWithoutOverflow) {
  MemoryLedger ledger(100);
  ASSERT_TRUE(ledger.Reserve("a", "normal", 50));
  EXPECT_FALSE(ledger.Reserve("b", "normal", std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(ledger.committed_bytes(), 50u);
}

TEST(MemoryLedger, ReleaseGivesEverythingBackAndIsSilentWhenNothingIsHeld) {
  MemoryLedger ledger(100);
  ASSERT_TRUE(ledger.Reserve("a", "normal", 70));
  ledger.Release("a");
  EXPECT_EQ(ledger.committed_bytes(), 0u);
  EXPECT_FALSE(ledger.Held("a").has_value());
  EXPECT_FALSE(ledger.HeldProfile("a").has_value());
  ASSERT_EQ(ledger.events().size(), 2u);
  EXPECT_EQ(ledger.events()[1].kind, LedgerEvent::Kind::kRelease);
  EXPECT_EQ(ledger.events()[1].bytes, 70u);

  ledger.Release("a");
  ledger.Release("never");
  EXPECT_EQ(ledger.events().size(), 2u);
}

TEST(MemoryLedger, ResizeShrinksForSleepAndGrowsBackOnlyWhenItFits) {
  MemoryLedger ledger(100);
  ASSERT_TRUE(ledger.Reserve("a", "normal", 60));
  EXPECT_TRUE(ledger.Resize("a", 10));
  EXPECT_EQ(ledger.committed_bytes(), 10u);
  EXPECT_EQ(ledger.events().back().kind, LedgerEvent::Kind::kRelease);
  EXPECT_EQ(ledger.events().back().bytes, 50u);

  ASSERT_TRUE(ledger.Reserve("b", "normal", 80));
  EXPECT_FALSE(ledger.Resize("a", 60));  // 10 + 80 + 50 > 100
  EXPECT_EQ(ledger.events().back().kind, LedgerEvent::Kind::kRefuse);
  EXPECT_EQ(ledger.Held("a"), 10u);

  ledger.Release("b");
  EXPECT_TRUE(ledger.Resize("a", 60));
  EXPECT_EQ(ledger.HeldProfile("a"), "normal");
  EXPECT_EQ(ledger.committed_bytes(), 60u);
  EXPECT_FALSE(ledger.Resize("nobody", 1));
}

TEST(MemoryLedger, KeepsOnlyTheLastTenThousandEvents) {
  MemoryLedger ledger(100);
  for (int i = 0; i < 6000; ++i) {
    ASSERT_TRUE(ledger.Reserve("a", "normal", 1));
    ledger.Release("a");
  }
  ASSERT_EQ(ledger.events().size(), MemoryLedger::kMaxEvents);
  EXPECT_EQ(ledger.events().back().seq, 12000u);
  EXPECT_EQ(ledger.events().front().seq, 2001u);
}

TEST(MemoryLedger, EventKindsHaveStableNames) {
  EXPECT_EQ(LedgerEventKindName(LedgerEvent::Kind::kReserve), "reserve");
  EXPECT_EQ(LedgerEventKindName(LedgerEvent::Kind::kRelease), "release");
  EXPECT_EQ(LedgerEventKindName(LedgerEvent::Kind::kRefuse), "refuse");
}

}  // namespace
}  // namespace cortex::sched
