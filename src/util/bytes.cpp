#include "util/bytes.h"

#include <fmt/format.h>
#include <cctype>
#include <cmath>

namespace cortex {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr Unit kUnits[] = {
    {"B", 1},           {"KiB", kKiB},         {"MiB", kMiB},
    {"GiB", kGiB},      {"TiB", kTiB},         {"KB", 1000ull},
    {"MB", 1000000ull}, {"GB", 1000000000ull}, {"TB", 1000000000000ull},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  const std::string_view input = Trim(text);
  auto expected = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("expected a size such as 64GiB, 512MiB or 20GB, got \"{}\"{}", input, why));
  };
  if (input.empty()) return expected("");

  size_t i = 0;
  uint64_t whole = 0;
  bool any_digit = false;
  while (i < input.size() && std::isdigit(static_cast<unsigned char>(input[i]))) {
    const uint64_t digit = static_cast<uint64_t>(input[i] - '0');
    if (whole > (UINT64_MAX - digit) / 10) return expected(" (too large)");
    whole = whole * 10 + digit;
    any_digit = true;
    ++i;
  }
  // Fractional digits are kept as a numerator/denominator pair so "1.5GiB" is exact.
  uint64_t frac_num = 0;
  uint64_t frac_den = 1;
  if (i < input.size() && input[i] == '.') {
    ++i;
    while (i < input.size() && std::isdigit(static_cast<unsigned char>(input[i]))) {
      if (frac_den < 1000000000000ull) {
        frac_num = frac_num * 10 + static_cast<uint64_t>(input[i] - '0');
        frac_den *= 10;
      }
      any_digit = true;
      ++i;
    }
  }
  if (!any_digit) return expected(input.front() == '-' ? " (sizes cannot be negative)" : "");

  const std::string_view unit_text = Trim(input.substr(i));
  uint64_t factor = 0;
  if (unit_text.empty()) {
    factor = 1;
  } else {
    for (const Unit& unit : kUnits) {
      if (unit.name == unit_text) factor = unit.factor;
    }
  }
  if (factor == 0) {
    return Status::InvalidArgument(fmt::format(
        "expected a size unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB) in \"{}\", got \"{}\"", input,
        unit_text));
  }
  if (factor == 1 && frac_num != 0) return expected(" (a fraction of a byte)");
  if (whole != 0 && factor > UINT64_MAX / whole) return expected(" (too large)");
  const uint64_t base = whole * factor;
  // frac_num/frac_den < 1, so frac_num*factor/frac_den < factor; compute in long double to
  // avoid overflowing frac_num*factor.
  const auto frac = static_cast<uint64_t>(
      std::floor(static_cast<long double>(frac_num) * static_cast<long double>(factor) /
                 static_cast<long double>(frac_den)));
  if (base > UINT64_MAX - frac) return expected(" (too large)");
  return base + frac;
}

StatusOr<uint64_t> ParseBandwidth(std::string_view text) {
  std::string_view input = Trim(text);
  if (input.size() < 2 || input.substr(input.size() - 2) != "/s") {
    return Status::InvalidArgument(
        fmt::format("expected a bandwidth such as 256GB/s or 210GiB/s, got \"{}\"", input));
  }
  auto size = ParseByteSize(input.substr(0, input.size() - 2));
  if (!size.ok()) {
    return Status::InvalidArgument(
        fmt::format("expected a bandwidth such as 256GB/s or 210GiB/s, got \"{}\"", input));
  }
  return *size;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < kKiB) return fmt::format("{} B", bytes);
  const char* names[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / static_cast<double>(kKiB);
  int unit = 0;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.2f} {}", value, names[unit]);
}

std::string FormatCount(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace cortex
