// Byte sizes as people write them and as Cortex prints them.
//
// Units follow the IEC/SI split that users of llama.cpp and Hugging Face already meet:
// KiB/MiB/GiB/TiB are powers of two (llama.cpp logs MiB), KB/MB/GB/TB are powers of ten
// (Hugging Face file listings use GB). A bare number is bytes. "B" alone is bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex {

inline constexpr uint64_t kKiB = 1024ull;
inline constexpr uint64_t kMiB = 1024ull * kKiB;
inline constexpr uint64_t kGiB = 1024ull * kMiB;
inline constexpr uint64_t kTiB = 1024ull * kGiB;

// Parses "128GiB", "1.5 GB", "512MiB", "4096", "0". Fractions are allowed and rounded down to a
// whole byte. Returns InvalidArgument with a sentence naming what was expected for anything
// else (no unit we know, negative numbers, overflow past 2^64-1).
StatusOr<uint64_t> ParseByteSize(std::string_view text);

// Parses a bandwidth such as "256GB/s" or "210 GiB/s" into bytes per second.
StatusOr<uint64_t> ParseBandwidth(std::string_view text);

// "18.50 GiB", "512.00 MiB", "17 B": the largest binary unit that keeps the number >= 1,
// two decimals. Used in tables and findings.
std::string FormatBytes(uint64_t bytes);

// "1,000,000": thousands separators for token counts in findings.
std::string FormatCount(uint64_t n);

}  // namespace cortex
