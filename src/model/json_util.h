// Small helpers shared by the Hugging Face readers (config.json, safetensors headers and
// index): bounded file reads, exception-free JSON parsing, and checked number conversion.
//
// Boost.JSON throws only on allocation failure when its error_code overloads are used; these
// helpers catch that too, so nothing thrown crosses the model module's boundary.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex::json_util {

// Reads the whole file at `path` when it is at most `max_bytes` long.
// Returns NotFound when it does not exist, IoError when it cannot be read, and OutOfRange when
// it is longer than `max_bytes`.
StatusOr<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes);

// Parses `text` as one JSON value (nesting up to 64 levels).
// Returns the parser's complaint, with `label` in front, as `error_code` status on bad JSON.
StatusOr<boost::json::value> Parse(std::string_view text, std::string_view label,
                                   Status::Code error_code);

// "a string (\"32\")", "a negative number (-4)", "an array", ...: how a value is named when
// it has the wrong type. Long strings are shortened.
std::string Describe(const boost::json::value& v);

// Converts a JSON number holding a whole value in [0, max] (an integer, or a double such as
// 4096.0) into *out. Returns an empty string on success and otherwise the reason, a phrase
// such as "expected a whole number, got a string (\"32\")".
std::string ToUint(const boost::json::value& v, uint64_t max, uint64_t* out);

// Converts a finite JSON number (integer or double) into *out; same contract as ToUint.
std::string ToDouble(const boost::json::value& v, double* out);

}  // namespace cortex::json_util
