// Reading a ModelInfo out of a GGUF file, the way llama.cpp reads its hyper-parameters.
//
// llama.cpp keys its metadata by architecture: "<arch>.block_count", "<arch>.attention.head_count"
// and so on, where <arch> is general.architecture. Head counts and feed-forward widths may be a
// single number or a per-layer array. Head dimensions default to embedding_length/head_count
// unless key_length/value_length say otherwise. Sliding-window layers follow a per-architecture
// pattern (every 2nd layer for Gemma 2 and gpt-oss, 5 of 6 for Gemma 3, ...), overridable by
// "<arch>.attention.sliding_window_pattern". These rules are llama.cpp's (src/llama-model.cpp,
// src/models/*.cpp at d32676d7); we restate them here so the planner agrees with the engine.
//
// Weight bytes are exact: the sum of each tensor's bytes from the tensor table.
#pragma once

#include <string>

#include "model/gguf_file.h"
#include "model/model_info.h"
#include "util/status.h"

namespace cortex {

// Builds the ModelInfo of an already-read GGUF file. `name` labels it in messages.
// Returns InvalidArgument when required keys are missing or contradict each other
// (no general.architecture, zero layers, head counts that are absent or zero for an attention
// architecture, more than 512 layers, per-layer arrays of the wrong length).
StatusOr<ModelInfo> ModelInfoFromGguf(const GgufFile& file, const std::string& name);

// ReadGgufFile + ModelInfoFromGguf, with the path as provenance.
StatusOr<ModelInfo> ReadGgufModel(const std::string& path);

}  // namespace cortex
