#include "util/bytes.h"

#include <gtest/gtest.h>

namespace cortex {
namespace {

TEST(BytesTest, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseByteSize("128GiB"), 128ull << 30);
  EXPECT_EQ(*ParseByteSize("20GB"), 20'000'000'000ull);
  EXPECT_EQ(*ParseByteSize("1.5 GiB"), 3ull << 29);
  EXPECT_EQ(*ParseByteSize("512MiB"), 512ull << 20);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_EQ(*ParseByteSize("7 B"), 7u);
}

TEST(BytesTest, RefusesWhatIsNotASize) {
  for (const char* bad :
       {"", "GiB", "-1GiB", "12 Gigs", "1.5", "99999999999999999999", "16EiB", "17179869184GiB"}) {
    SCOPED_TRACE(bad);
    auto r = ParseByteSize(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(BytesTest, ParsesBandwidth) {
  EXPECT_EQ(*ParseBandwidth("256GB/s"), 256'000'000'000ull);
  EXPECT_FALSE(ParseBandwidth("256GB").ok());
}

TEST(BytesTest, FormatsWithTheLargestBinaryUnit) {
  EXPECT_EQ(FormatBytes(17), "17 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(401408000000ull), "373.84 GiB");
}

TEST(BytesTest, GroupsThousands) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(616448), "616,448");
  EXPECT_EQ(FormatCount(4000000), "4,000,000");
  EXPECT_EQ(FormatCount(12345678901ull), "12,345,678,901");
}

}  // namespace
}  // namespace cortex
