#include "model/gguf_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/gguf_writer.h"
#include "model/synthetic_model.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

using ::cortex::testing::GgufWriter;
using ::cortex::testing::SyntheticModelSpec;
using ::cortex::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Bytes = std::vector<uint8_t>;
using Code = Status::Code;

StatusOr<GgufFile> Parse(const Bytes& bytes, const GgufReadOptions& options = {}) {
  return ParseGguf(std::span<const uint8_t>(bytes), options);
}

Bytes ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Bytes F32Data(std::initializer_list<float> values) {
  Bytes out;
  for (float v : values)
    GgufWriter::PutF32(&out, v);
  return out;
}

// A small file with one entry of every scalar type and each kind of array.
GgufWriter EveryTypeWriter() {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint8("t.u8", 200);
  w.AddInt8("t.i8", -5);
  w.AddUint16("t.u16", 60000);
  w.AddInt16("t.i16", -300);
  w.AddUint32("t.u32", 4000000000u);
  w.AddInt32("t.i32", -2000000000);
  w.AddUint64("t.u64", (1ull << 63) + 5);
  w.AddInt64("t.i64", -(int64_t{1} << 40));
  w.AddFloat32("t.f32", 0.5f);
  w.AddFloat64("t.f64", 1e300);
  w.AddBool("t.bool", true);
  w.AddBool("t.false", false);
  w.AddString("t.str", std::string("a\0b\xE2\x96\x81", 6));
  w.AddString("t.empty", "");
  const std::vector<int32_t> ints = {8, -4, 8, 8};
  w.AddInt32Array("t.i32s", ints);
  const std::vector<uint32_t> uints = {1, 2, 3};
  w.AddUint32Array("t.u32s", uints);
  const std::vector<float> floats = {0.25f, -1.5f};
  w.AddFloat32Array("t.f32s", floats);
  const std::vector<std::string> strings = {"<unk>", "", "hello"};
  w.AddStringArray("t.strs", strings);
  return w;
}

// A file with three tensors whose data ends exactly at the end of the file (the last tensor is
// a whole number of alignment units), so that every proper prefix of it is invalid.
GgufWriter ThreeTensorWriter() {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.block_count", 1);
  w.AddTensor("a.weight", GgmlType::kF32, {3}, F32Data({1, 2, 3}));
  w.AddTensor("b.weight", GgmlType::kQ8_0, {32, 2});
  w.AddTensor("c.weight", GgmlType::kF16, {16, 2, 1, 1});  // 64 bytes
  return w;
}

// --- Round trips ----------------------------------------------------------------------------

class GgufRoundTripTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTripTest, ReadsBackMetadataOfEveryType) {
  GgufWriter w = EveryTypeWriter();
  w.SetVersion(GetParam());
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, GetParam());
  EXPECT_EQ(f->metadata.size(), 19u);

  EXPECT_EQ(f->GetString("general.architecture"), "llama");
  EXPECT_EQ(f->Find("t.u8")->type, GgufValueType::kUint8);
  EXPECT_EQ(f->GetUint("t.u8"), 200u);
  EXPECT_EQ(f->Find("t.i8")->type, GgufValueType::kInt8);
  EXPECT_EQ(f->GetInt("t.i8"), -5);
  EXPECT_EQ(f->GetUint("t.u16"), 60000u);
  EXPECT_EQ(f->GetInt("t.i16"), -300);
  EXPECT_EQ(f->GetUint("t.u32"), 4000000000u);
  EXPECT_EQ(f->GetInt("t.i32"), -2000000000);
  EXPECT_EQ(f->GetUint("t.u64"), (1ull << 63) + 5);
  EXPECT_EQ(f->GetInt("t.i64"), -(int64_t{1} << 40));
  EXPECT_EQ(f->Find("t.f32")->type, GgufValueType::kFloat32);
  EXPECT_EQ(f->GetFloat("t.f32"), 0.5);
  EXPECT_EQ(f->GetFloat("t.f64"), 1e300);
  EXPECT_EQ(f->GetBool("t.bool"), true);
  EXPECT_EQ(f->GetBool("t.false"), false);
  EXPECT_EQ(f->GetString("t.str"), std::string("a\0b\xE2\x96\x81", 6));
  EXPECT_EQ(f->GetString("t.empty"), "");
}

TEST_P(GgufRoundTripTest, ReadsBackTensorsWithAlignedOffsets) {
  GgufWriter w = ThreeTensorWriter();
  w.SetVersion(GetParam());
  const Bytes bytes = w.Bytes();
  StatusOr<GgufFile> f = Parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment, 32u);
  EXPECT_EQ(f->file_size, bytes.size());
  EXPECT_EQ(f->data_offset % 32, 0u);
  ASSERT_EQ(f->tensors.size(), 3u);

  const GgufTensorInfo& a = f->tensors[0];
  EXPECT_EQ(a.name, "a.weight");
  EXPECT_EQ(a.n_dims, 1u);
  EXPECT_EQ(a.ne, (std::array<uint64_t, 4>{3, 1, 1, 1}));
  EXPECT_EQ(a.type, GgmlType::kF32);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.n_elements, 3u);
  EXPECT_EQ(a.n_bytes, 12u);

  const GgufTensorInfo& b = f->tensors[1];
  EXPECT_EQ(b.type, GgmlType::kQ8_0);
  EXPECT_EQ(b.offset, 32u);  // 12 bytes padded to 32
  EXPECT_EQ(b.n_elements, 64u);
  EXPECT_EQ(b.n_bytes, 68u);

  const GgufTensorInfo& c = f->tensors[2];
  EXPECT_EQ(c.n_dims, 4u);
  EXPECT_EQ(c.offset, 32u + 96u);  // 68 bytes padded to 96
  EXPECT_EQ(c.n_bytes, 64u);
  EXPECT_EQ(f->data_offset + c.offset + c.n_bytes, bytes.size());

  // The first tensor's data is where the offsets say.
  float first;
  std::memcpy(&first, bytes.data() + f->data_offset + 4, sizeof(first));
  EXPECT_EQ(first, 2.0f);

  EXPECT_EQ(f->FindTensor("b.weight"), &f->tensors[1]);
  EXPECT_EQ(f->FindTensor("missing"), nullptr);
  EXPECT_EQ(f->TensorDataBytes(), 12u + 68u + 64u);
  const std::map<GgmlType, uint64_t> by_type = f->BytesByType();
  EXPECT_EQ(by_type.size(), 3u);
  EXPECT_EQ(by_type.at(GgmlType::kQ8_0), 68u);
  EXPECT_EQ(by_type.at(GgmlType::kF16), 64u);
}

INSTANTIATE_TEST_SUITE_P(Versions, GgufRoundTripTest, ::testing::Values(2u, 3u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return "V" + std::to_string(info.param);
                         });

TEST(GgufFileTest, AccessorsRefuseIncompatibleTypes) {
  StatusOr<GgufFile> f = Parse(EveryTypeWriter().Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Find("absent"), nullptr);
  EXPECT_EQ(f->GetUint("absent"), std::nullopt);
  EXPECT_EQ(f->GetUint("t.i8"), std::nullopt);         // negative
  EXPECT_EQ(f->GetInt("t.u64"), std::nullopt);         // above INT64_MAX
  EXPECT_EQ(f->GetInt("t.u32"), int64_t{4000000000});  // unsigned that fits
  EXPECT_EQ(f->GetUint("t.i64"), std::nullopt);
  EXPECT_EQ(f->GetFloat("t.i16"), -300.0);  // integers widen to float
  EXPECT_EQ(f->GetUint("t.f32"), std::nullopt);
  EXPECT_EQ(f->GetUint("t.bool"), std::nullopt);
  EXPECT_EQ(f->GetBool("t.u8"), std::nullopt);
  EXPECT_EQ(f->GetString("t.u8"), std::nullopt);
  EXPECT_EQ(f->GetUint("t.str"), std::nullopt);
  EXPECT_EQ(f->GetArrayCount("t.u8"), std::nullopt);
  EXPECT_EQ(f->GetUint("t.i32s"), std::nullopt);
  EXPECT_EQ(f->GetIntArray("t.f32s"), std::nullopt);
  EXPECT_EQ(f->GetIntArray("t.strs"), std::nullopt);
}

TEST(GgufFileTest, KeepsShortNumericArraysAndSkipsStringArrays) {
  StatusOr<GgufFile> f = Parse(EveryTypeWriter().Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->GetIntArray("t.i32s"), (std::vector<int64_t>{8, -4, 8, 8}));
  EXPECT_EQ(f->GetIntArray("t.u32s"), (std::vector<int64_t>{1, 2, 3}));
  const GgufValue* floats = f->Find("t.f32s");
  ASSERT_NE(floats, nullptr);
  EXPECT_EQ(floats->type, GgufValueType::kArray);
  EXPECT_EQ(floats->array_type, GgufValueType::kFloat32);
  EXPECT_TRUE(floats->array_kept);
  EXPECT_EQ(floats->array_floats, (std::vector<double>{0.25, -1.5}));

  const GgufValue* strings = f->Find("t.strs");
  ASSERT_NE(strings, nullptr);
  EXPECT_EQ(strings->array_type, GgufValueType::kString);
  EXPECT_EQ(strings->array_count, 3u);
  EXPECT_FALSE(strings->array_kept);
  EXPECT_TRUE(strings->array_strings.empty());
  EXPECT_EQ(f->GetArrayCount("t.strs"), 3u);
  // Skipping the array must leave the reader at the next entry.
  EXPECT_EQ(f->GetString("t.str").value_or("").size(), 6u);
}

TEST(GgufFileTest, KeepsStringArraysWhenAsked) {
  GgufReadOptions options;
  options.keep_string_arrays = true;
  StatusOr<GgufFile> f = Parse(EveryTypeWriter().Bytes(), options);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufValue* strings = f->Find("t.strs");
  ASSERT_NE(strings, nullptr);
  EXPECT_TRUE(strings->array_kept);
  EXPECT_EQ(strings->array_strings, (std::vector<std::string>{"<unk>", "", "hello"}));
}

TEST(GgufFileTest, CountsButDoesNotKeepNumericArraysAboveTheLimit) {
  GgufWriter w;
  const std::vector<int32_t> values(100, 7);
  w.AddInt32Array("long", values);
  w.AddUint8("after", 9);
  GgufReadOptions options;
  options.max_kept_numeric_array = 99;
  StatusOr<GgufFile> f = Parse(w.Bytes(), options);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->GetArrayCount("long"), 100u);
  EXPECT_FALSE(f->Find("long")->array_kept);
  EXPECT_EQ(f->GetIntArray("long"), std::nullopt);
  EXPECT_EQ(f->GetUint("after"), 9u);
}

TEST(GgufFileTest, DoesNotKeepUint64ArraysThatInt64CannotHold) {
  GgufWriter w;
  Bytes value;
  GgufWriter::PutU32(&value, static_cast<uint32_t>(GgufValueType::kUint64));
  GgufWriter::PutU64(&value, 2);
  GgufWriter::PutU64(&value, 1);
  GgufWriter::PutU64(&value, std::numeric_limits<uint64_t>::max());
  w.AddRawEntry("big", static_cast<uint32_t>(GgufValueType::kArray), value);
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->GetArrayCount("big"), 2u);
  EXPECT_FALSE(f->Find("big")->array_kept);
  EXPECT_EQ(f->GetIntArray("big"), std::nullopt);
}

TEST(GgufFileTest, HonoursGeneralAlignment) {
  GgufWriter w;
  w.SetAlignment(64);
  w.AddTensor("a", GgmlType::kF32, {3});
  w.AddTensor("b", GgmlType::kF32, {16});
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment, 64u);
  EXPECT_EQ(f->data_offset % 64, 0u);
  EXPECT_EQ(f->tensors[1].offset, 64u);
}

TEST(GgufFileTest, ReadsFileWithoutTensors) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->tensors.empty());
  EXPECT_EQ(f->TensorDataBytes(), 0u);
}

TEST(GgufFileTest, AcceptsTensorWithAZeroDimension) {
  GgufWriter w;
  w.AddTensor("empty", GgmlType::kQ4_0, {64, 0});
  w.AddTensor("next", GgmlType::kF32, {2});
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->tensors[0].n_elements, 0u);
  EXPECT_EQ(f->tensors[0].n_bytes, 0u);
  EXPECT_EQ(f->tensors[1].offset, 0u);
}

TEST(GgufFileTest, SkipsArraysOfArrays) {
  // One array holding two arrays of uint16 (ggml itself reads none of these).
  GgufWriter w;
  Bytes value;
  GgufWriter::PutU32(&value, static_cast<uint32_t>(GgufValueType::kArray));
  GgufWriter::PutU64(&value, 2);
  for (int i = 0; i < 2; ++i) {
    GgufWriter::PutU32(&value, static_cast<uint32_t>(GgufValueType::kUint16));
    GgufWriter::PutU64(&value, 3);
    for (int j = 0; j < 6; ++j)
      value.push_back(0x11);
  }
  w.AddRawEntry("nested", static_cast<uint32_t>(GgufValueType::kArray), value);
  w.AddUint8("after", 3);
  StatusOr<GgufFile> f = Parse(w.Bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Find("nested")->array_type, GgufValueType::kArray);
  EXPECT_EQ(f->GetArrayCount("nested"), 2u);
  EXPECT_FALSE(f->Find("nested")->array_kept);
  EXPECT_EQ(f->GetUint("after"), 3u);
}

TEST(GgufFileTest, NamesValueTypes) {
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kUint8), "uint8");
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kFloat32), "float32");
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kString), "string");
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kArray), "array");
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kFloat64), "float64");
  EXPECT_EQ(GgufValueTypeName(static_cast<GgufValueType>(99)), "unknown");
}

// --- Files on disk --------------------------------------------------------------------------

TEST(GgufReadFileTest, ReadsTheSameAsParse) {
  TempDir dir;
  const std::string path = dir.File("m.gguf");
  GgufWriter w = ThreeTensorWriter();
  ASSERT_TRUE(w.WriteFile(path).ok());
  StatusOr<GgufFile> from_file = ReadGgufFile(path);
  StatusOr<GgufFile> from_memory = Parse(w.Bytes());
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  ASSERT_TRUE(from_memory.ok());
  EXPECT_EQ(from_file->file_size, from_memory->file_size);
  EXPECT_EQ(from_file->data_offset, from_memory->data_offset);
  EXPECT_EQ(from_file->metadata.size(), from_memory->metadata.size());
  ASSERT_EQ(from_file->tensors.size(), from_memory->tensors.size());
  for (size_t i = 0; i < from_file->tensors.size(); ++i) {
    EXPECT_EQ(from_file->tensors[i].name, from_memory->tensors[i].name);
    EXPECT_EQ(from_file->tensors[i].offset, from_memory->tensors[i].offset);
    EXPECT_EQ(from_file->tensors[i].n_bytes, from_memory->tensors[i].n_bytes);
  }
}

TEST(GgufReadFileTest, ReportsMissingFileAsNotFound) {
  TempDir dir;
  StatusOr<GgufFile> f = ReadGgufFile(dir.File("absent.gguf"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr("absent.gguf"));
}

TEST(GgufReadFileTest, ReportsDirectoryAsIoError) {
  TempDir dir;
  StatusOr<GgufFile> f = ReadGgufFile(dir.path());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kIoError);
  EXPECT_THAT(f.status().message(), HasSubstr("is a directory"));
}

TEST(GgufReadFileTest, ReportsFifoAsIoErrorWithoutBlocking) {
  TempDir dir;
  const std::string path = dir.File("pipe.gguf");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  StatusOr<GgufFile> f = ReadGgufFile(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kIoError);
  EXPECT_THAT(f.status().message(), HasSubstr("is not a regular file"));
}

TEST(GgufReadFileTest, ReportsUnreadableFileAsIoError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  TempDir dir;
  const std::string path = dir.File("locked.gguf");
  ASSERT_TRUE(ThreeTensorWriter().WriteFile(path).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  StatusOr<GgufFile> f = ReadGgufFile(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kIoError);
  EXPECT_THAT(f.status().message(), HasSubstr("cannot open"));
}

TEST(GgufReadFileTest, PrefixesErrorsWithThePath) {
  TempDir dir;
  const std::string path = dir.File("broken.gguf");
  Bytes bytes = ThreeTensorWriter().Bytes();
  bytes.resize(bytes.size() - 1);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  StatusOr<GgufFile> f = ReadGgufFile(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorruption);
  EXPECT_THAT(f.status().message(), StartsWith(path + ": at byte "));
  EXPECT_THAT(f.status().message(), HasSubstr("'c.weight'"));
}

// The header of a 20 GB model must be read without touching its tensor data: the file here is a
// sparse hole after the header, so reading the data would take minutes (or fail on a small
// disk), and the tokenizer's strings must be skipped by their lengths.
TEST(GgufReadFileTest, ReadsHeaderOfHugeSparseFileWithoutReadingTensorData) {
  TempDir dir;
  const std::string path = dir.File("huge.gguf");
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  std::vector<std::string> tokens;
  for (int i = 0; i < 150000; ++i)
    tokens.push_back("tok" + std::to_string(i));
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  const uint64_t ne0 = 5120;
  const uint64_t ne1 = 2u * 1024 * 1024;  // 5120 x 2Mi f16 = 20 GiB
  const uint64_t n_bytes = ne0 * ne1 * 2;
  w.AddRawTensorInfo("huge.weight", 2, {ne0, ne1}, static_cast<uint32_t>(GgmlType::kF16), 0);
  const Bytes header = w.Bytes();
  ASSERT_TRUE(w.WriteFile(path).ok());
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(header.size() + n_bytes)), 0)
      << std::strerror(errno);

  StatusOr<GgufFile> f = ReadGgufFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->file_size, header.size() + n_bytes);
  EXPECT_EQ(f->data_offset, header.size());
  ASSERT_EQ(f->tensors.size(), 1u);
  EXPECT_EQ(f->tensors[0].n_bytes, n_bytes);
  EXPECT_EQ(f->GetArrayCount("tokenizer.ggml.tokens"), 150000u);
  EXPECT_FALSE(f->Find("tokenizer.ggml.tokens")->array_kept);

  // One byte less and the tensor no longer fits.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(header.size() + n_bytes - 1)), 0);
  StatusOr<GgufFile> cut = ReadGgufFile(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Code::kCorruption);
  EXPECT_THAT(cut.status().message(), HasSubstr("past the end of the file"));
}

// --- Hostile input --------------------------------------------------------------------------

// Helpers that build bytes for the table below.
Bytes WithVersionBytes(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3) {
  Bytes bytes = ThreeTensorWriter().Bytes();
  bytes[4] = b0;
  bytes[5] = b1;
  bytes[6] = b2;
  bytes[7] = b3;
  return bytes;
}

Bytes WithRawEntry(uint32_t type, const Bytes& value) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddRawEntry("hostile", type, value);
  w.AddUint32("after", 1);
  return w.Bytes();
}

Bytes ArrayHeader(GgufValueType element_type, uint64_t count) {
  Bytes b;
  GgufWriter::PutU32(&b, static_cast<uint32_t>(element_type));
  GgufWriter::PutU64(&b, count);
  return b;
}

Bytes WithRawTensor(uint32_t n_dims, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddTensor("good.weight", GgmlType::kF32, {8});
  w.AddRawTensorInfo("hostile.weight", n_dims, std::move(ne), type, offset);
  Bytes bytes = w.Bytes();
  // Room after the data so that only the field under test is wrong.
  bytes.resize(bytes.size() + 4096, 0);
  return bytes;
}

Bytes WithRawTensorInfoNamed(const std::string& name) {
  GgufWriter w;
  w.AddTensor("good.weight", GgmlType::kF32, {8});
  w.AddRawTensorInfo(name, 1, {8}, static_cast<uint32_t>(GgmlType::kF32), 64);
  Bytes bytes = w.Bytes();
  bytes.resize(bytes.size() + 4096, 0);
  return bytes;
}

constexpr uint32_t kArrayType = static_cast<uint32_t>(GgufValueType::kArray);
constexpr uint32_t kStringType = static_cast<uint32_t>(GgufValueType::kString);
constexpr uint32_t kF32 = static_cast<uint32_t>(GgmlType::kF32);

struct HostileCase {
  std::string name;
  std::function<Bytes()> build;
  Code code;
  std::string message;  // a distinctive part of the expected message
  GgufReadOptions options = {};
};

// Keeps gtest from printing the case as raw bytes.
void PrintTo(const HostileCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<HostileCase> HostileCases() {
  std::vector<HostileCase> cases = {
      {"RejectsFileShorterThanMagic",
       [] {
         return Bytes{'G', 'G', 'U'};
       },
       Code::kCorruption, "at byte 0: the file is 3 bytes long, too short to be a GGUF file"},
      {"RejectsWrongMagic",
       [] {
         Bytes b = ThreeTensorWriter().Bytes();
         b[3] = 'L';
         return b;
       },
       Code::kCorruption, "not a GGUF file: it starts with bytes 47 47 55 4c"},
      {"RejectsVersion1", [] { return WithVersionBytes(1, 0, 0, 0); }, Code::kUnsupported,
       "GGUF version 1 is not supported (re-convert the model with a current llama.cpp)"},
      {"RejectsBigEndianFile", [] { return WithVersionBytes(0, 0, 0, 3); }, Code::kUnsupported,
       "big-endian"},
      {"RejectsUnknownVersion", [] { return WithVersionBytes(4, 0, 0, 0); }, Code::kUnsupported,
       "at byte 4: GGUF version 4 is not supported"},
      {"RejectsHeaderCutInTensorCount",
       [] {
         Bytes b = ThreeTensorWriter().Bytes();
         b.resize(11);
         return b;
       },
       Code::kCorruption, "at byte 8: the tensor count needs 8 bytes but the file ends after 11"},
      {"RejectsTensorCountLargerThanTheFileCanHold",
       [] {
         GgufWriter w = ThreeTensorWriter();
         w.OverrideTensorCount(1ull << 60);
         return w.Bytes();
       },
       Code::kCorruption, "at byte 8: the header claims 1152921504606846976 tensors"},
      {"RejectsMetadataCountLargerThanTheFileCanHold",
       [] {
         GgufWriter w = ThreeTensorWriter();
         w.OverrideMetadataCount(1ull << 60);
         return w.Bytes();
       },
       Code::kCorruption, "at byte 16: the header claims 1152921504606846976 metadata entries"},
      {"RejectsTensorCountAboveTheLimit", [] { return ThreeTensorWriter().Bytes(); },
       Code::kOutOfRange, "3 tensors exceed the limit of 2",
       GgufReadOptions{.max_tensor_count = 2}},
      {"RejectsMetadataCountAboveTheLimit", [] { return ThreeTensorWriter().Bytes(); },
       Code::kOutOfRange, "2 metadata entries exceed the limit of 1",
       GgufReadOptions{.max_metadata_count = 1}},
      {"RejectsStringLongerThanTheFile",
       [] {
         Bytes value;
         GgufWriter::PutU64(&value, 1ull << 62);
         value.insert(value.end(), {'a', 'b', 'c'});
         return WithRawEntry(kStringType, value);
       },
       Code::kCorruption, "string claims 4611686018427387904 bytes but only"},
      {"RejectsKeyLongerThanTheFile",
       [] {
         GgufWriter w;
         w.OverrideMetadataCount(1);
         Bytes b = w.Bytes();
         b.resize(24);  // drop the alignment padding
         GgufWriter::PutU64(&b, 1ull << 62);
         b.resize(b.size() + 64, 'k');
         return b;
       },
       Code::kCorruption, "at byte 24: key claims 4611686018427387904 bytes but only 64 remain"},
      {"RejectsStringAboveTheLimit",
       [] {
         GgufWriter w;
         w.AddString("k", "0123456789");
         return w.Bytes();
       },
       Code::kOutOfRange, "string of 10 bytes exceeds the limit of 4 bytes",
       GgufReadOptions{.max_string_bytes = 4}},
      {"RejectsArrayCountLargerThanTheFileCanHold",
       [] { return WithRawEntry(kArrayType, ArrayHeader(GgufValueType::kUint32, 1ull << 61)); },
       Code::kCorruption, "array claims 2305843009213693952 uint32 elements (at least 4 bytes"},
      {"RejectsStringArrayCountLargerThanTheFileCanHold",
       [] { return WithRawEntry(kArrayType, ArrayHeader(GgufValueType::kString, 1ull << 40)); },
       Code::kCorruption, "array claims 1099511627776 string elements"},
      {"RejectsStringInArrayLongerThanTheFile",
       [] {
         Bytes value = ArrayHeader(GgufValueType::kString, 2);
         GgufWriter::PutString(&value, "ok");
         GgufWriter::PutU64(&value, 1000);
         return WithRawEntry(kArrayType, value);
       },
       Code::kCorruption, "array string claims 1000 bytes but only"},
      {"RejectsUnknownValueType", [] { return WithRawEntry(99, {}); }, Code::kCorruption,
       "unknown value type 99 (GGUF value types are 0 to 12) (metadata entry 1 of 3, key "
       "'hostile')"},
      {"RejectsUnknownArrayElementType",
       [] { return WithRawEntry(kArrayType, ArrayHeader(static_cast<GgufValueType>(13), 0)); },
       Code::kCorruption, "unknown array element type 13"},
      {"RejectsArraysNestedThreeDeep",
       [] {
         Bytes value = ArrayHeader(GgufValueType::kArray, 1);
         const Bytes inner = ArrayHeader(GgufValueType::kArray, 1);
         value.insert(value.end(), inner.begin(), inner.end());
         const Bytes innermost = ArrayHeader(GgufValueType::kUint8, 0);
         value.insert(value.end(), innermost.begin(), innermost.end());
         return WithRawEntry(kArrayType, value);
       },
       Code::kUnsupported, "arrays nested more than 2 deep are not supported"},
      {"RejectsValueCutShort",
       [] {
         GgufWriter w;
         w.AddUint64("general.size", 7);
         Bytes b = w.Bytes();
         b.resize(24 + 8 + 12 + 4 + 5);  // header, key, value type, 5 of the value's 8 bytes
         return b;
       },
       Code::kCorruption, "the value needs 8 bytes but the file ends after 53 bytes"},
      {"RejectsEmptyKey",
       [] {
         GgufWriter w;
         w.AddUint32("", 1);
         return w.Bytes();
       },
       Code::kCorruption, "at byte 24: metadata key is empty"},
      {"RejectsDuplicateKey",
       [] {
         GgufWriter w;
         w.AddString("general.name", "a");
         w.AddString("general.name", "b");
         return w.Bytes();
       },
       Code::kCorruption, "duplicate metadata key 'general.name'"},
      {"RejectsZeroAlignment",
       [] {
         GgufWriter w = ThreeTensorWriter();
         w.AddUint32("general.alignment", 0);
         return w.Bytes();
       },
       Code::kCorruption, "general.alignment is 0; it must be a non-zero power of two"},
      {"RejectsAlignmentThatIsNotAPowerOfTwo",
       [] {
         GgufWriter w = ThreeTensorWriter();
         w.AddUint32("general.alignment", 3);
         return w.Bytes();
       },
       Code::kCorruption, "general.alignment is 3; it must be a non-zero power of two"},
      {"RejectsAlignmentThatIsNotUint32",
       [] {
         GgufWriter w = ThreeTensorWriter();
         w.AddUint64("general.alignment", 32);
         return w.Bytes();
       },
       Code::kCorruption, "general.alignment is a uint64; GGUF requires a uint32"},
      {"RejectsEmptyTensorName", [] { return WithRawTensorInfoNamed(""); }, Code::kCorruption,
       "tensor name is empty (tensor info 1 of 2, its name)"},
      {"RejectsDuplicateTensorName", [] { return WithRawTensorInfoNamed("good.weight"); },
       Code::kCorruption, "duplicate tensor name 'good.weight'"},
      {"RejectsTensorNameGgmlCannotHold",
       [] { return WithRawTensorInfoNamed(std::string(64, 'n')); }, Code::kCorruption,
       "is 64 bytes; ggml allows at most 63"},
      {"RejectsTensorsThatOverlap",
       [] {
         GgufWriter w;
         w.AddTensor("a.weight", GgmlType::kF32, {8});
         w.AddRawTensorInfo("b.weight", 1, {8}, static_cast<uint32_t>(GgmlType::kF32), 0);
         Bytes bytes = w.Bytes();
         bytes.resize(bytes.size() + 4096, 0);
         return bytes;
       },
       Code::kCorruption, "tensor 'b.weight' has data offset 0, expected 32"},
      {"RejectsTensorWithZeroDimensions", [] { return WithRawTensor(0, {}, kF32, 64); },
       Code::kCorruption, "tensor has 0 dimensions; GGUF allows 1 to 4"},
      {"RejectsTensorWithFiveDimensions",
       [] {
         return WithRawTensor(5, {1, 1, 1, 1, 1}, kF32, 64);
       },
       Code::kCorruption,
       "tensor has 5 dimensions; GGUF allows 1 to 4 (tensor info 1 of 2, tensor "
       "'hostile.weight')"},
      {"RejectsRemovedGgmlType", [] { return WithRawTensor(1, {32}, 4, 64); }, Code::kUnsupported,
       "ggml type 4 (q4_2) was removed from ggml"},
      {"RejectsUnknownGgmlType", [] { return WithRawTensor(1, {32}, 200, 64); }, Code::kUnsupported,
       "unknown ggml type 200"},
      {"RejectsShapeWhoseElementCountOverflows",
       [] {
         return WithRawTensor(2, {1ull << 32, 1ull << 32}, kF32, 64);
       },
       Code::kCorruption, "tensor shape [4294967296, 4294967296] has more than 2^63-1 elements"},
      {"RejectsShapeWhoseByteCountOverflows",
       [] { return WithRawTensor(1, {1ull << 62}, static_cast<uint32_t>(GgmlType::kF64), 64); },
       Code::kCorruption, "tensor shape [4611686018427387904] of type f64 takes more than 2^64-1"},
      {"RejectsRowThatIsNotWholeQ4_0Blocks",
       [] {
         return WithRawTensor(2, {33, 2}, static_cast<uint32_t>(GgmlType::kQ4_0), 64);
       },
       Code::kCorruption, "tensor rows have 33 elements, not a multiple of the q4_0 block size 32"},
      {"RejectsUnalignedTensorOffset", [] { return WithRawTensor(1, {8}, kF32, 17); },
       Code::kCorruption, "tensor data offset 17 is not a multiple of the alignment 32"},
      {"RejectsTensorEndingPastEndOfFile", [] { return WithRawTensor(1, {8}, kF32, 1ull << 20); },
       Code::kCorruption, "tensor 'hostile.weight' (32 bytes at data offset 1048576) ends at byte"},
      {"RejectsTensorWhoseEndOverflows",
       [] { return WithRawTensor(1, {64}, kF32, UINT64_MAX - 31); }, Code::kCorruption,
       "ends past byte 2^64, past the end of the file"},
      {"RejectsTensorDataCutShort",
       [] {
         GgufWriter w;
         w.AddTensor("short.weight", GgmlType::kF32, {64}, Bytes(100, 0));  // needs 256
         return w.Bytes();
       },
       Code::kCorruption, "tensor 'short.weight' (256 bytes at data offset 0) ends at byte"},
  };
  return cases;
}

class GgufHostileTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(GgufHostileTest, FailsWithTheExpectedStatus) {
  const HostileCase& c = GetParam();
  StatusOr<GgufFile> f = Parse(c.build(), c.options);
  ASSERT_FALSE(f.ok()) << "parsed a hostile file";
  EXPECT_EQ(f.status().code(), c.code) << f.status().ToString();
  EXPECT_THAT(f.status().message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(Table, GgufHostileTest, ::testing::ValuesIn(HostileCases()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) {
                           return info.param.name;
                         });

// Parses "at byte N: ..." and returns N, or -1.
int64_t ReportedByte(const std::string& message) {
  const std::string prefix = "at byte ";
  if (message.rfind(prefix, 0) != 0) return -1;
  return std::strtoll(message.c_str() + prefix.size(), nullptr, 10);
}

TEST(GgufHostileInputTest, EveryTruncationFailsWithCorruptionNamingAByteInTheFile) {
  const Bytes full = ThreeTensorWriter().Bytes();
  ASSERT_TRUE(Parse(full).ok());
  for (size_t len = 0; len < full.size(); ++len) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    StatusOr<GgufFile> f = Parse(prefix);
    ASSERT_FALSE(f.ok()) << "a " << len << "-byte prefix parsed";
    EXPECT_EQ(f.status().code(), Code::kCorruption) << len << ": " << f.status().ToString();
    const int64_t at = ReportedByte(f.status().message());
    EXPECT_GE(at, 0) << f.status().message();
    EXPECT_LE(at, static_cast<int64_t>(len)) << f.status().message();
  }
}

TEST(GgufHostileInputTest, EveryTruncationOfATokenizerFailsCleanly) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "hello", "world"};
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  const std::vector<float> scores = {0, 0, 0, -1, -2};
  w.AddFloat32Array("tokenizer.ggml.scores", scores);
  w.AddTensor("x", GgmlType::kF32, {8});
  const Bytes full = w.Bytes();
  GgufReadOptions keep;
  keep.keep_string_arrays = true;
  for (size_t len = 0; len < full.size(); ++len) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    for (const GgufReadOptions& options : {GgufReadOptions{}, keep}) {
      StatusOr<GgufFile> f = Parse(prefix, options);
      ASSERT_FALSE(f.ok()) << "a " << len << "-byte prefix parsed";
      EXPECT_EQ(f.status().code(), Code::kCorruption) << f.status().ToString();
    }
  }
}

// Overwrites each byte of a valid file in turn with values that tend to mean "huge" or
// "unknown"; every result must be a clean parse or a clean error.
TEST(GgufHostileInputTest, SingleByteCorruptionsNeverCrash) {
  const Bytes full = EveryTypeWriter().Bytes();
  GgufReadOptions keep;
  keep.keep_string_arrays = true;
  int failures = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0xff}}) {
      Bytes b = full;
      b[i] = v;
      StatusOr<GgufFile> f = Parse(b, keep);
      if (!f.ok()) {
        ++failures;
        EXPECT_FALSE(f.status().message().empty());
      }
    }
  }
  EXPECT_GT(failures, 0);
}

// --- Synthetic models -----------------------------------------------------------------------

struct ExpectedTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> shape;
};

std::vector<ExpectedTensor> ExpectedLlamaTensors(const SyntheticModelSpec& spec) {
  const uint64_t n_embd = spec.n_embd;
  const uint64_t head_dim = spec.head_dim != 0 ? spec.head_dim : spec.n_embd / spec.n_head;
  const uint64_t n_vocab = testing::SyntheticVocabSize(spec);
  const GgmlType w = spec.weight_type;
  std::vector<ExpectedTensor> out = {
      {"token_embd.weight", spec.embd_type.value_or(w), {n_embd, n_vocab}},
      {"output_norm.weight", GgmlType::kF32, {n_embd}},
  };
  if (!spec.tie_embeddings) out.push_back({"output.weight", w, {n_embd, n_vocab}});
  for (uint32_t i = 0; i < spec.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    out.push_back({b + "attn_norm.weight", GgmlType::kF32, {n_embd}});
    out.push_back({b + "attn_q.weight", w, {n_embd, spec.n_head * head_dim}});
    out.push_back({b + "attn_k.weight", w, {n_embd, spec.n_head_kv * head_dim}});
    out.push_back({b + "attn_v.weight", w, {n_embd, spec.n_head_kv * head_dim}});
    out.push_back({b + "attn_output.weight", w, {spec.n_head * head_dim, n_embd}});
    out.push_back({b + "ffn_norm.weight", GgmlType::kF32, {n_embd}});
    out.push_back({b + "ffn_gate.weight", w, {n_embd, spec.n_ff}});
    out.push_back({b + "ffn_up.weight", w, {n_embd, spec.n_ff}});
    out.push_back({b + "ffn_down.weight", w, {spec.n_ff, n_embd}});
  }
  return out;
}

void ExpectTensorsMatch(const GgufFile& f, const SyntheticModelSpec& spec) {
  const std::vector<ExpectedTensor> expected = ExpectedLlamaTensors(spec);
  ASSERT_EQ(f.tensors.size(), expected.size());
  uint64_t total = 0;
  for (const ExpectedTensor& e : expected) {
    const GgufTensorInfo* t = f.FindTensor(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->type, e.type) << e.name;
    EXPECT_EQ(t->n_dims, e.shape.size()) << e.name;
    for (size_t d = 0; d < e.shape.size(); ++d)
      EXPECT_EQ(t->ne[d], e.shape[d]) << e.name;
    const uint64_t bytes = GgufWriter::TensorBytes(e.type, e.shape);
    EXPECT_EQ(t->n_bytes, bytes) << e.name;
    total += bytes;
  }
  EXPECT_EQ(f.TensorDataBytes(), total);
}

class SyntheticModelTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(SyntheticModelTest, ReadsBackAsALlamaModel) {
  TempDir dir;
  const std::string path = dir.File("synthetic.gguf");
  SyntheticModelSpec spec;
  spec.weight_type = GetParam();
  ASSERT_TRUE(testing::WriteSyntheticModel(path, spec).ok());

  GgufReadOptions options;
  options.keep_string_arrays = true;
  StatusOr<GgufFile> f = ReadGgufFile(path, options);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, 3u);
  EXPECT_EQ(f->GetString("general.architecture"), "llama");
  EXPECT_EQ(f->GetString("general.name"), "cortex-synthetic");
  EXPECT_EQ(f->GetUint("llama.context_length"), 8192u);
  EXPECT_EQ(f->GetUint("llama.embedding_length"), 256u);
  EXPECT_EQ(f->GetUint("llama.block_count"), 2u);
  EXPECT_EQ(f->GetUint("llama.feed_forward_length"), 512u);
  EXPECT_EQ(f->GetUint("llama.attention.head_count"), 4u);
  EXPECT_EQ(f->GetUint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(f->GetUint("llama.rope.dimension_count"), 64u);
  EXPECT_EQ(f->Find("llama.attention.key_length"), nullptr);
  EXPECT_NEAR(f->GetFloat("llama.attention.layer_norm_rms_epsilon").value_or(0), 1e-5, 1e-10);
  EXPECT_EQ(f->GetFloat("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(f->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f->GetUint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f->GetUint("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_EQ(f->GetUint("tokenizer.ggml.unknown_token_id"), 0u);
  EXPECT_EQ(f->GetBool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_THAT(f->GetString("tokenizer.chat_template").value_or(""), HasSubstr("<|im_start|>"));

  const uint64_t n_vocab = 3 + 256 + 256;
  EXPECT_EQ(f->GetUint("llama.vocab_size"), n_vocab);
  EXPECT_EQ(f->GetArrayCount("tokenizer.ggml.scores"), n_vocab);
  const GgufValue* tokens = f->Find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->array_strings.size(), n_vocab);
  EXPECT_EQ(tokens->array_strings[0], "<unk>");
  EXPECT_EQ(tokens->array_strings[2], "</s>");
  EXPECT_EQ(tokens->array_strings[3], "<0x00>");
  EXPECT_EQ(tokens->array_strings[3 + 0x0A], "<0x0A>");
  EXPECT_EQ(tokens->array_strings[258], "<0xFF>");
  EXPECT_EQ(tokens->array_strings[259], "\xE2\x96\x81");
  const std::set<std::string> unique(tokens->array_strings.begin(), tokens->array_strings.end());
  EXPECT_EQ(unique.size(), n_vocab);
  std::optional<std::vector<int64_t>> types = f->GetIntArray("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.has_value());
  ASSERT_EQ(types->size(), n_vocab);
  EXPECT_EQ((*types)[0], 2);
  EXPECT_EQ((*types)[1], 3);
  EXPECT_EQ((*types)[3], 6);
  EXPECT_EQ((*types)[259], 1);

  ExpectTensorsMatch(*f, spec);
  EXPECT_LE(f->data_offset + f->TensorDataBytes(), f->file_size);
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, SyntheticModelTest,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16,
                                           GgmlType::kQ8_0, GgmlType::kQ4_0),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return std::string(GgmlTypeName(info.param));
                         });

TEST(SyntheticModelSpecTest, TiedEmbeddingsAndExplicitHeadDimShapeTheTensors) {
  TempDir dir;
  const std::string path = dir.File("tied.gguf");
  SyntheticModelSpec spec;
  spec.n_layer = 3;
  spec.n_head = 8;
  spec.n_head_kv = 1;
  spec.head_dim = 64;  // n_head * head_dim = 512, twice n_embd
  spec.weight_type = GgmlType::kQ8_0;
  spec.embd_type = GgmlType::kQ4_0;
  spec.tie_embeddings = true;
  spec.extra_vocab = 1000;
  spec.chat_template = "";
  ASSERT_TRUE(testing::WriteSyntheticModel(path, spec).ok());
  StatusOr<GgufFile> f = ReadGgufFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->FindTensor("output.weight"), nullptr);
  EXPECT_EQ(f->GetUint("llama.attention.key_length"), 64u);
  EXPECT_EQ(f->GetUint("llama.attention.value_length"), 64u);
  EXPECT_EQ(f->GetUint("llama.rope.dimension_count"), 64u);
  EXPECT_EQ(f->GetArrayCount("tokenizer.ggml.tokens"), 3u + 256 + 1000);
  EXPECT_EQ(f->Find("tokenizer.chat_template"), nullptr);
  EXPECT_EQ(f->GetUint("general.file_type"), 7u);
  ExpectTensorsMatch(*f, spec);
}

TEST(SyntheticModelSpecTest, RefusesShapesTheWeightTypeCannotHold) {
  TempDir dir;
  SyntheticModelSpec spec;
  spec.weight_type = GgmlType::kQ4_0;
  spec.n_ff = 48;  // ffn_down rows of 48 are not whole q4_0 blocks
  Status s = testing::WriteSyntheticModel(dir.File("bad.gguf"), spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("48 elements"));

  spec = SyntheticModelSpec();
  spec.n_head_kv = 3;
  EXPECT_EQ(testing::WriteSyntheticModel(dir.File("bad.gguf"), spec).code(),
            Code::kInvalidArgument);

  spec = SyntheticModelSpec();
  spec.weight_type = GgmlType::kQ4_K;
  s = testing::WriteSyntheticModel(dir.File("bad.gguf"), spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("q4_K"));
}

TEST(SyntheticModelSpecTest, SameSeedWritesSameBytesAndOtherSeedsDiffer) {
  TempDir dir;
  SyntheticModelSpec spec;
  spec.n_layer = 1;
  ASSERT_TRUE(testing::WriteSyntheticModel(dir.File("a.gguf"), spec).ok());
  ASSERT_TRUE(testing::WriteSyntheticModel(dir.File("b.gguf"), spec).ok());
  spec.seed = 2;
  ASSERT_TRUE(testing::WriteSyntheticModel(dir.File("c.gguf"), spec).ok());
  const Bytes a = ReadAll(dir.File("a.gguf"));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, ReadAll(dir.File("b.gguf")));
  const Bytes c = ReadAll(dir.File("c.gguf"));
  EXPECT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
}

// Decodes the weights llama.cpp will read and checks they are the small finite values that
// keep inference finite.
TEST(SyntheticModelSpecTest, WritesSmallFiniteWeights) {
  TempDir dir;
  for (GgmlType type : {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    SCOPED_TRACE(std::string(GgmlTypeName(type)));
    const std::string path = dir.File("w.gguf");
    SyntheticModelSpec spec;
    spec.n_layer = 1;
    spec.weight_type = type;
    ASSERT_TRUE(testing::WriteSyntheticModel(path, spec).ok());
    StatusOr<GgufFile> f = ReadGgufFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const Bytes bytes = ReadAll(path);
    const GgufTensorInfo* t = f->FindTensor("blk.0.ffn_up.weight");
    ASSERT_NE(t, nullptr);
    const uint8_t* data = bytes.data() + f->data_offset + t->offset;
    const auto half = [&](size_t at) {
      return testing::HalfToFloat(static_cast<uint16_t>(data[at] | (data[at + 1] << 8)));
    };
    std::vector<float> values;
    if (type == GgmlType::kF16) {
      for (size_t i = 0; i < t->n_elements; ++i)
        values.push_back(half(2 * i));
    } else {
      const size_t block_bytes = type == GgmlType::kQ8_0 ? 34 : 18;
      for (size_t b = 0; b < t->n_elements / 32; ++b) {
        const size_t at = b * block_bytes;
        const float d = half(at);
        for (size_t i = 0; i < 32; ++i) {
          if (type == GgmlType::kQ8_0) {
            values.push_back(d * static_cast<int8_t>(data[at + 2 + i]));
          } else {
            const uint8_t byte = data[at + 2 + i % 16];
            values.push_back(d * ((i < 16 ? byte & 0xf : byte >> 4) - 8));
          }
        }
      }
    }
    ASSERT_EQ(values.size(), t->n_elements);
    double sum_abs = 0;
    for (float v : values) {
      ASSERT_TRUE(std::isfinite(v));
      ASSERT_LE(std::fabs(v), 0.0201f);
      sum_abs += std::fabs(v);
    }
    // Uniform in [-0.02, 0.02] has mean magnitude 0.01; quantization shifts it a little.
    EXPECT_NEAR(sum_abs / static_cast<double>(values.size()), 0.01, 0.002);
  }
}

TEST(HalfFloatTest, ConvertsExactlyAndRoundsToNearestEven) {
  using testing::FloatToHalf;
  using testing::HalfToFloat;
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // rounds up to infinity
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // a tie, to even
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp rounds to even 2
  EXPECT_EQ(FloatToHalf(std::ldexp(1023.0f, -24) + std::ldexp(1.0f, -24) * 0.75f),
            0x0400);                                             // subnormal carries into normal
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie, to even
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie, to even (up)
  EXPECT_EQ(FloatToHalf(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h);
    ASSERT_EQ(FloatToHalf(-HalfToFloat(static_cast<uint16_t>(h))), h | 0x8000);
  }
}

}  // namespace
}  // namespace cortex
