// Internal to the config module: reading an engine's `flags` map.
//
// Flags pass through to the engine verbatim, so most names are not checked. The ones the planner
// reads to size memory (context length, parallel sequences, cache types, batch sizes) are
// checked here, because a value the planner misreads or the engine rejects would only show up
// after a long model load. Spellings the planner would not find (leading dashes, llama.cpp's
// short aliases, vLLM's underscore spelling) are errors for the same reason.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace cortex::config_internal {

// The kind and parsed value of a flag's scalar text: int when it is a whole 64-bit integer,
// float when it is a finite number, bool only for "true"/"false", string otherwise.
FlagValue ClassifyFlagValue(std::string text, SourcePos pos);

// Reads the `flags` map at `field` into `out`, in file order. `kind` selects the value rules;
// nullopt (the engine kind itself was invalid) checks only names and scalar-ness.
void ReadFlags(const Field& field, std::optional<EngineKind> kind, FlagMap* out, Diagnostics* diag);

// Reports flag combinations llama-server refuses although each value is valid alone (a quantized
// V cache with flash-attn off). `where` names the engine or profile in the message.
void CheckLlamaFlagCombination(const FlagMap& flags, const std::string& where, Diagnostics* diag);

}  // namespace cortex::config_internal
