// ComputeBufferBytes: llama.cpp's compute buffers for a dense or MoE transformer.
//
// llama.cpp reserves its compute buffer by planning the graph of a worst-case micro-batch
// (src/llama-context.cpp sched_reserve): n_tokens = min(n_ctx, n_ubatch) tokens rounded up to a
// multiple of the sequences, every sequence attending to every cell of its stream, and
// min(n_tokens, n_outputs_max) output rows (llama-server asks for one per slot). It plans the
// token-generation graph too and keeps the larger buffer.
//
// We describe that graph the way llama.cpp builds it for the llama family (llama, qwen2, qwen3,
// mistral, granite, ...): embeddings, then per layer RMS norm, Q/K/V projections, rope, the
// Hadamard rotation llama.cpp applies when the K or V cache is quantized, cache writes,
// attention (flash attention, or the f32 KQ matrix and softmax without it), the output
// projection, the SwiGLU feed-forward, and the logits of the output rows. The sizes then come
// from GraphAllocator, which restates ggml's allocator. What dominates:
//   - without flash attention, the KQ matrix: n_kv * n_tokens * n_head * 4 bytes (n_kv the cells
//     of one stream: with -np 4 and no --kv-unified a quarter of the context);
//   - with flash attention, the feed-forward activations (3 * n_ff * n_tokens * 4) plus an f16
//     mask of n_kv * n_tokens * 2 bytes.
//
// Exact for the llama graph on the CPU backend (checked against llama-server, see
// tests/integration/llama_server_memory_test.cpp). Other architectures are planned as if they
// had the llama graph, and GPU backends split the buffer into a device part and a host part
// (inputs and the token embeddings, which llama.cpp keeps on the host); both are modelled, not
// measured, and the plan says so.
#pragma once

#include <cstdint>

#include "model/ggml_type.h"
#include "model/model_info.h"
#include "util/checked_math.h"

namespace cortex {

struct ComputeBufferParams {
  uint32_t n_ctx_seq = 0;      // cells per stream (KvCacheSize::n_ctx_seq)
  uint32_t n_swa_cells = 0;    // cells per stream of the sliding-window cache, if any
  uint32_t n_seq = 1;          // -np
  bool unified = false;        // --kv-unified
  uint32_t n_ubatch = 512;     // after llama.cpp's clamps: min(ctx as requested, batch, ubatch)
  uint32_t n_outputs_max = 1;  // llama-server: one per slot
  bool flash_attn = true;
  GgmlType type_k = GgmlType::kF16;
  GgmlType type_v = GgmlType::kF16;
  bool gpu = false;  // layers offloaded to a GPU device
};

struct ComputeBufferSize {
  uint64_t device_bytes = 0;  // the backend's compute buffer (CPU when nothing is offloaded)
  uint64_t host_bytes = 0;    // the host-side buffer a GPU backend also needs
  uint32_t n_tokens = 0;      // micro-batch the buffer was planned for
  uint64_t total() const { return SatAdd(device_bytes, host_bytes); }
};

ComputeBufferSize LlamaCppComputeBuffer(const ModelInfo& model, const ComputeBufferParams& params);

}  // namespace cortex
