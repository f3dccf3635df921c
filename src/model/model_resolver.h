// ResolveModel: the ModelInfo behind an engine's `model:` entry.
//
// A path that exists is read: a GGUF file (llama.cpp) or a Hugging Face model directory with
// config.json and safetensors (vLLM). When the path does not exist (weights not downloaded yet)
// or only `hf:` is given, the built-in table describes the model from its repo id and `quant:`,
// and the ModelInfo says its weights are estimated. Relative paths are taken from `base_dir`
// (the config file's directory).
//
// The model layer knows nothing of the config: deploy/engine_models.h turns an engine's
// `model:` entry into a ModelLocation and resolves every engine of a config.
#pragma once

#include <string>

#include "model/model_info.h"
#include "util/status.h"

namespace cortex {

// Where a model's description comes from: a file or directory, a Hugging Face repo id, or both.
struct ModelLocation {
  std::string path;   // GGUF file or Hugging Face model directory
  std::string hf;     // repo id in the built-in table
  std::string quant;  // the table's quantization when only `hf` is used; must not be empty then
};

// Returns the model, or NotFound (no file and no `hf:` to fall back on), or the reader's error
// prefixed with the path.
StatusOr<ModelInfo> ResolveModel(const ModelLocation& location, const std::string& base_dir);

}  // namespace cortex
