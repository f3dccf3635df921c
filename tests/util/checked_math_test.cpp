#include "util/checked_math.h"

#include <gtest/gtest.h>

namespace cortex {
namespace {

TEST(CheckedMathTest, SaturatesInsteadOfWrapping) {
  EXPECT_EQ(SatMul(uint64_t{1} << 32, uint64_t{1} << 32), UINT64_MAX);
  EXPECT_EQ(SatMul(uint64_t{1} << 31, 4, 1024, 1024, 1024), uint64_t{1} << 63);
  EXPECT_EQ(SatMul(uint64_t{1} << 32, 1 << 20, 1 << 20, 4), UINT64_MAX);
  EXPECT_EQ(SatMul(0, UINT64_MAX), 0u);
  EXPECT_EQ(SatAdd(UINT64_MAX - 1, 5), UINT64_MAX);
  EXPECT_EQ(SatAdd(2, 3), 5u);
}

}  // namespace
}  // namespace cortex
