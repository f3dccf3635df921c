#include "ingest/lane_targets.h"

#include <algorithm>

#include "deploy/deployment_plan.h"
#include "deploy/engine_settings.h"
#include "gateway/lane_table.h"
#include "plan/prefill_estimate.h"

namespace cortex::ingest {

std::vector<LaneTarget> LaneTargets(const Config& config,
                                    const std::map<std::string, StatusOr<ModelInfo>>& models) {
  const gateway::LaneTable table = gateway::LaneTable::FromConfig(config);
  std::map<std::string, DeploymentPlan> plans;
  for (const std::string& profile : ProfileNames(config)) {
    plans.emplace(profile, PlanDeployment(config, profile, models));
  }
  auto engine_plan = [&](const std::string& profile,
                         const std::string& engine) -> const EnginePlan* {
    auto it = plans.find(profile);
    if (it == plans.end()) return nullptr;
    for (const EnginePlan& p : it->second.engines) {
      if (p.name == engine && p.planned && p.resident) return &p;
    }
    return nullptr;
  };
  std::vector<LaneTarget> out;
  for (const gateway::LaneEntry& l : table.lanes()) {
    const gateway::EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
    LaneTarget t;
    t.lane = l.name;
    t.engine = e.name;
    t.host = e.host;
    t.port = e.port;
    t.vllm_wire = e.vllm_wire;
    t.served_name = e.served_name;
    t.slots = std::max(1, e.slots);
    t.prefill_tokens_per_s = config.ingest.prefill_tokens_per_s;
    const EngineConfig* ec = config.FindEngine(e.name);
    t.managed = ec != nullptr && ec->url.empty();
    if (const EnginePlan* p = engine_plan("normal", e.name)) {
      t.ctx = p->ctx_per_request;
      t.slots = std::max<int>(1, static_cast<int>(p->n_seq));
    }
    if (ec != nullptr) {
      for (const EngineProfile& prof : ec->profiles) {
        if (prof.pauses.empty()) continue;  // a burst profile is one that takes others' memory
        if (const EnginePlan* p = engine_plan(prof.name, e.name)) {
          t.burst_ctx = p->ctx_per_request;
          t.burst_profile = prof.name;
        }
      }
    }
    if (auto it = models.find(e.name); it != models.end() && it->second.ok()) t.model = *it->second;
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<double> EstimatePrefillSeconds(const Config& config, const LaneTarget& target,
                                             uint64_t tokens) {
  if (target.prefill_tokens_per_s > 0) {
    return static_cast<double>(tokens) / target.prefill_tokens_per_s;
  }
  if (target.model)
    return PrefillSeconds(*target.model, MachineComputeOf(config.machine), 0, tokens);
  return std::nullopt;
}

uint64_t EstimateTokensFromBytes(uint64_t bytes) {
  return (bytes + 3) / 4;
}

}  // namespace cortex::ingest
