// KvCacheBytes: llama.cpp's KV cache, byte for byte, from the model's shape and the server flags.
//
// How llama.cpp allocates it (src/llama-context.cpp, src/llama-kv-cache*.cpp at d32676d7):
//
//   1. The requested context `-c` (0 means the training context) is rounded up to a multiple of
//      256: n_ctx = pad(c, 256).
//   2. With --kv-unified there is one stream of n_ctx cells shared by all `-np` slots. Without
//      it every slot gets its own stream of n_ctx_seq = pad(n_ctx / np, 256) cells, and n_ctx
//      becomes n_ctx_seq * np (llama.cpp logs "rounding down" even when this rounds up).
//      So `-np` does not multiply the cache: `-c` is the total across slots.
//   3. Every layer with a KV cache holds, per cell, one K row of head_dim_k * n_head_kv elements
//      of the K cache type and one V row of head_dim_v * n_head_kv elements of the V type. A row
//      of n elements of a type with blocks of B elements in S bytes takes n / B * S bytes:
//      f16 2 bytes/element, q8_0 34/32, q5_1 24/32, q4_0 18/32. MLA models keep K only.
//      Without flash attention V is stored transposed with every layer padded to the widest V.
//   4. Sliding-window layers (Gemma 2/3, gpt-oss, ...) get their own cache of
//      pad(min(n_ctx_seq, n_swa * (unified ? np : 1) + n_ubatch), 256) cells per stream
//      (n_ctx_seq cells with --swa-full).
//   5. Recurrent layers (Mamba, RWKV, hybrids) keep a fixed f32 state per slot instead.
//
// Example: Llama-3.1-8B (32 layers, 8 KV heads, head_dim 128), -c 10000 -np 1, K q8_0, V f16:
// n_ctx = 10240 cells; per cell 32 * (128*8/32*34 + 128*8*2) = 100,352 bytes; 980 MiB in all.
//
// Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "model/ggml_type.h"
#include "model/model_info.h"
#include "util/checked_math.h"
#include "util/status.h"

namespace cortex {

struct KvCacheParams {
  uint32_t n_ctx = 0;  // as requested; 0 = training context
  uint32_t n_seq = 1;  // -np, >= 1 (resolve "auto" before calling)
  bool unified = false;
  GgmlType type_k = GgmlType::kF16;
  GgmlType type_v = GgmlType::kF16;
  bool flash_attn = true;  // resolved: off stores V transposed and padded
  uint32_t n_ubatch = 512;
  bool swa_full = false;
};

struct KvCacheSize {
  uint32_t n_ctx = 0;      // cells in all streams after padding (llama_context: n_ctx)
  uint32_t n_ctx_seq = 0;  // cells per stream (llama_context: n_ctx_seq)
  uint32_t n_stream = 1;
  uint32_t n_swa_cells = 0;    // per stream, when the model has sliding-window layers
  uint32_t n_layers_full = 0;  // layers with a full-context cache
  uint32_t n_layers_swa = 0;
  uint32_t n_layers_recurrent = 0;
  uint64_t k_bytes = 0;          // all K tensors
  uint64_t v_bytes = 0;          // all V tensors
  uint64_t recurrent_bytes = 0;  // llama.cpp logs these as "RS buffer"
  // Bytes one more cell of the full-context cache costs (the per-token price of context).
  uint64_t bytes_per_cell = 0;
  // Cache (or recurrent state) bytes per layer, so offloaded layers can be summed.
  std::vector<uint64_t> layer_bytes;

  uint64_t kv_bytes() const { return SatAdd(k_bytes, v_bytes); }
  uint64_t total_bytes() const { return SatAdd(kv_bytes(), recurrent_bytes); }
};

// Returns the cache llama.cpp allocates for `model` under `params`.
// Returns InvalidArgument when the cache cannot be built: n_seq of 0 or above 256 (LLAMA_MAX_SEQ),
// a context that rounds past 2^32 cells, a quantized cache type whose block size does not divide
// the head dimension (llama.cpp refuses to start), or a size past kAbsurdBytes (an implausible
// shape; sizes saturate rather than wrap on the way there).
// REQUIRES: params.n_ctx != 0 or model.n_ctx_train != 0.
StatusOr<KvCacheSize> LlamaCppKvCache(const ModelInfo& model, const KvCacheParams& params);

// 256, the multiple llama.cpp pads every context and cache to.
inline constexpr uint32_t kLlamaCppCtxPad = 256;

// n rounded up to a multiple of `pad`.
inline constexpr uint64_t PadTo(uint64_t n, uint64_t pad) {
  return (n + pad - 1) / pad * pad;
}

}  // namespace cortex
