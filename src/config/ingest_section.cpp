// The top-level `ingest` section: where Seismic ingest jobs live and their limits.
#include <fmt/format.h>

#include <algorithm>

#include "config/sections.h"

namespace cortex::config_internal {

void ReadIngest(const MapEntry& entry, const std::vector<LaneConfig>& lanes, IngestConfig* out,
                Diagnostics* diag) {
  out->pos = entry.key_pos;
  if (!ExpectMap(entry.value, diag)) return;
  MapReader keys(
      entry.value, entry.key_pos,
      {"dir", "max_upload", "max_unpacked", "max_entries", "max_entry_size", "max_ratio",
       "max_file_size", "deep_threshold", "deep_lane", "lane", "strategy", "max_whole_time",
       "part_tokens", "burst", "keep", "max_tokens", "prefill_tokens_per_s"},
      diag);
  auto size = [&](std::string_view key, uint64_t min, uint64_t* value) {
    if (const MapEntry* e = keys.Find(key)) {
      if (std::optional<uint64_t> v = ReadSize(e->value, diag)) {
        if (*v < min) {
          diag->Add(e->value.pos, fmt::format("{}: expected at least {} bytes, got {}",
                                              e->value.path, min, e->value.node.Scalar()));
        } else {
          *value = *v;
        }
      }
    }
  };
  size("max_upload", 1024, &out->max_upload_bytes);
  size("max_unpacked", 1024, &out->max_unpacked_bytes);
  size("max_entry_size", 1024, &out->max_entry_bytes);
  size("max_file_size", 1, &out->max_file_bytes);
  size("deep_threshold", 0, &out->deep_threshold_bytes);
  auto integer = [&](std::string_view key, int64_t min, int64_t max, uint64_t* value) {
    if (const MapEntry* e = keys.Find(key)) {
      if (std::optional<int64_t> v = ReadInt(e->value, min, max, diag)) {
        *value = static_cast<uint64_t>(*v);
      }
    }
  };
  integer("max_entries", 1, 100'000'000, &out->max_entries);
  integer("part_tokens", 0, 100'000'000, &out->part_tokens);
  integer("max_tokens", 1, 1'000'000, &out->max_tokens);
  auto number = [&](std::string_view key, double min, double max, double* value) {
    if (const MapEntry* e = keys.Find(key)) {
      const std::optional<double> v = ParseFiniteDouble(e->value.node.Scalar());
      if (!e->value.node.IsScalar() || !v || *v < min || *v > max) {
        diag->Add(
            e->value.pos,
            fmt::format(
                "{}: expected a number between {} and {}, got {}", e->value.path, min, max,
                e->value.node.IsScalar() ? e->value.node.Scalar() : std::string("a non-scalar")));
      } else {
        *value = *v;
      }
    }
  };
  number("max_ratio", 2, 1e9, &out->max_ratio);
  number("prefill_tokens_per_s", 0, 1e9, &out->prefill_tokens_per_s);
  if (const MapEntry* e = keys.Find("max_whole_time")) {
    if (std::optional<double> s = ReadSeconds(e->value, 1, 30 * 86400, diag)) {
      out->max_whole_time_s = *s;
    }
  }
  if (const MapEntry* e = keys.Find("keep")) {
    if (std::optional<double> s = ReadSeconds(e->value, 60, 3650.0 * 86400, diag)) out->keep_s = *s;
  }
  auto choice = [&](std::string_view key, std::vector<std::string> allowed, std::string* value) {
    if (const MapEntry* e = keys.Find(key)) {
      const std::optional<std::string> v = ReadString(e->value, diag);
      if (!v) return;
      if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
        diag->Add(e->value.pos, fmt::format("{}: expected one of {}, got \"{}\"", e->value.path,
                                            fmt::join(allowed, ", "), *v));
      } else {
        *value = *v;
      }
    }
  };
  choice("strategy", {"auto", "whole", "split"}, &out->strategy);
  choice("burst", {"auto", "never"}, &out->burst);
  if (const MapEntry* e = keys.Find("dir")) {
    const std::optional<std::string> dir = ReadString(e->value, diag);
    if (dir && dir->empty()) {
      diag->Add(e->value.pos, fmt::format("{}: expected a directory, got \"\" (leave the key out "
                                          "for the default)",
                                          e->value.path));
    } else if (dir) {
      out->dir = *dir;
    }
  }
  auto lane = [&](std::string_view key, std::string* value) {
    if (const MapEntry* e = keys.Find(key)) {
      const std::optional<std::string> v = ReadString(e->value, diag);
      if (!v) return;
      const bool known = std::any_of(lanes.begin(), lanes.end(), [&](const LaneConfig& l) {
        return l.name == *v || std::find(l.aliases.begin(), l.aliases.end(), *v) != l.aliases.end();
      });
      if (!known) {
        std::vector<std::string> names;
        for (const LaneConfig& l : lanes)
          names.push_back(l.name);
        diag->Add(e->value.pos, fmt::format("{}: no lane named \"{}\"; lanes are: {}",
                                            e->value.path, *v, fmt::join(names, ", ")));
      } else {
        *value = *v;
      }
    }
  };
  lane("deep_lane", &out->deep_lane);
  lane("lane", &out->lane);
}

}  // namespace cortex::config_internal
