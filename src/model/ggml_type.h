// GgmlType: the element types of ggml tensors, as numbered in GGUF files.
//
// A ggml type stores elements in blocks: `block_size` elements take `type_size` bytes. A row of
// n elements (n a multiple of block_size) therefore takes n / block_size * type_size bytes. This
// is all the planner needs to size weights and the KV cache exactly: q8_0 stores 32 elements
// in 34 bytes (1.0625 bytes each), q4_0 stores 32 in 18 (0.5625), f16 one in 2.
//
// The numbers are the file format's: ids 4, 5, 31-33 and 36-38 were removed from ggml and are
// reported as unknown. Facts from ggml's type traits at llama.cpp d32676d7 (2026-08).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "util/status.h"

namespace cortex {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  kNVFP4 = 40,
  kQ1_0 = 41,
  kQ2_0 = 42,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;  // ggml's spelling: "f16", "q8_0", "q4_K"
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
  bool quantized;
};

// Returns the traits of a type id read from a file, or nullptr when the id is unknown or was
// removed from ggml.
const GgmlTypeTraits* FindGgmlType(uint32_t id);

// Traits of a known type. Never null.
const GgmlTypeTraits& Traits(GgmlType type);

// Looks a type up by name, case-insensitively ("Q8_0", "q8_0", "bf16").
std::optional<GgmlType> GgmlTypeFromName(std::string_view name);

inline std::string_view GgmlTypeName(GgmlType type) {
  return Traits(type).name;
}
inline bool IsQuantized(GgmlType type) {
  return Traits(type).quantized;
}

// Bytes of a row of `n_elements` elements.
// Returns InvalidArgument when n_elements is not a multiple of the block size (ggml refuses
// such rows) and OutOfRange when the product does not fit in 64 bits.
StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t n_elements);

// Same, for callers that have already checked divisibility. REQUIRES: n % block_size == 0.
inline uint64_t RowBytesUnchecked(GgmlType type, uint64_t n_elements) {
  const GgmlTypeTraits& t = Traits(type);
  return n_elements / t.block_size * t.type_size;
}

// The cache types llama-server accepts for -ctk/-ctv: f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0
// q5_1.
bool IsKvCacheType(GgmlType type);

}  // namespace cortex
