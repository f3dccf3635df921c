#include "config/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "util/bytes.h"

namespace cortex::config_internal {

void Diagnostics::Add(SourcePos pos, std::string message) {
  entries_.push_back({pos, EscapeControls(message)});
}

std::string Diagnostics::Join(const std::string& path) const {
  std::vector<Entry> sorted = entries_;
  // Sections are validated in dependency order, not file order; sorting restores the order in
  // which an operator reads the file. Position-less problems sort last.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    const bool a_none = a.pos.line == 0;
    const bool b_none = b.pos.line == 0;
    if (a_none != b_none) return b_none;
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.column < b.pos.column;
  });
  std::string out;
  for (const Entry& e : sorted) {
    if (!out.empty()) out.push_back('\n');
    if (e.pos.line == 0) {
      out += e.message;
    } else {
      out += fmt::format("{}:{}:{}: {}", path, e.pos.line, e.pos.column, e.message);
    }
  }
  return out;
}

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (ParseFiniteDouble(text)) return text;
      // A whole block scalar in a message would bury the point of it.
      constexpr size_t kMaxShown = 60;
      if (text.size() > kMaxShown) {
        size_t cut = kMaxShown;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
          --cut;
        return fmt::format("\"{}...\"", text.substr(0, cut));
      }
      return fmt::format("\"{}\"", text);
    }
    default:
      return "nothing";
  }
}

MapReader::MapReader(const Field& field, SourcePos key_pos,
                     std::initializer_list<std::string_view> allowed, Diagnostics* diag)
    : where_(field.path.empty() ? "at the top level" : "in " + field.path),
      key_pos_(key_pos),
      diag_(diag) {
  const std::string prefix = field.path.empty() ? "" : field.path + ".";
  std::vector<std::string> allowed_names(allowed.begin(), allowed.end());
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    // Copies: the iterator's operator-> yields a temporary that references must not outlive.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const SourcePos pos = PosOf(key);
    if (!key.IsScalar()) {
      diag->Add(pos, fmt::format("expected a key name {}, got {}", where_, Describe(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    auto first = std::find_if(entries_.begin(), entries_.end(),
                              [&](const MapEntry& e) { return e.key == name; });
    if (first != entries_.end()) {
      diag->Add(pos, fmt::format("duplicate key \"{}\" {} (first at line {})", name, where_,
                                 first->key_pos.line));
      continue;
    }
    if (!allowed_names.empty() &&
        std::find(allowed_names.begin(), allowed_names.end(), name) == allowed_names.end()) {
      std::string message = fmt::format("unknown key \"{}\" {}; expected one of: {}", name, where_,
                                        JoinNames(allowed_names));
      if (auto close = ClosestName(name, allowed_names)) {
        message += fmt::format("; did you mean \"{}\"?", *close);
      }
      diag->Add(pos, std::move(message));
      continue;
    }
    // An empty value's mark is wherever the next token starts, often the next line, so
    // problems with it point at its key instead.
    const SourcePos value_pos = value.IsNull() ? pos : PosOf(value);
    entries_.push_back({name, pos, Field{prefix + name, value_pos, value}});
  }
}

const MapEntry* MapReader::Find(std::string_view key) const {
  for (const MapEntry& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const MapEntry* MapReader::Require(std::string_view key) const {
  const MapEntry* e = Find(key);
  if (e == nullptr) {
    diag_->Add(key_pos_, fmt::format("missing required key \"{}\" {}", key, where_));
  }
  return e;
}

bool ExpectMap(const Field& field, Diagnostics* diag) {
  if (field.node.IsMap()) return true;
  diag->Add(field.pos, fmt::format("{}: expected a map, got {}", field.path, Describe(field.node)));
  return false;
}

bool ExpectList(const Field& field, std::string_view what, Diagnostics* diag) {
  if (field.node.IsSequence()) return true;
  diag->Add(field.pos, fmt::format("{}: expected a list of {}, got {}", field.path, what,
                                   Describe(field.node)));
  return false;
}

std::vector<Field> ListItems(const Field& field) {
  std::vector<Field> items;
  size_t i = 0;
  for (const YAML::Node& item : field.node) {
    items.push_back({fmt::format("{}[{}]", field.path, i++), PosOf(item), item});
    if (item.IsNull()) items.back().pos = field.pos;
  }
  return items;
}

std::optional<std::string> ReadString(const Field& field, Diagnostics* diag) {
  if (field.node.IsScalar()) return field.node.Scalar();
  diag->Add(field.pos,
            fmt::format("{}: expected a string, got {}", field.path, Describe(field.node)));
  return std::nullopt;
}

std::optional<int64_t> ReadInt(const Field& field, int64_t min, int64_t max, Diagnostics* diag) {
  std::optional<int64_t> value;
  if (field.node.IsScalar()) value = ParseInt64(field.node.Scalar());
  if (value && *value >= min && *value <= max) return value;
  std::string expected;
  if (max == std::numeric_limits<int64_t>::max()) {
    expected = min == 1 ? "a positive integer" : fmt::format("an integer >= {}", min);
  } else {
    expected = fmt::format("an integer between {} and {}", min, max);
  }
  diag->Add(field.pos,
            fmt::format("{}: expected {}, got {}", field.path, expected, Describe(field.node)));
  return std::nullopt;
}

std::optional<double> ParseDurationSeconds(std::string_view text) {
  // The unit is the trailing run of letters; "ms" must be tried before "s".
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
  double scale = 1;
  for (const auto& [unit, factor] : kUnits) {
    if (text.size() > unit.size() && text.substr(text.size() - unit.size()) == unit) {
      const char before = text[text.size() - unit.size() - 1];
      if (before < '0' || before > '9') continue;  // "5ms" is ms, "5xs" is nothing
      text.remove_suffix(unit.size());
      scale = factor;
      break;
    }
  }
  const std::optional<double> value = ParseFiniteDouble(text);
  if (!value) return std::nullopt;
  return *value * scale;
}

std::optional<double> ReadSeconds(const Field& field, double min, double max, Diagnostics* diag) {
  std::optional<double> value;
  if (field.node.IsScalar()) value = ParseDurationSeconds(field.node.Scalar());
  if (value && *value >= min && *value <= max) return value;
  diag->Add(field.pos, fmt::format("{}: expected a duration between {:g} and {:g} seconds (such "
                                   "as 30, 30s, 5m or 500ms), got {}",
                                   field.path, min, max, Describe(field.node)));
  return std::nullopt;
}

std::optional<bool> ReadBool(const Field& field, Diagnostics* diag) {
  // Only these two, as for flags: YAML 1.1's yes/no/on/off read as typos here.
  if (field.node.IsScalar() && field.node.Tag() != "!") {
    if (field.node.Scalar() == "true") return true;
    if (field.node.Scalar() == "false") return false;
  }
  diag->Add(field.pos,
            fmt::format("{}: expected true or false, got {}", field.path, Describe(field.node)));
  return std::nullopt;
}

std::optional<uint64_t> ReadSize(const Field& field, Diagnostics* diag) {
  if (!field.node.IsScalar()) {
    diag->Add(field.pos, fmt::format("{}: expected a size such as 64GiB, 512MiB or 20GB, got {}",
                                     field.path, Describe(field.node)));
    return std::nullopt;
  }
  StatusOr<uint64_t> size = ParseByteSize(field.node.Scalar());
  if (!size.ok()) {
    diag->Add(field.pos, fmt::format("{}: {}", field.path, size.status().message()));
    return std::nullopt;
  }
  return *size;
}

std::optional<uint64_t> ReadBandwidth(const Field& field, Diagnostics* diag) {
  if (!field.node.IsScalar()) {
    diag->Add(field.pos, fmt::format("{}: expected a bandwidth such as 256GB/s, got {}", field.path,
                                     Describe(field.node)));
    return std::nullopt;
  }
  StatusOr<uint64_t> bandwidth = ParseBandwidth(field.node.Scalar());
  if (!bandwidth.ok()) {
    diag->Add(field.pos, fmt::format("{}: {}", field.path, bandwidth.status().message()));
    return std::nullopt;
  }
  return *bandwidth;
}

std::optional<std::vector<std::string>> ReadStringList(const Field& field, std::string_view what,
                                                       Diagnostics* diag) {
  if (!ExpectList(field, what, diag)) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (const Field& item : ListItems(field)) {
    std::optional<std::string> s = ReadString(item, diag);
    if (s) {
      out.push_back(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseFiniteDouble(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<std::string> ClosestName(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = 3;
  for (const std::string& candidate : candidates) {
    const size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::optional<uint16_t> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  // An IPv6 host has colons of its own, so it must be bracketed to be unambiguous.
  if (host.find(':') != std::string_view::npos &&
      (host.front() != '[' || host.back() != ']' || host.size() < 3)) {
    return std::nullopt;
  }
  if (host.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  const std::optional<int64_t> port = ParseInt64(text.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return static_cast<uint16_t>(*port);
}

}  // namespace cortex::config_internal
