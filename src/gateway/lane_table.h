// LaneTable: the gateway's routing table, built once from the config.
//
// A request names its lane in the `model` field (the lane's name, one of its aliases, or the
// served name of the lane's engine) or in the X-Cortex-Lane header, which wins. Each lane knows
// its engine, its admission limits, its fallbacks, and the name its engine expects in `model`:
// vLLM checks it against --served-model-name (or the model path), llama-server ignores it, so
// we send its --alias when there is one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "gateway/admission.h"

namespace cortex::gateway {

struct EngineEntry {
  std::string name;
  EngineKind kind = EngineKind::kLlamaCpp;
  bool vllm_wire = false;  // speaks vLLM's dialect (vllm, or sim with --flavor vllm)
  std::string host;
  uint16_t port = 0;
  std::string served_name;
  int slots = 0;  // 0: unknown; the engine queues by itself
};

struct LaneEntry {
  std::string name;
  int engine = 0;
  std::vector<std::string> aliases;
  LaneLimits limits;
  std::vector<int> fallback;
  int fallback_on_context = -1;
  std::optional<TargetRange> context_target;
  std::optional<TargetRange> tokens_per_s_target;
};

class LaneTable {
 public:
  static LaneTable FromConfig(const Config& config);

  // The lane for a request: `header` (X-Cortex-Lane) when non-empty, else `model`.
  // Returns -1 when no lane has that name, alias or engine served name.
  int Find(std::string_view model, std::string_view header) const;

  const std::vector<LaneEntry>& lanes() const { return lanes_; }
  const std::vector<EngineEntry>& engines() const { return engines_; }
  std::vector<std::string> LaneNames() const;

 private:
  std::vector<LaneEntry> lanes_;
  std::vector<EngineEntry> engines_;
};

}  // namespace cortex::gateway
