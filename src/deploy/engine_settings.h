// The config applied to the planner's inputs: an engine's `flags:` read as llama-server's and
// vLLM's memory settings, and the `machine:` section as the prefill estimate's compute. The
// planner (plan/) takes these plain settings and knows nothing of the config's types.
//
// Pure: no I/O.
#pragma once

#include "config/config.h"
#include "plan/llama_cpp_plan.h"
#include "plan/prefill_estimate.h"
#include "plan/vllm_plan.h"
#include "util/status.h"

namespace cortex {

// Reads the settings from an engine's `flags`. Values were validated by the config loader; a
// value that still does not parse gives InvalidArgument naming the flag.
StatusOr<LlamaCppSettings> ReadLlamaCppSettings(const FlagMap& flags);
StatusOr<VllmSettings> ReadVllmSettings(const FlagMap& flags);

MachineCompute MachineComputeOf(const MachineConfig& machine);

}  // namespace cortex
