#include "gateway/admission.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

using namespace std::chrono_literals;
using D = AdmissionController::Decision;

const Clock::time_point t0{};

TEST(AdmissionTest, GrantsUpToTheLaneCapThenQueuesThenRejects) {
  AdmissionController a({{0, 2, 1, 10s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(3, 0, "c", t0), D::kQueued);
  EXPECT_EQ(a.Arrive(4, 0, "c", t0), D::kRejected);  // queue of 1 is full
  EXPECT_EQ(a.in_flight(0), 2);
  EXPECT_EQ(a.queued(0), 1);
  EXPECT_EQ(a.Leave(1), std::vector<uint64_t>{3});
  EXPECT_EQ(a.in_flight(0), 2);
  EXPECT_EQ(a.queued(0), 0);
}

TEST(AdmissionTest, EngineSlotsAreSharedByItsLanes) {
  AdmissionController a({{0, 0, 8, 10s, true}, {0, 0, 8, 10s, false}}, {{2}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 1, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(3, 1, "c", t0), D::kQueued);
  EXPECT_EQ(a.Arrive(4, 0, "c", t0 + 1s), D::kQueued);
  EXPECT_EQ(a.engine_in_flight(0), 2);
  // The interactive lane goes first although the batch request has waited longer.
  EXPECT_EQ(a.Leave(2), std::vector<uint64_t>{4});
  EXPECT_EQ(a.Leave(1), std::vector<uint64_t>{3});
}

TEST(AdmissionTest, ClientsTakeTurnsWithinALane) {
  AdmissionController a({{0, 1, 10, 10s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "busy", t0), D::kGranted);
  for (uint64_t id = 2; id <= 4; ++id)
    EXPECT_EQ(a.Arrive(id, 0, "busy", t0), D::kQueued);
  EXPECT_EQ(a.Arrive(5, 0, "quiet", t0 + 1s), D::kQueued);
  EXPECT_EQ(a.Leave(1), std::vector<uint64_t>{2});
  EXPECT_EQ(a.Leave(2), std::vector<uint64_t>{5});  // quiet's turn, before busy's 3 and 4
  EXPECT_EQ(a.Leave(5), std::vector<uint64_t>{3});
}

TEST(AdmissionTest, ANewcomerDoesNotOvertakeTheQueue) {
  AdmissionController a({{0, 1, 10, 10s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 0, "c", t0), D::kQueued);
  EXPECT_TRUE(a.Leave(99).empty());  // unknown: ignored
  EXPECT_EQ(a.Leave(1), std::vector<uint64_t>{2});
  EXPECT_EQ(a.Arrive(3, 0, "c", t0), D::kQueued);
}

TEST(AdmissionTest, AClientThatLeavesTheQueueIsRemovedAndFreesItsPlace) {
  AdmissionController a({{0, 1, 1, 10s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 0, "c", t0), D::kQueued);
  EXPECT_TRUE(a.Leave(2).empty());
  EXPECT_EQ(a.queued(0), 0);
  EXPECT_EQ(a.Arrive(3, 0, "d", t0), D::kQueued);  // room in the queue again
  EXPECT_EQ(a.Leave(1), std::vector<uint64_t>{3});
}

TEST(AdmissionTest, QueuedRequestsExpireAfterTheLanesMaxWait) {
  AdmissionController a({{0, 1, 10, 5s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 0, "c", t0), D::kQueued);
  EXPECT_EQ(a.Arrive(3, 0, "c", t0 + 3s), D::kQueued);
  EXPECT_EQ(a.NextExpiry(), t0 + 5s);
  EXPECT_TRUE(a.Expire(t0 + 4s).empty());
  EXPECT_EQ(a.Expire(t0 + 5s), std::vector<uint64_t>{2});
  EXPECT_EQ(a.queued(0), 1);
  EXPECT_EQ(a.NextExpiry(), t0 + 8s);
}

TEST(AdmissionTest, AZeroQueueRejectsAsSoonAsTheLaneIsFull) {
  AdmissionController a({{0, 1, 0, 5s, true}}, {{0}});
  EXPECT_EQ(a.Arrive(1, 0, "c", t0), D::kGranted);
  EXPECT_EQ(a.Arrive(2, 0, "c", t0), D::kRejected);
}

}  // namespace
}  // namespace cortex::gateway
