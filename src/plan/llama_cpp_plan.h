// PlanLlamaCpp: what one llama-server process will allocate, from its model and its flags.
//
// The plan assumes the supervisor starts llama-server with `--fit off` (so llama.cpp does not
// silently shrink the context or move layers) and with every memory-relevant flag explicit;
// `LlamaCppPlan::server_flags` lists them. Where llama-server's defaults or rules change what a
// flag means, the plan applies them and says so in `notes`:
//   - ctx-size 0 (the default) means the model's training context;
//   - parallel -1 (the default) means 4 slots sharing one unified KV cache;
//   - kv-unified defaults to on only when parallel is automatic;
//   - flash-attn auto resolves to on for the backends we target; a quantized V cache needs it
//     (llama-server refuses `-ctv q8_0 -fa off`);
//   - n_batch = min(ctx-size as requested, batch-size), n_ubatch = min(n_batch, ubatch-size);
//   - cache-ram (default 8192 MiB) is a host prompt cache that grows up to its limit.
//
// Parts: weights (every tensor; with n-gpu-layers below the layer count, the unoffloaded layers
// and the token embeddings stay in host memory), KV cache (plan/kv_cache.h, exact), compute
// buffers (plan/compute_buffer.h), the logits output buffer (n_vocab * slots * 4 bytes), and
// overhead (a per-process constant plus the prompt cache).
//
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/ggml_type.h"
#include "model/model_info.h"
#include "plan/compute_buffer.h"
#include "plan/engine_memory.h"
#include "plan/kv_cache.h"
#include "util/status.h"

namespace cortex {

enum class FlashAttnMode { kAuto, kOn, kOff };

// llama-server's memory-relevant flags, with its defaults (deploy/engine_settings.h reads them
// from an engine's config).
struct LlamaCppSettings {
  int64_t ctx_size = 0;   // 0: training context
  int64_t parallel = -1;  // -1: auto (4 slots, unified cache)
  std::optional<bool> kv_unified;
  GgmlType cache_type_k = GgmlType::kF16;
  GgmlType cache_type_v = GgmlType::kF16;
  FlashAttnMode flash_attn = FlashAttnMode::kAuto;
  int64_t batch_size = 2048;
  int64_t ubatch_size = 512;
  int64_t n_gpu_layers = -1;     // -1 auto, -2 all, else a count
  int64_t cache_ram_mib = 8192;  // -1 unlimited, 0 off
  bool swa_full = false;
  bool kv_offload = true;
};

struct LlamaCppPlan {
  LlamaCppSettings settings;  // as given
  // Resolved as llama-server will run.
  uint32_t n_seq = 1;
  bool unified = false;
  bool flash_attn = true;
  uint32_t n_batch = 0;
  uint32_t n_ubatch = 0;
  uint32_t n_gpu_layers = 0;  // layers (of n_layer + 1 incl. the output layer) on the GPU
  KvCacheSize kv;
  ComputeBufferSize compute;
  EngineMemory memory;
  uint64_t prompt_cache_bytes = 0;  // part of overhead
  std::vector<Note> notes;
  // Flags the supervisor passes so llama-server allocates exactly this plan.
  std::vector<std::pair<std::string, std::string>> server_flags;

  // Tokens one slot can hold: the slot's share of the cache, capped by llama-server at the
  // training context.
  uint32_t ctx_per_slot(const ModelInfo& model) const;
};

// Plans one llama-server. `overhead_bytes` is the per-process constant (runtime, kernels).
// Returns InvalidArgument when llama-server would refuse to start (a quantized V cache with
// flash attention off, a cache type that does not divide the head dimension, more than 256
// slots, an unknown training context with ctx-size 0).
StatusOr<LlamaCppPlan> PlanLlamaCpp(const ModelInfo& model, const LlamaCppSettings& settings,
                                    uint64_t overhead_bytes);

// The largest ctx-size (a multiple of 256, or of 256 * parallel without kv-unified) whose plan
// fits in `budget_bytes`; 0 when not even 256 tokens fit. Other settings as given.
uint64_t MaxLlamaCppContext(const ModelInfo& model, const LlamaCppSettings& settings,
                            uint64_t overhead_bytes, uint64_t budget_bytes);

std::string_view FlashAttnName(FlashAttnMode mode);

}  // namespace cortex
