// Loading and validating a Cortex config file.
//
// The loader is strict, because a typo in a memory budget is an OOM an hour later: unknown keys,
// duplicate keys, wrong types, malformed sizes and impossible values are all errors. Every
// error is reported as "file:line:column: what was expected, what was found", one per line,
// all problems of the file at once (like a compiler), and loading fails as a whole.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "util/status.h"

namespace cortex {

// Reads and validates the file at `path`.
// Returns NotFound/IoError when it cannot be read, InvalidArgument with one
// "path:line:column: message" line per problem otherwise.
//
// After the file, the environment: CORTEX_GATEWAY_LISTEN and CORTEX_ADMIN_KEY, when set and
// not empty, replace gateway.listen and gateway.admin_key. A malformed CORTEX_GATEWAY_LISTEN is
// one more problem, reported as "CORTEX_GATEWAY_LISTEN: message" after the file's.
StatusOr<Config> LoadConfig(const std::string& path);

// Same, from text; `path` is used only in messages.
StatusOr<Config> ParseConfig(std::string_view yaml_text, const std::string& path);

// The engine as it runs under `profile`: budget replaced and flags merged (profile wins) when
// the engine has that profile, unchanged otherwise. "normal" and "" mean no profile.
EngineConfig ApplyProfile(const EngineConfig& engine, std::string_view profile);

}  // namespace cortex
