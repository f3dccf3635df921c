#include "model/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "model/safetensors_writer.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

using ::cortex::testing::TempDir;
using ::cortex::testing::TensorSpec;
using ::cortex::testing::WriteRawSafetensors;
using ::cortex::testing::WriteSafetensors;
using ::cortex::testing::WriteText;
using ::testing::HasSubstr;

TEST(SafetensorsDtypeTest, KnowsTheFormatsDtypes) {
  EXPECT_EQ(SafetensorsDtypeBits("BF16"), 16u);
  EXPECT_EQ(SafetensorsDtypeBits("F32"), 32u);
  EXPECT_EQ(SafetensorsDtypeBits("F64"), 64u);
  EXPECT_EQ(SafetensorsDtypeBits("I8"), 8u);
  EXPECT_EQ(SafetensorsDtypeBits("BOOL"), 8u);
  EXPECT_EQ(SafetensorsDtypeBits("F8_E4M3"), 8u);
  EXPECT_EQ(SafetensorsDtypeBits("F8_E5M2"), 8u);
  EXPECT_EQ(SafetensorsDtypeBits("F4"), 4u);
  EXPECT_EQ(SafetensorsDtypeBits("bf16"), std::nullopt);  // the format spells them upper case
  EXPECT_EQ(SafetensorsDtypeBits("Q4_K"), std::nullopt);
}

TEST(SafetensorsHeaderTest, ReadsTensorsMetadataAndBytes) {
  TempDir dir;
  const std::string path = dir.File("model.safetensors");
  const uint64_t data = WriteSafetensors(path,
                                         {{"b.weight", "F32", {2, 3}},
                                          {"a.weight", "BF16", {4, 8}},
                                          {"c.scalar", "F32", {}},
                                          {"d.int8", "I8", {5}}},
                                         R"({"format":"pt","ignored":7})");
  ASSERT_EQ(data, 24u + 64u + 4u + 5u);

  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->file_size, std::filesystem::file_size(path));
  EXPECT_EQ(h->file_size, 8 + h->header_bytes + data);
  EXPECT_EQ(h->TensorBytes(), data);
  ASSERT_EQ(h->tensors.size(), 4u);
  // Ordered by offset, which is file order here.
  EXPECT_EQ(h->tensors[0].name, "b.weight");
  EXPECT_EQ(h->tensors[0].dtype, "F32");
  EXPECT_EQ(h->tensors[0].shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(h->tensors[0].data_begin, 0u);
  EXPECT_EQ(h->tensors[0].data_end, 24u);
  EXPECT_EQ(h->tensors[1].name, "a.weight");
  EXPECT_EQ(h->tensors[1].n_bytes(), 64u);
  EXPECT_TRUE(h->tensors[2].shape.empty());
  EXPECT_EQ(h->tensors[2].n_bytes(), 4u);
  EXPECT_EQ(h->metadata.size(), 1u);  // the non-string value is skipped
  EXPECT_EQ(h->metadata.at("format"), "pt");
}

TEST(SafetensorsHeaderTest, TrustsOffsetsOfUnknownDtypes) {
  TempDir dir;
  const std::string path = dir.File("x.safetensors");
  const std::string header =
      R"({"q":{"dtype":"SOMETHING_NEW","shape":[1000],"data_offsets":[0,10]}})";
  WriteRawSafetensors(path, header.size(), header, 10);
  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->TensorBytes(), 10u);
}

TEST(SafetensorsHeaderTest, SizesSubByteDtypesInBits) {
  TempDir dir;
  const std::string path = dir.File("x.safetensors");
  const std::string header = R"({"q":{"dtype":"F4","shape":[4,3],"data_offsets":[0,6]}})";
  WriteRawSafetensors(path, header.size(), header, 6);
  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->TensorBytes(), 6u);
}

TEST(SafetensorsHeaderTest, MissingFileIsNotFound) {
  TempDir dir;
  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(dir.File("absent.safetensors"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(h.status().message(), HasSubstr("absent.safetensors"));
}

TEST(SafetensorsHeaderTest, TruncatedPrefixInMemoryIsReported) {
  const std::string header = R"({"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})";
  std::vector<uint8_t> bytes(8, 0);
  bytes[0] = static_cast<uint8_t>(header.size());
  bytes.insert(bytes.end(), header.begin(), header.begin() + 10);  // only part of the header
  StatusOr<SafetensorsHeader> h = ParseSafetensorsHeader(bytes, 8 + header.size() + 1, "mem");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(h.status().message(), HasSubstr("only 10 of the"));
}

struct HostileCase {
  std::string label;
  uint64_t length;  // the 8-byte prefix; kUseHeaderSize for the header's real size
  std::string header;
  uint64_t data_bytes;
  std::string expected;
};

constexpr uint64_t kUseHeaderSize = UINT64_MAX;

void PrintTo(const HostileCase& c, std::ostream* os) {
  *os << c.label;
}

class SafetensorsHostileTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(SafetensorsHostileTest, IsCorruptionNamingTheProblem) {
  const HostileCase& c = GetParam();
  TempDir dir;
  const std::string path = dir.File("bad.safetensors");
  WriteRawSafetensors(path, c.length == kUseHeaderSize ? c.header.size() : c.length, c.header,
                      c.data_bytes);
  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(path);
  ASSERT_FALSE(h.ok()) << c.label;
  EXPECT_EQ(h.status().code(), Status::Code::kCorruption) << h.status().ToString();
  EXPECT_THAT(h.status().message(), HasSubstr(c.expected)) << c.label;
  EXPECT_THAT(h.status().message(), HasSubstr(path)) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    Table, SafetensorsHostileTest,
    ::testing::Values(
        HostileCase{"header_length_past_eof", 1000, "{}", 0, "runs past the end of the file"},
        HostileCase{"header_length_huge", 1ull << 62, "{}", 0, "larger than the"},
        HostileCase{"header_length_just_over_cap", kMaxSafetensorsHeaderBytes + 1, "{}", 0,
                    "larger than the"},
        HostileCase{"bad_json", kUseHeaderSize, "{\"a\": {", 0, "not valid JSON"},
        HostileCase{"header_not_object", kUseHeaderSize, "[1,2]", 0, "must be a JSON object"},
        HostileCase{"tensor_not_object", kUseHeaderSize, R"({"a":5})", 0,
                    "tensor 'a': expected an object"},
        HostileCase{"offsets_past_eof", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8,
                    "end past the data section, which holds 8 bytes"},
        HostileCase{"offsets_reversed", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8,
                    "end before they begin"},
        HostileCase{"shape_offset_mismatch", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})", 16,
                    "shape holds 4 elements of F32 = 16 bytes, but data_offsets [0, 8] span 8"},
        HostileCase{"shape_overflow", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                    R"("data_offsets":[0,8]}})",
                    8, "more elements than 64 bits can count"},
        HostileCase{"negative_dim", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
                    "shape entry must not be negative"},
        HostileCase{"string_dim", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":["4"],"data_offsets":[0,16]}})", 16,
                    "expected a whole number, got a string"},
        HostileCase{"missing_dtype", kUseHeaderSize, R"({"a":{"shape":[1],"data_offsets":[0,4]}})",
                    4, "no \"dtype\""},
        HostileCase{"dtype_not_string", kUseHeaderSize,
                    R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", 4,
                    "\"dtype\" must be a string"},
        HostileCase{"offsets_wrong_arity", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4,
                    "\"data_offsets\" must be an array [begin, end]"},
        HostileCase{"f4_partial_byte", kUseHeaderSize,
                    R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2,
                    "do not fill whole bytes"},
        HostileCase{"overlapping_tensors", kUseHeaderSize,
                    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    12, "overlap"},
        HostileCase{"metadata_not_object", kUseHeaderSize, R"({"__metadata__":"pt"})", 0,
                    "\"__metadata__\" must be an object"}),
    [](const ::testing::TestParamInfo<HostileCase>& info) { return info.param.label; });

TEST(SafetensorsHeaderTest, FileShorterThanTheLengthPrefixIsCorrupt) {
  TempDir dir;
  const std::string path = dir.File("tiny.safetensors");
  WriteText(path, "abc");
  StatusOr<SafetensorsHeader> h = ReadSafetensorsHeader(path);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(h.status().message(), HasSubstr("too short"));
}

TEST(SafetensorsDirTest, SumsEveryFileWithoutAnIndex) {
  TempDir dir;
  const uint64_t a = WriteSafetensors(dir.File("a.safetensors"), {{"x", "BF16", {16, 16}}});
  const uint64_t b = WriteSafetensors(dir.File("b.safetensors"), {{"y", "F32", {3}}});
  WriteText(dir.File("README.md"), "not a checkpoint");
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->files, (std::vector<std::string>{"a.safetensors", "b.safetensors"}));
  EXPECT_EQ(c->total_bytes, a + b);
  EXPECT_TRUE(c->exact);
  EXPECT_EQ(c->tensor_bytes.size(), 2u);
}

TEST(SafetensorsDirTest, ReadsOnlyTheShardsTheIndexNames) {
  TempDir dir;
  const uint64_t s1 = WriteSafetensors(dir.File("model-00001-of-00002.safetensors"),
                                       {{"model.embed_tokens.weight", "BF16", {10, 8}}});
  const uint64_t s2 = WriteSafetensors(dir.File("model-00002-of-00002.safetensors"),
                                       {{"lm_head.weight", "BF16", {10, 8}}});
  // vLLM ignores files the index does not name (e.g. Mistral's consolidated.safetensors).
  WriteSafetensors(dir.File("consolidated.safetensors"), {{"everything", "BF16", {100}}});
  WriteText(dir.File("model.safetensors.index.json"), R"({
    "metadata": {"total_size": 320},
    "weight_map": {
      "lm_head.weight": "model-00002-of-00002.safetensors",
      "model.embed_tokens.weight": "model-00001-of-00002.safetensors"
    }})");
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->files.size(), 2u);
  EXPECT_EQ(c->total_bytes, s1 + s2);
  EXPECT_TRUE(c->exact);
}

TEST(SafetensorsDirTest, MissingShardFallsBackToIndexTotal) {
  TempDir dir;
  WriteSafetensors(dir.File("model-00001-of-00002.safetensors"), {{"a", "BF16", {4}}});
  WriteText(dir.File("model.safetensors.index.json"), R"({
    "metadata": {"total_size": 123456789},
    "weight_map": {"a": "model-00001-of-00002.safetensors",
                   "b": "model-00002-of-00002.safetensors"}})");
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->exact);
  EXPECT_EQ(c->total_bytes, 123456789u);
  EXPECT_TRUE(c->tensor_bytes.empty());
  EXPECT_THAT(c->note, HasSubstr("model-00002-of-00002.safetensors is missing"));
}

TEST(SafetensorsDirTest, MissingShardWithoutTotalIsNotFound) {
  TempDir dir;
  WriteText(dir.File("model.safetensors.index.json"),
            R"({"weight_map": {"a": "model-00001-of-00001.safetensors"}})");
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("no metadata.total_size"));
}

struct IndexCase {
  std::string label;
  std::string index;
  std::string expected;
};

void PrintTo(const IndexCase& c, std::ostream* os) {
  *os << c.label;
}

class SafetensorsBadIndexTest : public ::testing::TestWithParam<IndexCase> {};

TEST_P(SafetensorsBadIndexTest, IsCorruption) {
  TempDir dir;
  WriteSafetensors(dir.File("model.safetensors"), {{"a", "BF16", {4}}});
  WriteText(dir.File("model.safetensors.index.json"), GetParam().index);
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kCorruption) << c.status().ToString();
  EXPECT_THAT(c.status().message(), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Table, SafetensorsBadIndexTest,
    ::testing::Values(
        IndexCase{"bad_json", "{\"weight_map\": ", "not valid JSON"},
        IndexCase{"no_weight_map", R"({"metadata": {}})", "no \"weight_map\""},
        IndexCase{"empty_weight_map", R"({"weight_map": {}})", "weight_map is empty"},
        IndexCase{"file_not_string", R"({"weight_map": {"a": 3}})", "must be a file name"},
        IndexCase{"escapes_directory", R"({"weight_map": {"a": "../other/model.safetensors"}})",
                  "not a file in this directory"}),
    [](const ::testing::TestParamInfo<IndexCase>& info) { return info.param.label; });

TEST(SafetensorsDirTest, EmptyDirectoryIsNotFound) {
  TempDir dir;
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("no *.safetensors files"));
}

TEST(SafetensorsDirTest, PytorchBinOnlyIsUnsupported) {
  TempDir dir;
  WriteText(dir.File("pytorch_model.bin"), "pickle");
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUnsupported);
  EXPECT_THAT(c.status().message(), HasSubstr(".bin"));
}

TEST(SafetensorsDirTest, CorruptShardFailsTheDirectory) {
  TempDir dir;
  WriteSafetensors(dir.File("a.safetensors"), {{"x", "BF16", {4}}});
  WriteRawSafetensors(dir.File("b.safetensors"), 1000, "{}", 0);
  StatusOr<SafetensorsCheckpoint> c = ReadSafetensorsDir(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(c.status().message(), HasSubstr("b.safetensors"));
}

}  // namespace
}  // namespace cortex
