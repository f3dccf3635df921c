// PlanDeployment: the whole machine under one profile: every engine's memory, every lane's
// feasibility, and findings that say what does not fit and what would. With the machine's
// compute known, each engine and lane also states how long filling its context takes.
//
// Inputs are the typed config and each engine's resolved model (resolving reads files, so the
// caller does it; see deploy/engine_models.h). Under a profile, engines that have it use its
// budget and flags, and engines named in any `pauses` list are not resident: they take no
// memory and their lanes are unavailable.
//
// The machine fits when the resident budgets plus the reserves fit in physical memory, the
// GPU-mapped parts fit in the GPU pool, and every resident engine fits its budget. Lanes fit when
// their engine fits, a request can hold the lane's target context, and one stream's decode bound
// reaches the lane's tokens/s target. Each shortfall is a finding with its arithmetic and the
// figure that would work.
//
// Pure: no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "model/model_info.h"
#include "plan/engine_memory.h"
#include "util/status.h"

namespace cortex {

struct Finding {
  Severity severity = Severity::kInfo;
  std::string engine;  // empty when not about one engine
  std::string lane;    // empty when not about one lane
  std::string message;
};

struct CacheTypeFit {
  std::string cache_type_k;
  std::string cache_type_v;
  uint64_t kv_bytes_per_token = 0;
  uint64_t max_ctx = 0;              // largest ctx-size (all slots) in the engine's budget
  uint64_t max_ctx_per_request = 0;  // what one request can hold then (a slot's share, capped
                                     // at the training context)
};

struct EnginePlan {
  std::string name;
  EngineKind kind = EngineKind::kLlamaCpp;
  std::string host;  // where it listens; port_assigned: chosen from supervisor.engine_ports
  uint16_t port = 0;
  bool port_assigned = false;
  std::string model_name;
  std::string model_provenance;
  bool weights_exact = false;
  uint64_t budget_bytes = 0;
  bool resident = true;   // false: paused in this profile (budget_bytes 0, nothing planned)
  bool planned = false;   // the model resolved and the engine could be planned
  bool external = false;  // given by url: runs elsewhere, not planned
  bool fits = false;

  uint64_t ctx = 0;  // llama.cpp: cells in all slots; vLLM: max-model-len
  uint64_t ctx_per_request = 0;
  uint64_t n_seq = 0;
  bool kv_unified = false;
  std::string cache_type_k;
  std::string cache_type_v;
  std::optional<bool> flash_attn;  // not applicable to vLLM
  EngineMemory memory;
  uint64_t max_ctx_in_budget = 0;  // llama.cpp: largest ctx-size; vLLM: tokens the pool holds
  uint64_t max_ctx_per_request_in_budget = 0;
  uint64_t kv_bytes_per_token = 0;
  uint64_t active_weight_bytes = 0;      // read per decoded token
  double decode_tokens_per_s_bound = 0;  // one stream at ctx_per_request
  // Seconds to prefill ctx_per_request tokens from an empty cache (plan/prefill_estimate.h);
  // unset when the machine's compute is unknown.
  std::optional<double> prefill_seconds_at_ctx;
  std::vector<CacheTypeFit> cache_type_fits;
  std::vector<std::pair<std::string, std::string>> server_flags;
};

struct LanePlan {
  std::string name;
  std::string engine;
  bool available = false;  // its engine is resident and planned
  bool fits = false;
  std::optional<uint64_t> context;                // target minimum
  std::optional<uint64_t> context_max;            // target maximum (== context for one value)
  std::optional<double> tokens_per_s_target;      // minimum
  std::optional<double> tokens_per_s_target_max;  // maximum
  double decode_tokens_per_s_bound = 0;           // at the target context (or the engine's)
  // Seconds to prefill the target context (or the engine's per-request context) from empty;
  // unset when the machine's compute is unknown or the lane is not planned.
  std::optional<double> prefill_seconds_target;
};

struct MachinePlan {
  uint64_t memory_bytes = 0;
  uint64_t gpu_pool_bytes = 0;
  uint64_t reserved_bytes = 0;  // OS + backend reserves
  uint64_t budgets_bytes = 0;   // resident engines' budgets
  uint64_t used_bytes = 0;      // resident engines' planned totals
  uint64_t device_bytes = 0;    // resident engines' GPU-mapped parts
  int64_t free_bytes = 0;       // memory - reserved - budgets (negative when over)
  uint64_t bandwidth_bytes_per_s = 0;
  double bandwidth_efficiency = 0;
  double compute_flops = 0;  // 0: unknown
  double compute_efficiency = 0;
  double attention_efficiency = 0;
};

struct DeploymentPlan {
  bool fits = false;
  std::string profile;
  MachinePlan machine;
  std::vector<EnginePlan> engines;
  std::vector<LanePlan> lanes;
  std::vector<Finding> findings;
};

// Default per-process overheads when an engine does not set `overhead`.
inline constexpr uint64_t kLlamaCppDefaultOverhead = 512ull << 20;
inline constexpr uint64_t kVllmDefaultOverhead = 1ull << 30;

// Plans `config` under `profile` ("normal" or a profile name). `models` maps engine names to
// their resolved models; a missing entry or an error becomes a finding.
DeploymentPlan PlanDeployment(const Config& config, const std::string& profile,
                              const std::map<std::string, StatusOr<ModelInfo>>& models);

// The profile names a config mentions ("normal" first).
std::vector<std::string> ProfileNames(const Config& config);

}  // namespace cortex
