#include "gateway/lane_table.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace cortex::gateway {
namespace {

int Slots(const EngineConfig& e, bool vllm_wire) {
  if (vllm_wire) {
    const FlagValue* v = FindFlag(e.flags, "max-num-seqs");
    return v != nullptr && v->kind == FlagValue::Kind::kInt ? static_cast<int>(v->int_value) : 0;
  }
  const FlagValue* v = FindFlag(e.flags, "parallel");
  if (v == nullptr || v->kind != FlagValue::Kind::kInt) return 0;
  return v->int_value == -1 ? 4 : static_cast<int>(v->int_value);
}

}  // namespace

LaneTable LaneTable::FromConfig(const Config& config) {
  LaneTable t;
  for (const EngineConfig& e : config.engines) {
    EngineEntry entry;
    entry.name = e.name;
    entry.kind = e.kind;
    entry.vllm_wire = SpeaksVllmWire(e);
    entry.host = e.host;
    entry.port = e.port;
    entry.served_name = ServedModelName(e);
    entry.slots = Slots(e, entry.vllm_wire);
    t.engines_.push_back(std::move(entry));
  }
  auto engine_index = [&](const std::string& name) {
    for (size_t i = 0; i < config.engines.size(); ++i) {
      if (config.engines[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  auto lane_index = [&](const std::string& name) {
    for (size_t i = 0; i < config.lanes.size(); ++i) {
      if (config.lanes[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  for (const LaneConfig& l : config.lanes) {
    LaneEntry entry;
    entry.name = l.name;
    entry.engine = std::max(0, engine_index(l.engine));
    entry.aliases = l.aliases;
    entry.limits.engine = entry.engine;
    entry.limits.max_concurrency = l.max_concurrency;
    entry.limits.queue = l.queue;
    entry.limits.max_wait = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(l.max_queue_wait_s));
    entry.limits.interactive = l.priority == LanePriority::kInteractive;
    for (const std::string& f : l.fallback) {
      if (int i = lane_index(f); i >= 0) entry.fallback.push_back(i);
    }
    if (!l.fallback_on_context.empty())
      entry.fallback_on_context = lane_index(l.fallback_on_context);
    entry.context_target = l.context;
    entry.tokens_per_s_target = l.tokens_per_s;
    t.lanes_.push_back(std::move(entry));
  }
  return t;
}

int LaneTable::Find(std::string_view model, std::string_view header) const {
  const std::string_view want = header.empty() ? model : header;
  if (want.empty()) return -1;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    const LaneEntry& l = lanes_[i];
    if (l.name == want) return static_cast<int>(i);
    if (std::find(l.aliases.begin(), l.aliases.end(), want) != l.aliases.end()) {
      return static_cast<int>(i);
    }
  }
  // An engine's own served name routes to the first lane of that engine, so clients written
  // against the engine directly keep working through the gateway.
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (engines_[static_cast<size_t>(lanes_[i].engine)].served_name == want) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::vector<std::string> LaneTable::LaneNames() const {
  std::vector<std::string> names;
  for (const LaneEntry& l : lanes_)
    names.push_back(l.name);
  return names;
}

}  // namespace cortex::gateway
