// Prompt processing (prefill) as the simulator paces it: the prompt goes through the model in
// batches, llama.cpp's `-ub/--ubatch-size` tokens at a time (vLLM: --max-num-batched-tokens), at
// `--sim-prefill-tps` prompt tokens per second.
//
// PrefillSchedule lists the moments a slot's prompt processing reaches: first the start (the
// cached prefix is already there, so `processed` == `cache` at time 0), then the end of each
// batch, the last with `processed` == `total`. llama-server with `"return_progress": true` sends
// one `prompt_progress` chunk at each of these moments (D-engine-apis.md 1.6), and /slots
// counts `n_prompt_tokens_processed` along them.
//
// Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <vector>

namespace cortex::sim {

struct PrefillStep {
  uint64_t processed = 0;  // prompt tokens in the slot after this step, the cached prefix included
  double time_ms = 0;      // since prompt processing began
};

// The steps for a prompt of `total` tokens whose first `cache` tokens are cached (clamped to
// `total`), processed `batch` tokens at a time (0 counts as 1) at `tokens_per_second` (0: no
// time at all, every step at 0 ms). Never empty: {cache, 0} first, then one step per batch; a
// fully cached prompt has that one step only.
std::vector<PrefillStep> PrefillSchedule(uint64_t total, uint64_t cache, uint64_t batch,
                                         double tokens_per_second);

// What one `prompt_progress` object says: {"total","cache","processed","time_ms"}.
struct PromptProgress {
  uint64_t total = 0;
  uint64_t cache = 0;
  uint64_t processed = 0;
  int64_t time_ms = 0;  // measured since prompt processing began, whole milliseconds
};

}  // namespace cortex::sim
