// Internal to the config module: the readers of the `engines` and `lanes` sections.
//
// Sections are read in dependency order (machine and gateway first, then engines, then lanes)
// so each can check its values against what it depends on: budgets against the GPU pool,
// ports against the gateway's, lane engines against the engine names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace cortex::config_internal {

// What later sections need from earlier ones. A value that was missing or invalid stays unset,
// which skips the checks against it instead of piling follow-on errors onto the first one.
struct LoadContext {
  Diagnostics* diag = nullptr;
  uint64_t gpu_pool_bytes = 0;
  std::string gpu_pool_source;  // "machine.gpu_pool (110GiB)", for messages
  std::optional<uint16_t> gateway_port;
  std::string gateway_source;             // "gateway.listen 127.0.0.1:4000", for messages
  std::vector<std::string> engine_names;  // as written, in file order
  // Set when the file has a top-level `profiles` map: then engines may only use these names.
  std::optional<std::vector<std::string>> declared_profiles;
};

// Reads the `engines` map at `field`; fills ctx->engine_names first so profiles can name any
// engine in the file, wherever it is written.
void ReadEngines(const Field& field, LoadContext* ctx, std::vector<EngineConfig>* out);

// Reads the `lanes` map at `field`; lane engines must be in ctx.engine_names.
void ReadLanes(const Field& field, const LoadContext& ctx, std::vector<LaneConfig>* out);

// Reads the keys of engine `out->name` that say how it is launched (env, launch, pinned, image,
// load_seconds) from its map `keys`, and fills in the default image. `kind` is nullopt when the
// engine kind was invalid. An engine given by url is not launched, so these keys are errors
// there.
void ReadEngineLaunchKeys(const MapReader& keys, std::optional<EngineKind> kind, bool has_url,
                          EngineConfig* out, Diagnostics* diag);

// Reads the top-level `supervisor` section.
void ReadSupervisor(const MapEntry& entry, SupervisorConfig* out, Diagnostics* diag);

// Reads the top-level `ingest` section; lane names must be lanes of the file.
void ReadIngest(const MapEntry& entry, const std::vector<LaneConfig>& lanes, IngestConfig* out,
                Diagnostics* diag);

// The name an operator writes for "no profile", so no profile may take it.
inline constexpr std::string_view kNoProfile = "normal";

}  // namespace cortex::config_internal
