// PlanVllm: what one `vllm serve` process will take, and the flags that make it take exactly that.
//
// How vLLM sizes itself (vllm/v1/worker/gpu_worker.py, vllm/v1/core/kv_cache_utils.py):
//   requested  = total GPU memory * gpu-memory-utilization        (default 0.92; 0.9 earlier)
//   non-KV     = weights + activation peak of a dummy forward over max-num-batched-tokens
//                + non-torch allocations (runtime, NCCL, attention workspaces) + CUDA graphs
//   KV pool    = requested - non-KV, or exactly --kv-cache-memory-bytes when given
//   blocks     = KV pool // (2 * block_size * kv_heads * head_dim * dtype_bytes) // layers
//   tokens     = blocks * block_size; one max-model-len request needs cdiv(len, block_size) blocks
// vLLM refuses to start when free memory is below `requested`, or when one max-model-len
// request does not fit in the pool.
//
// On a unified-memory machine the engines share one pool, so we never let vLLM take a fraction
// of "the GPU": the planner starts from the engine's budget, estimates the non-KV part, gives the
// rest to the KV pool, and derives --kv-cache-memory-bytes (which pins the pool) and
// --gpu-memory-utilization = budget / gpu_pool (so the startup check asks only for the budget).
//
// Weights are exact when read from safetensors headers. The activation peak, non-torch memory
// and CUDA-graph memory are measured by vLLM at startup; here they are estimates (see
// `notes`), which only move memory between the KV pool and the rest, never past the budget.
//
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/model_info.h"
#include "plan/engine_memory.h"
#include "util/status.h"

namespace cortex {

// vLLM's memory-relevant flags (deploy/engine_settings.h reads them from an engine's config).
struct VllmSettings {
  std::optional<uint64_t> max_model_len;           // default: the model's context
  std::optional<uint64_t> max_num_seqs;            // default 256, 1024 on devices of >= 70 GiB
  std::optional<uint64_t> max_num_batched_tokens;  // default 2048, 8192 on >= 70 GiB
  std::optional<double> gpu_memory_utilization;
  std::optional<uint64_t> kv_cache_memory_bytes;
  std::string kv_cache_dtype = "auto";
  uint64_t block_size = 16;
  bool enforce_eager = false;
};

struct VllmPlan {
  VllmSettings settings;
  uint64_t max_model_len = 0;
  uint64_t max_num_seqs = 0;
  uint64_t max_num_batched_tokens = 0;
  uint64_t kv_dtype_bytes = 2;
  std::string kv_dtype;  // "bf16", "fp8"
  uint64_t activation_bytes = 0;
  uint64_t non_torch_bytes = 0;
  uint64_t cuda_graph_bytes = 0;
  uint64_t kv_pool_bytes = 0;  // what vLLM is told / computes
  uint64_t num_blocks = 0;
  uint64_t kv_tokens = 0;      // "GPU KV cache size: N tokens"
  double max_concurrency = 0;  // "Maximum concurrency for N tokens per request: X"
  uint64_t kv_bytes_per_token = 0;
  uint64_t max_len_in_pool = 0;  // longest single request the pool holds
  uint64_t requested_bytes = 0;  // what vLLM will ask the allocator for in all
  EngineMemory memory;
  std::vector<Note> notes;
  std::vector<std::pair<std::string, std::string>> server_flags;
};

// Plans one vLLM engine in `budget_bytes` of a `gpu_pool_bytes` pool. `overhead_bytes` is the
// non-torch estimate. Returns Unsupported when vLLM cannot serve the model at all, and
// InvalidArgument for settings vLLM rejects.
StatusOr<VllmPlan> PlanVllm(const ModelInfo& model, const VllmSettings& settings,
                            uint64_t budget_bytes, uint64_t gpu_pool_bytes,
                            uint64_t overhead_bytes);

// Bytes of KV one token takes in vLLM's paged cache at `dtype_bytes` per element.
uint64_t VllmKvBytesPerToken(const ModelInfo& model, uint64_t dtype_bytes);

}  // namespace cortex
