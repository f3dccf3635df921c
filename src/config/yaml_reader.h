// Internal to the config module: reading yaml-cpp nodes strictly, with every problem recorded
// as a diagnostic at a 1-based line and column instead of thrown.
//
// yaml-cpp accepts duplicate keys and says nothing about unknown ones, and its conversions throw;
// the readers here check what the schema needs and never throw, so the loader can collect all
// problems of a file in one pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace cortex::config_internal {

// The problems found so far in one file.
class Diagnostics {
 public:
  void Add(SourcePos pos, std::string message);
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // One "path:line:column: message" line per problem (control characters escaped), in file
  // order; problems without a position (environment variables) come last, as "message".
  std::string Join(const std::string& path) const;

 private:
  struct Entry {
    SourcePos pos;
    std::string message;
  };
  std::vector<Entry> entries_;
};

// `text` with control characters written as \n, \t, \r or \xNN, so that a value from a block
// scalar or an environment variable cannot break the one-line-per-problem format.
std::string EscapeControls(std::string_view text);

// 1-based position of a node; 0:0 when yaml-cpp has none.
SourcePos PosOf(const YAML::Node& node);

// How a node reads in "got ..." messages: `a map`, `a list`, `nothing`, a bare number, or a
// quoted string.
std::string Describe(const YAML::Node& node);

// A value in the file: what it is called in messages ("engines.deep-lane.port") and where an
// error about it points.
struct Field {
  std::string path;
  SourcePos pos;
  YAML::Node node;
};

// One key/value pair of a map, in file order.
struct MapEntry {
  std::string key;
  SourcePos key_pos;
  Field value;
};

// Reads the pairs of a map node, reporting non-scalar keys and duplicate keys (at the second
// occurrence, which is then ignored). When `allowed` is non-empty, keys outside it are
// reported as unknown, with a suggestion when one allowed key is close.
//
// `field.path` names the map in messages; an empty path means the top level.
// `key_pos` is where a missing required key is reported: the key that introduces the map,
// which is the line an operator would edit.
class MapReader {
 public:
  MapReader(const Field& field, SourcePos key_pos, std::initializer_list<std::string_view> allowed,
            Diagnostics* diag);

  const std::vector<MapEntry>& entries() const { return entries_; }
  // The entry for `key`, or nullptr when absent (or not allowed).
  const MapEntry* Find(std::string_view key) const;
  // Same, reporting "missing required key" when absent.
  const MapEntry* Require(std::string_view key) const;

 private:
  std::string where_;
  SourcePos key_pos_;
  std::vector<MapEntry> entries_;
  Diagnostics* diag_;
};

// Checks that `field` is a map, reporting "expected a map" otherwise.
bool ExpectMap(const Field& field, Diagnostics* diag);
// Checks that `field` is a list, reporting "expected a list of <what>" otherwise.
bool ExpectList(const Field& field, std::string_view what, Diagnostics* diag);

// The elements of a list, named "<path>[i]".
std::vector<Field> ListItems(const Field& field);

// Typed readers: each returns nullopt after reporting a problem at the field.
std::optional<std::string> ReadString(const Field& field, Diagnostics* diag);
std::optional<int64_t> ReadInt(const Field& field, int64_t min, int64_t max, Diagnostics* diag);
std::optional<uint64_t> ReadSize(const Field& field, Diagnostics* diag);
std::optional<uint64_t> ReadBandwidth(const Field& field, Diagnostics* diag);
// A duration within [min, max] seconds: a number of seconds (fractions allowed), or a number
// with a unit: 500ms, 30s, 5m, 1.5h.
std::optional<double> ReadSeconds(const Field& field, double min, double max, Diagnostics* diag);
// The seconds in "30", "30s", "5m", "500ms", "1h"; nullopt for anything else.
std::optional<double> ParseDurationSeconds(std::string_view text);
// true or false (only these spellings).
std::optional<bool> ReadBool(const Field& field, Diagnostics* diag);
// A list of strings.
std::optional<std::vector<std::string>> ReadStringList(const Field& field, std::string_view what,
                                                       Diagnostics* diag);

// Whole-text number parsing: no leading '+', no trailing characters, no inf/nan.
std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<double> ParseFiniteDouble(std::string_view text);

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);
// The candidate within edit distance 2 of `word`, the closest first; nullopt when none is.
std::optional<std::string> ClosestName(std::string_view word,
                                       const std::vector<std::string>& candidates);

// "host:port" with a port 1..65535; the port, or nullopt when malformed.
std::optional<uint16_t> ParseListenAddress(std::string_view text);
inline constexpr std::string_view kListenExpected =
    "expected host:port with a port between 1 and 65535, such as 127.0.0.1:4000";

}  // namespace cortex::config_internal
