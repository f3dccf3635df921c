#include <fmt/format.h>

#include <algorithm>

#include "config/sections.h"

namespace cortex::config_internal {
namespace {

// A positive number, or a positive integer when `integer`.
std::optional<double> ReadPositive(const YAML::Node& node, bool integer) {
  if (!node.IsScalar()) return std::nullopt;
  std::optional<double> value;
  if (integer) {
    if (std::optional<int64_t> i = ParseInt64(node.Scalar())) value = static_cast<double>(*i);
  } else {
    value = ParseFiniteDouble(node.Scalar());
  }
  if (!value || *value <= 0) return std::nullopt;
  return value;
}

// A target written as one value or as [min, max].
std::optional<TargetRange> ReadTarget(const Field& field, bool integer, Diagnostics* diag) {
  const std::string_view what = integer ? "a positive integer" : "a positive number";
  if (field.node.IsSequence() && field.node.size() == 2) {
    std::optional<double> bounds[2];
    const std::vector<Field> items = ListItems(field);
    for (size_t i = 0; i < 2; ++i) {
      bounds[i] = ReadPositive(items[i].node, integer);
      if (!bounds[i]) {
        diag->Add(items[i].pos, fmt::format("{}: expected {}, got {}", items[i].path, what,
                                            Describe(items[i].node)));
      }
    }
    if (!bounds[0] || !bounds[1]) return std::nullopt;
    if (*bounds[0] > *bounds[1]) {
      diag->Add(field.pos, fmt::format("{}: expected [min, max] with min <= max, got [{}, {}]",
                                       field.path, items[0].node.Scalar(), items[1].node.Scalar()));
      return std::nullopt;
    }
    return TargetRange{*bounds[0], *bounds[1]};
  }
  if (std::optional<double> value = ReadPositive(field.node, integer)) {
    return TargetRange{*value, *value};
  }
  std::string got = Describe(field.node);
  if (field.node.IsSequence()) got = fmt::format("a list of {}", field.node.size());
  diag->Add(field.pos, fmt::format("{}: expected {} or a [min, max] pair of them, got {}",
                                   field.path, what, got));
  return std::nullopt;
}

void ReadTargets(const Field& field, LaneConfig* lane, Diagnostics* diag) {
  if (!ExpectMap(field, diag)) return;
  MapReader targets(field, field.pos, {"context", "tokens_per_s"}, diag);
  if (const MapEntry* e = targets.Find("context")) lane->context = ReadTarget(e->value, true, diag);
  if (const MapEntry* e = targets.Find("tokens_per_s")) {
    lane->tokens_per_s = ReadTarget(e->value, false, diag);
  }
}

// A name a client can put in a request's `model` field: a lane's own name or an alias.
struct LaneName {
  std::string name;
  std::string lane;
  bool alias;
  Field where;  // the alias value, or the lane's key
};

bool Before(SourcePos a, SourcePos b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

// Requests are routed by these names, so one name must mean one lane. The later occurrence in
// the file is the one reported.
void CheckNamesUnique(std::vector<LaneName> names, Diagnostics* diag) {
  std::stable_sort(names.begin(), names.end(), [](const LaneName& a, const LaneName& b) {
    return Before(a.where.pos, b.where.pos);
  });
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (names[j].name != names[i].name) continue;
      const std::string earlier = names[j].alias
                                      ? fmt::format("an alias of lane \"{}\"", names[j].lane)
                                      : fmt::format("the name of lane \"{}\"", names[j].lane);
      if (names[i].alias) {
        diag->Add(names[i].where.pos, fmt::format("{}: \"{}\" is already {}", names[i].where.path,
                                                  names[i].name, earlier));
      } else {
        diag->Add(names[i].where.pos,
                  fmt::format("lanes: lane name \"{}\" is already {}", names[i].name, earlier));
      }
      break;
    }
  }
}

}  // namespace

void ReadLanes(const Field& field, const LoadContext& ctx, std::vector<LaneConfig>* out) {
  Diagnostics* diag = ctx.diag;
  if (!ExpectMap(field, diag)) return;
  MapReader lanes(field, field.pos, {}, diag);
  if (field.node.size() == 0) {
    diag->Add(field.pos,
              fmt::format("{}: expected at least one lane, got an empty map", field.path));
    return;
  }
  std::vector<LaneName> names;
  std::vector<std::pair<std::string, Field>> references;  // (lane, fallback name field)
  for (const MapEntry& entry : lanes.entries()) {
    names.push_back({entry.key, entry.key, false, Field{entry.value.path, entry.key_pos, {}}});
    if (!ExpectMap(entry.value, diag)) continue;
    LaneConfig lane;
    lane.name = entry.key;
    lane.pos = entry.key_pos;
    MapReader keys(entry.value, entry.key_pos,
                   {"engine", "aliases", "targets", "max_concurrency", "queue", "max_queue_wait",
                    "priority", "fallback", "fallback_on_context"},
                   diag);
    if (const MapEntry* e = keys.Require("engine")) {
      if (std::optional<std::string> engine = ReadString(e->value, diag)) {
        lane.engine = *engine;
        const std::vector<std::string>& known = ctx.engine_names;
        if (!known.empty() && std::find(known.begin(), known.end(), *engine) == known.end()) {
          diag->Add(e->value.pos, fmt::format("{}: no engine named \"{}\"; engines are: {}",
                                              e->value.path, *engine, JoinNames(known)));
        }
      }
    }
    if (const MapEntry* e = keys.Find("aliases")) {
      if (ExpectList(e->value, "names", diag)) {
        for (const Field& item : ListItems(e->value)) {
          std::optional<std::string> alias = ReadString(item, diag);
          if (alias && alias->empty()) {
            diag->Add(item.pos, fmt::format("{}: expected a name, got \"\"", item.path));
          } else if (alias) {
            lane.aliases.push_back(*alias);
            names.push_back({*alias, entry.key, true, item});
          }
        }
      }
    }
    if (const MapEntry* e = keys.Find("targets")) ReadTargets(e->value, &lane, diag);
    if (const MapEntry* e = keys.Find("max_concurrency")) {
      lane.max_concurrency = static_cast<int>(ReadInt(e->value, 0, 100000, diag).value_or(0));
    }
    if (const MapEntry* e = keys.Find("queue")) {
      lane.queue = static_cast<int>(ReadInt(e->value, 0, 1000000, diag).value_or(64));
    }
    if (const MapEntry* e = keys.Find("max_queue_wait")) {
      lane.max_queue_wait_s = ReadSeconds(e->value, 0, 86400, diag).value_or(300);
    }
    if (const MapEntry* e = keys.Find("priority")) {
      const std::optional<std::string> p = ReadString(e->value, diag);
      if (p == "interactive") {
        lane.priority = LanePriority::kInteractive;
      } else if (p == "batch") {
        lane.priority = LanePriority::kBatch;
      } else if (p) {
        diag->Add(e->value.pos,
                  fmt::format("{}: expected interactive or batch, got \"{}\"", e->value.path, *p));
      }
    }
    if (const MapEntry* e = keys.Find("fallback")) {
      if (auto list = ReadStringList(e->value, "lane names", diag)) {
        lane.fallback = *list;
        for (const Field& item : ListItems(e->value))
          references.push_back({entry.key, item});
      }
    }
    if (const MapEntry* e = keys.Find("fallback_on_context")) {
      if (auto name = ReadString(e->value, diag)) {
        lane.fallback_on_context = *name;
        references.push_back({entry.key, e->value});
      }
    }
    out->push_back(std::move(lane));
  }
  CheckNamesUnique(std::move(names), diag);
  // Fallbacks name lanes (not aliases), and never the lane itself.
  for (const auto& [from, ref] : references) {
    if (!ref.node.IsScalar()) continue;
    const std::string target = ref.node.Scalar();
    const bool known = std::any_of(out->begin(), out->end(),
                                   [&](const LaneConfig& l) { return l.name == target; });
    if (target == from) {
      diag->Add(ref.pos, fmt::format("{}: lane \"{}\" cannot fall back to itself", ref.path, from));
    } else if (!known) {
      std::vector<std::string> lane_names;
      for (const LaneConfig& l : *out)
        lane_names.push_back(l.name);
      diag->Add(ref.pos, fmt::format("{}: no lane named \"{}\"; lanes are: {}", ref.path, target,
                                     JoinNames(lane_names)));
    }
  }
}

}  // namespace cortex::config_internal
