// Saturating arithmetic for byte counts.
//
// The planner multiplies sizes that come from files and configs (cells x heads x tokens x 4).
// Wrapping around would turn an absurd configuration into a small, plausible-looking number;
// saturating at UINT64_MAX keeps it absurd, and kAbsurdBytes lets callers reject it with a
// message instead of planning with it.
#pragma once

#include <cstdint>
#include <limits>

namespace cortex {

// 1 EiB: no plan on any machine we target comes near it.
inline constexpr uint64_t kAbsurdBytes = uint64_t{1} << 60;

inline constexpr uint64_t SatMul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > std::numeric_limits<uint64_t>::max() / b) return std::numeric_limits<uint64_t>::max();
  return a * b;
}

template <typename... Rest>
inline constexpr uint64_t SatMul(uint64_t a, uint64_t b, Rest... rest) {
  return SatMul(SatMul(a, b), static_cast<uint64_t>(rest)...);
}

inline constexpr uint64_t SatAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

}  // namespace cortex
