// The models behind a config's engines: each engine's `model:` entry resolved through
// model/model_resolver.h, with the quantization the built-in table assumes for the engine's
// kind when the entry names none (llama.cpp: q4_k_m, vLLM: bf16).
#pragma once

#include <map>
#include <string>

#include "config/config.h"
#include "model/model_info.h"
#include "model/model_resolver.h"
#include "util/status.h"

namespace cortex {

ModelLocation ModelLocationOf(const EngineConfig& engine);

// One engine's model, relative paths taken from `base_dir`.
StatusOr<ModelInfo> ResolveEngineModel(const EngineConfig& engine, const std::string& base_dir);

// The models of every engine cortex launches (engines given by `url` run elsewhere and are left
// out), by engine name, with paths taken from the config file's directory.
std::map<std::string, StatusOr<ModelInfo>> ResolveEngineModels(const Config& config);

}  // namespace cortex
