#include "model/json_util.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <system_error>

namespace cortex::json_util {

StatusOr<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  std::string text;
  char buf[65536];
  while (true) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f);
    if (n > 0) {
      if (text.size() + n > max_bytes) {
        std::fclose(f);
        return Status::OutOfRange(
            fmt::format("{}: longer than the {} bytes we read from such a file", path, max_bytes));
      }
      text.append(buf, n);
    }
    if (n < sizeof(buf)) break;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::IoError(fmt::format("{}: read failed", path));
  return text;
}

StatusOr<boost::json::value> Parse(std::string_view text, std::string_view label,
                                   Status::Code error_code) {
  auto fail = [&](std::string why) -> Status {
    std::string message = fmt::format("{}: not valid JSON: {}", label, why);
    switch (error_code) {
      case Status::Code::kCorruption:
        return Status::Corruption(std::move(message));
      default:
        return Status::InvalidArgument(std::move(message));
    }
  };
  try {
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::json::error_code ec;
    boost::json::value v =
        boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
    if (ec) return fail(ec.message());
    return v;
  } catch (const std::bad_alloc&) {
    return fail("out of memory while parsing");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

std::string Describe(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return v.get_bool() ? "a boolean (true)" : "a boolean (false)";
    case boost::json::kind::int64:
      return fmt::format("the number {}", v.get_int64());
    case boost::json::kind::uint64:
      return fmt::format("the number {}", v.get_uint64());
    case boost::json::kind::double_:
      return fmt::format("the number {}", v.get_double());
    case boost::json::kind::string: {
      const boost::json::string& s = v.get_string();
      std::string_view sv(s.data(), s.size());
      if (sv.size() > 40) return fmt::format("a string (\"{}...\")", sv.substr(0, 40));
      return fmt::format("a string (\"{}\")", sv);
    }
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "an unknown value";
}

std::string ToUint(const boost::json::value& v, uint64_t max, uint64_t* out) {
  uint64_t value = 0;
  switch (v.kind()) {
    case boost::json::kind::int64:
      if (v.get_int64() < 0) return fmt::format("must not be negative (got {})", v.get_int64());
      value = static_cast<uint64_t>(v.get_int64());
      break;
    case boost::json::kind::uint64:
      value = v.get_uint64();
      break;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) return fmt::format("must be a finite whole number (got {})", d);
      if (d < 0) return fmt::format("must not be negative (got {})", d);
      if (d != std::floor(d)) return fmt::format("must be a whole number (got {})", d);
      // 2^64 as a double; anything at or above it cannot be converted.
      if (d >= 18446744073709551616.0) {
        return fmt::format("{} is larger than the largest allowed value {}", d, max);
      }
      value = static_cast<uint64_t>(d);
      break;
    }
    default:
      return fmt::format("expected a whole number, got {}", Describe(v));
  }
  if (value > max) return fmt::format("{} is larger than the largest allowed value {}", value, max);
  *out = value;
  return {};
}

std::string ToDouble(const boost::json::value& v, double* out) {
  double d = 0;
  switch (v.kind()) {
    case boost::json::kind::int64:
      d = static_cast<double>(v.get_int64());
      break;
    case boost::json::kind::uint64:
      d = static_cast<double>(v.get_uint64());
      break;
    case boost::json::kind::double_:
      d = v.get_double();
      break;
    default:
      return fmt::format("expected a number, got {}", Describe(v));
  }
  if (!std::isfinite(d)) return fmt::format("must be a finite number (got {})", d);
  *out = d;
  return {};
}

}  // namespace cortex::json_util
