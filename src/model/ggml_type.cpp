#include "model/ggml_type.h"

#include <fmt/format.h>
#include <array>
#include <cctype>
#include <cstdlib>

namespace cortex {
namespace {

// Block sizes and bytes per block, as ggml's type traits report them.
constexpr std::array<GgmlTypeTraits, 35> kTypes = {{
    {GgmlType::kF32, "f32", 1, 4, false},
    {GgmlType::kF16, "f16", 1, 2, false},
    {GgmlType::kQ4_0, "q4_0", 32, 18, true},
    {GgmlType::kQ4_1, "q4_1", 32, 20, true},
    {GgmlType::kQ5_0, "q5_0", 32, 22, true},
    {GgmlType::kQ5_1, "q5_1", 32, 24, true},
    {GgmlType::kQ8_0, "q8_0", 32, 34, true},
    {GgmlType::kQ8_1, "q8_1", 32, 36, true},
    {GgmlType::kQ2_K, "q2_K", 256, 84, true},
    {GgmlType::kQ3_K, "q3_K", 256, 110, true},
    {GgmlType::kQ4_K, "q4_K", 256, 144, true},
    {GgmlType::kQ5_K, "q5_K", 256, 176, true},
    {GgmlType::kQ6_K, "q6_K", 256, 210, true},
    {GgmlType::kQ8_K, "q8_K", 256, 292, true},
    {GgmlType::kIQ2_XXS, "iq2_xxs", 256, 66, true},
    {GgmlType::kIQ2_XS, "iq2_xs", 256, 74, true},
    {GgmlType::kIQ3_XXS, "iq3_xxs", 256, 98, true},
    {GgmlType::kIQ1_S, "iq1_s", 256, 50, true},
    {GgmlType::kIQ4_NL, "iq4_nl", 32, 18, true},
    {GgmlType::kIQ3_S, "iq3_s", 256, 110, true},
    {GgmlType::kIQ2_S, "iq2_s", 256, 82, true},
    {GgmlType::kIQ4_XS, "iq4_xs", 256, 136, true},
    {GgmlType::kI8, "i8", 1, 1, false},
    {GgmlType::kI16, "i16", 1, 2, false},
    {GgmlType::kI32, "i32", 1, 4, false},
    {GgmlType::kI64, "i64", 1, 8, false},
    {GgmlType::kF64, "f64", 1, 8, false},
    {GgmlType::kIQ1_M, "iq1_m", 256, 56, true},
    {GgmlType::kBF16, "bf16", 1, 2, false},
    {GgmlType::kTQ1_0, "tq1_0", 256, 54, true},
    {GgmlType::kTQ2_0, "tq2_0", 256, 66, true},
    {GgmlType::kMXFP4, "mxfp4", 32, 17, true},
    {GgmlType::kNVFP4, "nvfp4", 64, 36, true},
    {GgmlType::kQ1_0, "q1_0", 128, 18, true},
    {GgmlType::kQ2_0, "q2_0", 64, 18, true},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const GgmlTypeTraits* FindGgmlType(uint32_t id) {
  for (const GgmlTypeTraits& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return &t;
  }
  return nullptr;
}

const GgmlTypeTraits& Traits(GgmlType type) {
  const GgmlTypeTraits* t = FindGgmlType(static_cast<uint32_t>(type));
  if (t == nullptr) std::abort();  // only reachable by casting an unchecked id to GgmlType
  return *t;
}

std::optional<GgmlType> GgmlTypeFromName(std::string_view name) {
  for (const GgmlTypeTraits& t : kTypes) {
    if (EqualsIgnoreCase(t.name, name)) return t.type;
  }
  return std::nullopt;
}

StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t n_elements) {
  const GgmlTypeTraits& t = Traits(type);
  if (n_elements % t.block_size != 0) {
    return Status::InvalidArgument(fmt::format(
        "{} elements are not a whole number of {} blocks of {}", n_elements, t.name, t.block_size));
  }
  const uint64_t blocks = n_elements / t.block_size;
  if (blocks != 0 && t.type_size > UINT64_MAX / blocks) {
    return Status::OutOfRange(fmt::format("{} blocks of {} overflow 64 bits", blocks, t.name));
  }
  return blocks * t.type_size;
}

bool IsKvCacheType(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kIQ4_NL:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
      return true;
    default:
      return false;
  }
}

}  // namespace cortex
