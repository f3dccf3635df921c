// LaneTargets: what an ingest job needs to know about each lane before it routes: the engine
// behind it (where its /tokenize is), how many tokens one request holds normally and under the
// engine's burst profile, and how fast its prompt fills.
//
// Contexts come from the planner (PlanDeployment per profile), i.e. what the engine will really
// allocate after padding and slots, not the config's raw ctx-size.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/model_info.h"
#include "util/status.h"

namespace cortex::ingest {

struct LaneTarget {
  std::string lane;
  std::string engine;
  std::string host;
  uint16_t port = 0;
  bool vllm_wire = false;
  bool managed = false;  // launched by cortex up (false: given by url)
  std::string served_name;
  int slots = 1;
  uint64_t ctx = 0;        // tokens one request holds in the normal profile (0: unknown)
  uint64_t burst_ctx = 0;  // under the engine's burst profile (0: it has none)
  std::string burst_profile;
  // Prompt tokens per second for estimates: ingest.prefill_tokens_per_s when set, else 0
  // (unknown; the planner's prefill model is used when it can be).
  double prefill_tokens_per_s = 0;
  std::optional<ModelInfo> model;
};

// One target per lane, in config order. Models are resolved by the caller (see
// deploy/engine_models.h); a lane whose engine cannot be planned keeps ctx 0.
std::vector<LaneTarget> LaneTargets(const Config& config,
                                    const std::map<std::string, StatusOr<ModelInfo>>& models);

// Estimated seconds to process `tokens` prompt tokens starting from an empty cache, or nullopt
// when nothing is known about the engine's speed.
std::optional<double> EstimatePrefillSeconds(const Config& config, const LaneTarget& target,
                                             uint64_t tokens);

// Bytes-per-token heuristic for when no engine can count: about 4 bytes of source per token.
uint64_t EstimateTokensFromBytes(uint64_t bytes);

}  // namespace cortex::ingest
