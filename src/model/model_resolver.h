// ResolveModel: the ModelInfo behind an engine's `model:` entry.
//
// A path that exists is read: a GGUF file (llama.cpp) or a Hugging Face model directory with
// config.json and safetensors (vLLM). When the path does not exist (weights not downloaded yet)
// or only `hf:` is given, the built-in table describes the model from its repo id and `quant:`,
// and the ModelInfo says its weights are estimated. Relative paths are taken from `base_dir`
// (the config file's directory).
#pragma once

#include <map>
#include <string>

#include "config/config.h"
#include "model/model_info.h"
#include "util/status.h"

namespace cortex {

// Returns the model, or NotFound (no file and no `hf:` to fall back on), or the reader's error
// prefixed with the path.
StatusOr<ModelInfo> ResolveModel(const ModelRef& ref, EngineKind kind, const std::string& base_dir);

// The models of every engine cortex launches (engines given by `url` run elsewhere and are left
// out), by engine name, with paths taken from the config file's directory.
std::map<std::string, StatusOr<ModelInfo>> ResolveEngineModels(const Config& config);

}  // namespace cortex
