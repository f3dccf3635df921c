// GgufWriter: builds GGUF files in memory for tests, valid or deliberately broken.
//
// A writer collects metadata entries and tensors in the order they are added and lays them out
// as llama.cpp's own writer does: header, metadata, tensor infos, padding to the alignment, then
// each tensor's data padded to the alignment, with offsets counted from the start of the data
// section. The result parses with ReadGgufFile/ParseGguf and loads in llama.cpp.
//
// Hostile tests need files no honest writer produces, so a few escape hatches write fields
// verbatim: AddRawEntry (any value-type id followed by any bytes), AddRawTensorInfo (any name,
// dimension count, shape, type id and offset, with no data), and overrides of the header's two
// counts. Bytes() applies none of the reader's checks.
//
// Not thread-safe; a writer is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/ggml_type.h"
#include "util/status.h"

namespace cortex::testing {

class GgufWriter {
 public:
  GgufWriter() = default;

  // The header's version field: 3 by default, 2 for the older layout (identical apart from the
  // number). Version 1 writes 32-bit counts, as v1 files had; any other number is written as is.
  void SetVersion(uint32_t version) { version_ = version; }

  // Adds general.alignment (uint32) and lays the data section out with it.
  // REQUIRES: alignment is a non-zero power of two. To write a bad alignment, use
  // AddUint32("general.alignment", ...), which writes the entry and leaves the layout at 32.
  void SetAlignment(uint32_t alignment);
  uint32_t alignment() const { return alignment_; }

  // Typed metadata entries, written in the order added. Duplicate keys are written twice.
  void AddUint8(std::string_view key, uint8_t v);
  void AddInt8(std::string_view key, int8_t v);
  void AddUint16(std::string_view key, uint16_t v);
  void AddInt16(std::string_view key, int16_t v);
  void AddUint32(std::string_view key, uint32_t v);
  void AddInt32(std::string_view key, int32_t v);
  void AddUint64(std::string_view key, uint64_t v);
  void AddInt64(std::string_view key, int64_t v);
  void AddFloat32(std::string_view key, float v);
  void AddFloat64(std::string_view key, double v);
  void AddBool(std::string_view key, bool v);
  void AddString(std::string_view key, std::string_view v);
  void AddInt32Array(std::string_view key, std::span<const int32_t> v);
  void AddUint32Array(std::string_view key, std::span<const uint32_t> v);
  void AddFloat32Array(std::string_view key, std::span<const float> v);
  void AddStringArray(std::string_view key, std::span<const std::string> v);

  // Escape hatch: an entry whose value-type field is `value_type` and whose value is `value`,
  // verbatim (use the Put* helpers below to build it).
  void AddRawEntry(std::string_view key, uint32_t value_type, std::vector<uint8_t> value);

  // Adds a tensor of `shape` (ggml order: shape[0] is the row length; 1 to 4 dimensions) whose
  // data is `data`. An empty `data` means zeros of the size the shape and type imply; a
  // non-empty one is written as given, so a test can make it short. Its offset is that of the
  // previous tensor's end, rounded up to the alignment.
  void AddTensor(std::string_view name, GgmlType type, std::vector<uint64_t> shape,
                 std::vector<uint8_t> data = {});

  // Escape hatch: a tensor info with every field verbatim and no data behind it. `ne` holds
  // `ne.size()` dimensions regardless of `n_dims`.
  void AddRawTensorInfo(std::string_view name, uint32_t n_dims, std::vector<uint64_t> ne,
                        uint32_t type_id, uint64_t offset);

  // Replace the header's tensor and metadata entry counts with arbitrary numbers.
  void OverrideTensorCount(uint64_t n) { tensor_count_override_ = n; }
  void OverrideMetadataCount(uint64_t n) { metadata_count_override_ = n; }

  // The whole file.
  std::vector<uint8_t> Bytes() const;

  // Writes Bytes() to `path`, replacing any file there. Returns IoError when it cannot.
  Status WriteFile(const std::string& path) const;

  // Size the data of a tensor of `shape` and `type` takes.
  // REQUIRES: shape[0] is a multiple of the type's block size.
  static uint64_t TensorBytes(GgmlType type, const std::vector<uint64_t>& shape);

  // Little-endian encoders, appending to `out`.
  static void PutU8(std::vector<uint8_t>* out, uint8_t v);
  static void PutU32(std::vector<uint8_t>* out, uint32_t v);
  static void PutU64(std::vector<uint8_t>* out, uint64_t v);
  static void PutF32(std::vector<uint8_t>* out, float v);
  // uint64 length, then the bytes.
  static void PutString(std::vector<uint8_t>* out, std::string_view s);

 private:
  struct Tensor {
    std::string name;
    uint32_t n_dims = 0;
    std::vector<uint64_t> ne;
    uint32_t type_id = 0;
    std::optional<uint64_t> raw_offset;  // set for AddRawTensorInfo
    std::vector<uint8_t> data;
  };

  void AddEntry(std::string_view key, uint32_t value_type, std::vector<uint8_t> value);

  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  uint64_t entry_count_ = 0;
  std::vector<uint8_t> entries_;  // encoded metadata entries
  std::vector<Tensor> tensors_;
  std::optional<uint64_t> tensor_count_override_;
  std::optional<uint64_t> metadata_count_override_;
};

}  // namespace cortex::testing
