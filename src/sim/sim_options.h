// SimOptions: what `cortex sim` was asked to simulate, read from the real engine's own argv.
//
// The supervisor launches the simulator exactly as it launches llama-server or `vllm serve`, so
// the simulator reads each engine's flags under the engine's own names: short and long forms
// (`-c 4096`, `--ctx-size 4096`, `--ctx-size=4096`), boolean switches, and for vLLM a positional
// model (`vllm serve MODEL` style), `--served-model-name A B ...` and underscores in long names
// (`--max_model_len`). Flags that change what the simulator does are read into typed fields;
// every other engine flag is accepted and ignored, and listed in `ignored_flags` so the caller
// can log `ignoring unknown flag --x` on stderr. An unknown flag takes the next word as its value
// when that word does not start with '-' (or is a number such as -1), so `--threads 8` is
// skipped whole.
//
// Simulator options carry a `--sim-` prefix and are parsed strictly: an unknown `--sim-*` flag, a
// missing value or a value out of range is an error naming the flag. Each takes a value except
// the switch --sim-ignore-disconnect (which also takes `=true` / `=false`).
//
// Defaults (documented in SimUsage()): load 0.5 s, time to first token 100 ms, inter-token
// latency 20 ms, no prompt processing time, no jitter, seed 1, 16 tokens per request when the
// request sets no limit, a disconnect cancels its request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plan/llama_cpp_plan.h"
#include "plan/vllm_plan.h"
#include "util/status.h"

namespace cortex::sim {

enum class SimFlavor { kLlamaCpp, kVllm };

// llama-server's flags that the simulator honours (D-engine-apis.md 1.9).
struct LlamaCppFlags {
  std::string model;                  // -m/--model: a GGUF file
  LlamaCppSettings settings;          // memory flags, llama-server's defaults
  std::vector<std::string> aliases;   // -a/--alias A[,B]
  std::vector<std::string> api_keys;  // --api-key K[,K2]
  bool metrics = false;               // --metrics
  bool slots_endpoint = true;         // --slots / --no-slots
  int64_t sse_ping_interval_s = 30;   // --sse-ping-interval; <= 0 disables the pings
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};

// `vllm serve`'s flags that the simulator honours (D-engine-apis.md 2.8).
struct VllmFlags {
  std::string model;  // --model or the first positional word: HF directory or repo id
  std::vector<std::string> served_model_names;
  VllmSettings settings;
  bool enable_sleep_mode = false;
  std::vector<std::string> api_keys;
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
};

struct SimOptions {
  SimFlavor flavor = SimFlavor::kLlamaCpp;
  LlamaCppFlags llama;
  VllmFlags vllm;

  // --sim-* options.
  double load_seconds = 0.5;
  double ttft_ms = 100;
  double itl_ms = 20;
  // Prompt tokens processed per second before the first token (0: off, the prompt costs only
  // ttft_ms). Processed in batches of the engine's -ub/--ubatch-size (vLLM:
  // --max-num-batched-tokens); see sim/prefill.h.
  double prefill_tps = 0;
  // A client that disconnects does not stop its request: the slot keeps working until the
  // prefill and generation would have finished, as current llama-server does (--sim-ignore-
  // disconnect). Off: the request stops and frees its slot at once.
  bool ignore_disconnect = false;
  double jitter = 0;  // fraction; each delay is scaled by a uniform factor in [1-j, 1+j]
  uint64_t seed = 1;
  // Fraction of the planned bytes (the planner's total, with llama.cpp's prompt cache) to hold.
  double hold_memory = 0;
  double fail_rate = 0;
  int fail_status = 500;
  // When set, a streamed request chosen to fail fails after this many tokens (a mid-stream
  // error) instead of before its headers.
  std::optional<uint64_t> fail_after_tokens;
  std::optional<uint64_t> crash_after;
  std::optional<uint64_t> hang_after;
  uint32_t default_max_tokens = 16;
  // The notional GPU pool vLLM's --gpu-memory-utilization is a fraction of (default 110 GiB,
  // the reference machine's GTT pool).
  uint64_t gpu_memory_bytes = 110ull << 30;

  bool help = false;
  // Engine flags that were accepted but mean nothing to the simulator, as written.
  std::vector<std::string> ignored_flags;
};

// Parses the words after `cortex sim`. Returns InvalidArgument naming the flag for a missing or
// unknown --flavor, a --sim-* flag that is unknown, lacks its value or is out of range, and an
// engine flag the simulator reads whose value does not parse (`-c abc`, `--port 70000`).
StatusOr<SimOptions> ParseSimOptions(const std::vector<std::string>& args);

// The text of `cortex sim --help`.
std::string SimUsage();

// "llama.cpp" or "vllm".
std::string_view SimFlavorName(SimFlavor flavor);

}  // namespace cortex::sim
