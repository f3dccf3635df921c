// Safetensors headers: the exact bytes of a Hugging Face checkpoint, read without its data.
//
// A .safetensors file is an 8-byte little-endian length N, then N bytes of JSON, then the
// tensor data. The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]}, offsets counted from the first byte after the JSON; the optional key "__metadata__"
// holds a string-to-string map. Reading the header of a 4 GB shard therefore costs one small
// read, and a 20-shard 65 GB checkpoint is sized in milliseconds.
//
// Hostile input: N is checked against the file size and kMaxSafetensorsHeaderBytes before any
// allocation; every tensor's offsets must lie inside the file's data section and not overlap
// another tensor's; for dtypes we know, shape x element size must equal end - begin (unknown
// dtypes are trusted by their offsets). Violations are Corruption statuses that name the file
// and the tensor, never crashes.
//
// Thread safety: the functions keep no state; results are plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace cortex {

// Headers longer than this are refused: the largest real ones (tens of thousands of tensors)
// are a few MiB, and the cap bounds what a lying length can make us allocate.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100 * kMiB;

struct SafetensorsTensor {
  std::string name;
  std::string dtype;            // as written: "BF16", "I32", "F8_E4M3"
  std::vector<uint64_t> shape;  // empty for a scalar
  uint64_t data_begin = 0;      // offsets into the data section, which starts at 8 + N
  uint64_t data_end = 0;

  uint64_t n_bytes() const { return data_end - data_begin; }
};

struct SafetensorsHeader {
  uint64_t header_bytes = 0;  // N
  uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;  // "__metadata__"; non-string values skipped
  std::vector<SafetensorsTensor> tensors;       // ordered by data_begin

  // Sum of n_bytes() over all tensors.
  uint64_t TensorBytes() const;
};

// Bits per element of a safetensors dtype name ("BF16" -> 16, "F4" -> 4), or nullopt when the
// name is not one we know.
std::optional<uint32_t> SafetensorsDtypeBits(std::string_view dtype);

// Reads the header of the .safetensors file at `path`.
// Returns NotFound when the file does not exist, IoError when it cannot be read, and
// Corruption (naming the file and, where there is one, the tensor) when it is malformed.
StatusOr<SafetensorsHeader> ReadSafetensorsHeader(const std::string& path);

// Same, from the first bytes of a file in memory (tests and fuzzing use it). `prefix` must
// hold at least the 8-byte length and the N header bytes; `file_size` is the whole file's size
// (at least prefix.size()); `label` names the file in messages.
StatusOr<SafetensorsHeader> ParseSafetensorsHeader(std::span<const uint8_t> prefix,
                                                   uint64_t file_size, std::string_view label);

// The tensors of a whole checkpoint directory.
struct SafetensorsCheckpoint {
  std::vector<std::string> files;  // the .safetensors file names read, sorted
  // Every tensor of every file read, with its bytes. Empty when `exact` is false.
  std::vector<std::pair<std::string, uint64_t>> tensor_bytes;
  uint64_t total_bytes = 0;
  bool exact = true;  // false: total_bytes came from the index's metadata.total_size
  std::string note;   // why it is not exact; empty otherwise
};

// Reads the checkpoint in `dir` the way vLLM chooses its files: the shards named by the
// weight_map of model.safetensors.index.json when that file exists, otherwise every
// *.safetensors file in the directory.
// When an indexed shard is missing and the index has metadata.total_size, returns that total
// with exact false and a note naming the missing shard.
// Returns NotFound when the directory has no safetensors files or a shard is missing without a
// total_size to fall back on, Unsupported when the directory only has PyTorch .bin files,
// Corruption for a malformed index or header, and IoError when a read fails.
StatusOr<SafetensorsCheckpoint> ReadSafetensorsDir(const std::string& dir);

}  // namespace cortex
