// Specification of the slot pool: free slots at once, FIFO beyond, cancellation, pause.
#include "sim/slot_pool.h"

#include <gtest/gtest.h>

namespace cortex::sim {
namespace {

TEST(SlotPoolTest, GrantsFreeSlotsLowestFirst) {
  SlotPool pool(2);
  EXPECT_EQ(pool.TryAcquire(10), std::optional<size_t>(0));
  EXPECT_EQ(pool.TryAcquire(11), std::optional<size_t>(1));
  EXPECT_EQ(pool.busy(), 2u);
  EXPECT_EQ(pool.holder(0), std::optional<uint64_t>(10));
}

TEST(SlotPoolTest, WaitersAreServedInArrivalOrder) {
  SlotPool pool(1);
  ASSERT_TRUE(pool.TryAcquire(1));
  EXPECT_FALSE(pool.TryAcquire(2));
  EXPECT_FALSE(pool.TryAcquire(3));
  EXPECT_EQ(pool.waiting(), 2u);
  auto g = pool.Release(0);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->waiter, 2u);
  EXPECT_EQ(g->slot, 0u);
  g = pool.Release(0);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->waiter, 3u);
  EXPECT_FALSE(pool.Release(0));
  EXPECT_EQ(pool.busy(), 0u);
}

TEST(SlotPoolTest, AReleasedSlotGoesToTheWaiterNotToANewcomer) {
  SlotPool pool(2);
  ASSERT_TRUE(pool.TryAcquire(1));
  ASSERT_TRUE(pool.TryAcquire(2));
  EXPECT_FALSE(pool.TryAcquire(3));
  // Slot 1 frees and goes straight to waiter 3, so a request arriving now must wait.
  auto g = pool.Release(1);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->waiter, 3u);
  EXPECT_FALSE(pool.TryAcquire(4));
}

TEST(SlotPoolTest, ACancelledWaiterIsSkipped) {
  SlotPool pool(1);
  ASSERT_TRUE(pool.TryAcquire(1));
  EXPECT_FALSE(pool.TryAcquire(2));
  EXPECT_FALSE(pool.TryAcquire(3));
  EXPECT_TRUE(pool.Cancel(2));
  EXPECT_FALSE(pool.Cancel(2));
  EXPECT_EQ(pool.waiting(), 1u);
  auto g = pool.Release(0);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->waiter, 3u);
}

TEST(SlotPoolTest, PausedPoolQueuesEveryoneAndResumeServesInOrder) {
  SlotPool pool(2);
  pool.Pause();
  EXPECT_FALSE(pool.TryAcquire(1));
  EXPECT_FALSE(pool.TryAcquire(2));
  EXPECT_FALSE(pool.TryAcquire(3));
  const auto grants = pool.Resume();
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].waiter, 1u);
  EXPECT_EQ(grants[0].slot, 0u);
  EXPECT_EQ(grants[1].waiter, 2u);
  EXPECT_EQ(grants[1].slot, 1u);
  EXPECT_EQ(pool.waiting(), 1u);
}

TEST(SlotPoolTest, ReleaseWhilePausedKeepsTheSlotFree) {
  SlotPool pool(1);
  ASSERT_TRUE(pool.TryAcquire(1));
  EXPECT_FALSE(pool.TryAcquire(2));
  pool.Pause();
  EXPECT_FALSE(pool.Release(0));
  EXPECT_EQ(pool.busy(), 0u);
  const auto grants = pool.Resume();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].waiter, 2u);
}

}  // namespace
}  // namespace cortex::sim
