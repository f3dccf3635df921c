// Prefill time: how long an engine reads a prompt before it can answer ("time before memory":
// a context that fits in memory can still take hours to fill).
//
// Prefill is compute-bound (many tokens share each weight read), so the cost is FLOPs, in two
// parts per prompt token:
//
//   dense      2 × active parameters: every prompt token is multiplied through every active
//              matrix once (a multiply and an add per weight). The output head is left out,
//              because llama.cpp and vLLM compute logits for the last prompt token only, and
//              so is the token embedding, which is a row lookup.
//   attention  at depth d (keys already in the cache) each attending layer scores the query
//              against d keys and sums d values: 2 × n_head × (head_dim_k + head_dim_v) × d,
//              i.e. 4 × n_head × head_dim × d for equal K and V heads. Query heads, not KV
//              heads: grouped-query attention shrinks the cache, not this work. Sliding-window
//              layers attend at most n_swa keys; recurrent layers have no depth term.
//
// Each part runs at its own fraction of the machine's peak: the matmuls near their kernels'
// best, attention at depth far below it (long reductions over the cache, softmax, masks).
// With C = machine.compute_flops, e = compute_efficiency, a = attention_efficiency, D = dense
// FLOPs per token and A = attention FLOPs per token per key (summed over full layers), filling
// n tokens from depth s takes
//
//   T = n·D / (C·e) + A · Σ_{i<n} (s + i) / (C·a),   Σ ≈ n·s + n²/2
//
// (the sum taken as an integral; sliding-window layers integrate min(depth, n_swa) instead).
// The n² term is why a 1M-token prompt takes most of a day while the same tokens in 32K parts
// take under an hour: the parts never attend past 32K.
//
// Calibration (research E §3.8, Llama-2-7B Q4_0 on Strix Halo, flash attention; research C:
// 59.4 TFLOPS fp16 peak). Llama-2-7B has 6.48e9 parameters in its blocks, so D = 12.95
// GFLOP, and A = 4 × 32 × 32 × 128 = 524,288 FLOP per key. With e = 0.35 and a = 0.07:
//   pp512 from empty        D at 20.8 TFLOP/s + A × 256 at 4.16     ≈ 1,530 tok/s (1,338–1,545)
//   pp2048 at depth 32,768  0.62 ms + A × 33,792 at 4.16 TFLOP/s    ≈ 205 tok/s (156–217)
//   pp2048 at depth 65,536  0.62 ms + 8.39 ms                       ≈ 111 tok/s (71–102)
// (measured ranges across ROCm and Vulkan RADV builds; AMDVLK's 347 at pp512 left out). The
// model is a little optimistic at 64K: the measured rate falls slightly faster than 1/depth.
// Filling 2^20 tokens from empty: ≈ 19 h; 32 parts of 32,768: ≈ 47 min in total.
// tests/plan/prefill_estimate_test.cpp checks these; the opt-in
// tests/integration/llama_bench_prefill_test.cpp fits e and a on this machine's CPU.
//
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>

#include "model/model_info.h"

namespace cortex {

// The machine's compute as the estimate sees it. The config's `machine:` section holds these
// and their defaults (deploy/engine_settings.h: MachineComputeOf); here nothing is assumed.
struct MachineCompute {
  double compute_flops = 0;         // peak dense FLOP/s (fp16); 0: unknown
  double compute_efficiency = 0;    // fraction of peak the matmuls reach, (0, 1]
  double attention_efficiency = 0;  // fraction attention over the cache reaches, (0, 1]
};

struct PrefillFlops {
  double dense_per_token = 0;        // 2 × active parameters
  double attention_per_key = 0;      // per prompt token and key attended, full-attention layers
  double swa_attention_per_key = 0;  // the same, sliding-window layers
  uint64_t window = 0;               // keys a sliding-window layer attends at most
};

// Parameters one prompt token is multiplied through: the blocks' attention projections and
// feed-forward matrices (gated: gate, up, down), and the routed experts it uses. Experts' sizes
// are not in ModelInfo, so their parameters are their bytes at the bytes per parameter of the
// rest of the blocks; quants that shrink experts more than attention make that an
// underestimate. Recurrent layers' mixers are not counted (their shapes are not known either).
double PrefillActiveParameters(const ModelInfo& model);

PrefillFlops PrefillFlopsOf(const ModelInfo& model);

// Seconds to prefill `n_tokens` prompt tokens into a cache that already holds `start_depth`
// tokens; 0 for no tokens. nullopt when the machine's compute is unknown (0) or the model has
// no shapes to count.
std::optional<double> PrefillSeconds(const ModelInfo& model, const MachineCompute& machine,
                                     uint64_t start_depth, uint64_t n_tokens);

// Prompt tokens per second at `depth` (the marginal rate there); nullopt as above.
std::optional<double> PrefillTokensPerSecondAtDepth(const ModelInfo& model,
                                                    const MachineCompute& machine, uint64_t depth);

}  // namespace cortex
