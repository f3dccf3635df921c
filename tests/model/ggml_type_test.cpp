#include "model/ggml_type.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace cortex {
namespace {

uint64_t RowBytesOrDie(GgmlType type, uint64_t n) {
  StatusOr<uint64_t> bytes = GgmlRowBytes(type, n);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : 0;
}

TEST(GgmlTypeTest, RowBytesFollowBlockSizes) {
  EXPECT_EQ(RowBytesOrDie(GgmlType::kF32, 4096), 16384u);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kF16, 4096), 8192u);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kBF16, 7), 14u);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ8_0, 4096), 4096u / 32 * 34);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ4_0, 4096), 4096u / 32 * 18);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ5_1, 4096), 4096u / 32 * 24);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ4_K, 4096), 4096u / 256 * 144);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ6_K, 256), 210u);
  EXPECT_EQ(RowBytesOrDie(GgmlType::kQ8_0, 0), 0u);
}

TEST(GgmlTypeTest, RowBytesUncheckedAgreesWithChecked) {
  for (GgmlType t : {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_1,
                     GgmlType::kQ4_K, GgmlType::kIQ4_XS}) {
    const uint64_t n = 256 * 11;
    EXPECT_EQ(RowBytesUnchecked(t, n), RowBytesOrDie(t, n)) << GgmlTypeName(t);
  }
}

TEST(GgmlTypeTest, RejectsRowThatIsNotWholeBlocks) {
  StatusOr<uint64_t> q4 = GgmlRowBytes(GgmlType::kQ4_0, 33);
  ASSERT_FALSE(q4.ok());
  EXPECT_EQ(q4.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(q4.status().message().find("33 elements"), std::string::npos) << q4.status().message();
  EXPECT_NE(q4.status().message().find("q4_0"), std::string::npos) << q4.status().message();

  StatusOr<uint64_t> k = GgmlRowBytes(GgmlType::kQ4_K, 4096 + 32);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument);
}

TEST(GgmlTypeTest, RejectsRowWhoseBytesOverflow) {
  StatusOr<uint64_t> bytes = GgmlRowBytes(GgmlType::kF64, UINT64_MAX / 4);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), Status::Code::kOutOfRange);
}

TEST(GgmlTypeTest, FindsTypesByIdAndRefusesRemovedOrUnknownIds) {
  ASSERT_NE(FindGgmlType(8), nullptr);
  EXPECT_EQ(FindGgmlType(8)->type, GgmlType::kQ8_0);
  EXPECT_EQ(FindGgmlType(8)->block_size, 32u);
  EXPECT_EQ(FindGgmlType(8)->type_size, 34u);
  EXPECT_EQ(FindGgmlType(4), nullptr);   // q4_2, removed
  EXPECT_EQ(FindGgmlType(5), nullptr);   // q4_3, removed
  EXPECT_EQ(FindGgmlType(31), nullptr);  // q4_0_4_4, removed
  EXPECT_EQ(FindGgmlType(37), nullptr);  // iq4_nl_4_8, removed
  EXPECT_EQ(FindGgmlType(43), nullptr);
  EXPECT_EQ(FindGgmlType(200), nullptr);
}

TEST(GgmlTypeTest, LooksUpNamesCaseInsensitively) {
  EXPECT_EQ(GgmlTypeFromName("q8_0"), GgmlType::kQ8_0);
  EXPECT_EQ(GgmlTypeFromName("Q8_0"), GgmlType::kQ8_0);
  EXPECT_EQ(GgmlTypeFromName("q4_k"), GgmlType::kQ4_K);
  EXPECT_EQ(GgmlTypeFromName("BF16"), GgmlType::kBF16);
  EXPECT_EQ(GgmlTypeFromName("q4_2"), std::nullopt);
  EXPECT_EQ(GgmlTypeFromName(""), std::nullopt);
  EXPECT_EQ(GgmlTypeName(GgmlType::kQ4_K), "q4_K");
  EXPECT_EQ(GgmlTypeName(GgmlType::kIQ2_XXS), "iq2_xxs");
}

TEST(GgmlTypeTest, KnowsWhichTypesCanHoldTheKvCache) {
  EXPECT_TRUE(IsKvCacheType(GgmlType::kF16));
  EXPECT_TRUE(IsKvCacheType(GgmlType::kQ8_0));
  EXPECT_TRUE(IsKvCacheType(GgmlType::kQ4_0));
  EXPECT_FALSE(IsKvCacheType(GgmlType::kQ4_K));
  EXPECT_FALSE(IsKvCacheType(GgmlType::kI32));
}

TEST(GgmlTypeTest, MarksQuantizedTypes) {
  EXPECT_TRUE(IsQuantized(GgmlType::kQ8_0));
  EXPECT_TRUE(IsQuantized(GgmlType::kIQ1_M));
  EXPECT_FALSE(IsQuantized(GgmlType::kF16));
  EXPECT_FALSE(IsQuantized(GgmlType::kBF16));
}

}  // namespace
}  // namespace cortex
