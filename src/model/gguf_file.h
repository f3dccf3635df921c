// GgufFile: what a GGUF model file says about itself, read without touching tensor data.
//
// A GGUF file is a header (magic "GGUF", version, tensor count, metadata count), a list of typed
// key/value metadata entries, a list of tensor infos (name, shape, ggml type, offset), padding to
// `general.alignment` (default 32), then the tensor data. ReadGgufFile reads only the first three
// parts, so the header of a 20 GB file is read in milliseconds, and checks every tensor's bytes
// against the file size without reading them.
//
// Versions 2 and 3 (little-endian) are read. Version 1 and big-endian files are refused with an
// Unsupported status that says so.
//
// Hostile input: every count and length read from the file is checked against the bytes that
// remain before anything is allocated, so a truncated or lying file yields a Corruption status
// naming the byte offset and what was wrong, with memory bounded by the file's own size and
// GgufReadOptions limits. Shapes whose element or byte counts overflow 64 bits, unknown ggml
// types, duplicate keys or tensor names, and tensors that extend past the end of the file are
// errors, never crashes.
//
// Large arrays (a tokenizer's 150,000 tokens and merges) are skipped, not stored: the entry keeps
// its element type and count, and numeric arrays keep their values when they are short
// (per-layer head counts, for instance). The format allows arrays of arrays, which ggml does not
// read; they are skipped one level deep and refused (Unsupported) deeper.
//
// Thread safety: a GgufFile is an immutable value once returned.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/ggml_type.h"
#include "util/status.h"

namespace cortex {

// Value types of GGUF metadata, numbered as in the file format.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view GgufValueTypeName(GgufValueType type);

// One metadata value. Scalars hold their value widened: unsigned integers as uint64_t, signed
// as int64_t, floats as double. Arrays hold `array_type` and `array_count` always, and their
// values only when kept (see GgufReadOptions).
struct GgufValue {
  GgufValueType type = GgufValueType::kUint32;
  std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string> scalar;

  GgufValueType array_type = GgufValueType::kUint32;  // when type == kArray
  uint64_t array_count = 0;                           // when type == kArray
  bool array_kept = false;  // true when the values below hold all elements
  // Integer and bool arrays, when kept. A uint64 array holding a value above INT64_MAX is
  // never kept, since array_ints could not represent it.
  std::vector<int64_t> array_ints;
  std::vector<double> array_floats;        // float arrays, when kept
  std::vector<std::string> array_strings;  // string arrays, when kept
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;                        // 1..4
  std::array<uint64_t, 4> ne = {1, 1, 1, 1};  // elements per dimension; unused dims are 1
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;  // ne[0]/block*type_size * ne[1]*ne[2]*ne[3]
};

struct GgufReadOptions {
  // Numeric arrays with at most this many elements keep their values.
  uint64_t max_kept_numeric_array = 65536;
  // When true, string arrays keep their values too (tests use it; the planner does not). Memory
  // is then bounded by a few times the file size rather than by these options.
  bool keep_string_arrays = false;
  // Upper bounds that make absurd-but-not-yet-truncated headers fail fast, with OutOfRange.
  // max_string_bytes applies to strings that are stored, not to skipped array elements.
  uint64_t max_string_bytes = 64ull << 20;  // one string
  uint64_t max_tensor_count = 1ull << 24;
  uint64_t max_metadata_count = 1ull << 20;
};

struct GgufFile {
  uint32_t version = 0;
  uint64_t alignment = 32;   // general.alignment, or 32
  uint64_t data_offset = 0;  // file offset where tensor data starts (aligned)
  uint64_t file_size = 0;
  // In file order of appearance is not needed by any caller; keys are unique.
  std::map<std::string, GgufValue, std::less<>> metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order

  // Lookups. Each returns nullopt when the key is absent or has an incompatible type.
  // GetUint accepts any integer type holding a non-negative value; GetInt any integer type;
  // GetFloat any integer or float type.
  const GgufValue* Find(std::string_view key) const;
  std::optional<uint64_t> GetUint(std::string_view key) const;
  std::optional<int64_t> GetInt(std::string_view key) const;
  std::optional<double> GetFloat(std::string_view key) const;
  std::optional<bool> GetBool(std::string_view key) const;
  std::optional<std::string> GetString(std::string_view key) const;
  // Element count of an array entry.
  std::optional<uint64_t> GetArrayCount(std::string_view key) const;
  // Values of a kept integer array.
  std::optional<std::vector<int64_t>> GetIntArray(std::string_view key) const;

  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // Sum of n_bytes over all tensors.
  uint64_t TensorDataBytes() const;
  // Sum of n_bytes per ggml type.
  std::map<GgmlType, uint64_t> BytesByType() const;
};

// Reads the header of the GGUF file at `path`. Tensor data is never read; its extent is checked
// against the file size from stat.
// Returns NotFound when the file does not exist, IoError when it cannot be opened or read (or is
// a directory); Unsupported for GGUF v1, other unknown versions, big-endian files, unknown or
// removed ggml tensor types and arrays nested more than two deep; OutOfRange when a count or
// string exceeds a GgufReadOptions limit; and Corruption for everything malformed. Messages
// start with `path`; those about the file's contents then name the byte offset of the offending
// field ("model.gguf: at byte 1234: ...").
StatusOr<GgufFile> ReadGgufFile(const std::string& path, const GgufReadOptions& options = {});

// Same, from bytes in memory (the fuzz target uses this), with identical checks. `bytes` is the
// whole file; messages have no path prefix.
StatusOr<GgufFile> ParseGguf(std::span<const uint8_t> bytes, const GgufReadOptions& options = {});

}  // namespace cortex
