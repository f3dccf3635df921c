// EngineLaunch: the command line that starts one engine so that it allocates exactly what the
// planner planned, and the names it will answer to.
//
// The argv is built from three sources, in this order of precedence:
//   1. what cortex itself decides: the model (`-m PATH` for llama-server, the positional model
//      of `vllm serve`), `--host`/`--port` from the engine's host and port keys;
//   2. the plan's `server_flags` (the flags that make memory deterministic: llama.cpp's
//      `--fit off`, ctx-size, parallel, kv-unified, cache types, flash-attn, batch sizes,
//      n-gpu-layers, cache-ram; vLLM's max-model-len, kv-cache-memory-bytes,
//      gpu-memory-utilization, ...);
//   3. the engine's `flags` (the engine's own long option names, passed through).
// A flag is emitted once: a plan flag replaces the config flag of the same name in place, so the
// command line keeps the file's order; plan flags the file does not set follow. `kv-unified` and
// `no-kv-unified` count as one name. Values: `true` is a bare `--name`; `false` is `--no-name`
// where the engine spells the negation that way (llama-server's negatable switches, any vLLM
// boolean), and is left out otherwise; everything else is `--name VALUE`, verbatim.
//
// Per engine kind:
//   llama.cpp: `llama-server -m PATH --host H --port P --alias NAME ...`. llama-server needs a
//              GGUF file, so `model.path` is required. The served name is the `alias` flag when
//              set (its first name), else the engine's name.
//   vllm:      `vllm serve MODEL --host H --port P --served-model-name NAME ...`. MODEL is
//              `model.path` when it exists or no `hf` is set, else `model.hf` (vLLM downloads it).
//   sim:       `SELF_EXE sim --flavor F` followed by exactly the argv of the engine F imitates
//              (from `serve` or `-m` on); F is the `flavor` flag (llama.cpp when unset), which is
//              not passed on as an engine flag. The `sim-*` flags reach the simulator like any
//              other flag (`sim-load-seconds: 2` becomes `--sim-load-seconds 2`).
// A relative model path is passed as written: run the engine in the config file's directory.
//
// No shell is involved anywhere: the argv is handed to exec (or to docker compose's `command:`)
// word for word.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "deploy/deployment_plan.h"
#include "util/status.h"

namespace cortex {

struct EngineLaunch {
  std::string binary;                                    // path or name to find on PATH
  std::vector<std::string> argv;                         // argv[0] is the binary as given
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  std::string flavor;       // "llama.cpp" or "vllm": how the process behaves on the wire
  std::string served_name;  // what the engine answers in /v1/models and expects in `model`
};

// The launch of `engine` under the profile `plan` was made for. `self_exe` is the path of the
// running cortex binary, used for `engine: sim`.
//
// REQUIRES: `engine` is the engine as it runs under that profile (ApplyProfile(engine, profile)
// from config/config_loader.h), and `plan` is its EnginePlan from PlanDeployment.
//
// Returns InvalidArgument when the engine is given by url (nothing to launch), when it is not
// resident or was not planned under the profile (there are no memory flags to start it with),
// when a llama.cpp engine (or a llama.cpp-flavoured sim) has no `model.path`, when the flags set
// host, port or the model themselves, and when a sim flavor is neither llama.cpp nor vllm.
StatusOr<EngineLaunch> BuildEngineLaunch(const EngineConfig& engine, const EnginePlan& plan,
                                         const std::string& self_exe);

}  // namespace cortex
