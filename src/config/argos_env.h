// The environment variables that point the Cortex backend (Argos) at the gateway, as `cortex
// env` prints them and `cortex doctor` compares them: ARGOS_LLM_BASE_URL, ARGOS_LLM_HEALTH_URL,
// per lane ARGOS_LANE_<NAME>_URL / _MODEL / _HEALTH_URL, ARGOS_INGEST_URL, and
// ARGOS_LLM_API_KEY when the gateway requires keys. Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace cortex {

// In the order `cortex env` prints them.
std::vector<std::pair<std::string, std::string>> ArgosEnvironment(const Config& config);

// "coder" -> "CODER", "super-reader" -> "SUPER_READER".
std::string ArgosLaneName(const std::string& lane);

}  // namespace cortex
