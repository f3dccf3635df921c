#include "plan/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include "util/checked_math.h"

namespace cortex {
namespace {

constexpr uint32_t kMaxSeq = 256;  // LLAMA_MAX_SEQ

Status CheckHeadDim(const char* which, GgmlType type, uint32_t head_dim) {
  const GgmlTypeTraits& t = Traits(type);
  if (head_dim % t.block_size != 0) {
    return Status::InvalidArgument(
        fmt::format("{} cache type {} stores blocks of {} elements, which do not divide the head "
                    "dimension {}; llama.cpp refuses this cache type for this model",
                    which, t.name, t.block_size, head_dim));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<KvCacheSize> LlamaCppKvCache(const ModelInfo& model, const KvCacheParams& params) {
  if (params.n_seq == 0 || params.n_seq > kMaxSeq) {
    return Status::InvalidArgument(
        fmt::format("parallel = {}: llama.cpp accepts 1 to {} sequences", params.n_seq, kMaxSeq));
  }
  const uint64_t requested = params.n_ctx == 0 ? model.n_ctx_train : params.n_ctx;
  if (requested == 0) {
    return Status::InvalidArgument("ctx-size 0 asks for the training context, which is unknown");
  }

  KvCacheSize out;
  uint64_t n_ctx = PadTo(requested, kLlamaCppCtxPad);
  uint64_t n_ctx_seq = n_ctx;
  if (!params.unified) {
    n_ctx_seq = PadTo(n_ctx / params.n_seq, kLlamaCppCtxPad);
    n_ctx = n_ctx_seq * params.n_seq;
    out.n_stream = params.n_seq;
  }
  if (n_ctx > UINT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("a context of {} tokens exceeds llama.cpp's 32-bit cell count", n_ctx));
  }
  out.n_ctx = static_cast<uint32_t>(n_ctx);
  out.n_ctx_seq = static_cast<uint32_t>(n_ctx_seq);

  uint64_t swa_cells = n_ctx_seq;
  if (model.n_swa > 0 && !params.swa_full) {
    const uint64_t window =
        static_cast<uint64_t>(model.n_swa) * (params.unified ? params.n_seq : 1) + params.n_ubatch;
    swa_cells = PadTo(std::min<uint64_t>(n_ctx_seq, window), kLlamaCppCtxPad);
  }
  if (model.n_swa > 0) out.n_swa_cells = static_cast<uint32_t>(swa_cells);

  // Without flash attention V is transposed and llama.cpp pads it to the widest layer.
  uint64_t widest_v = 0;
  for (const LayerInfo& layer : model.layers) {
    if (layer.has_kv) widest_v = std::max(widest_v, uint64_t{layer.head_dim_v} * layer.n_head_kv);
  }

  const bool quantized_k = IsQuantized(params.type_k);
  const bool quantized_v = IsQuantized(params.type_v);
  out.layer_bytes.assign(model.layers.size(), 0);
  for (size_t il = 0; il < model.layers.size(); ++il) {
    const LayerInfo& layer = model.layers[il];
    if (layer.is_recurrent) {
      ++out.n_layers_recurrent;
      out.layer_bytes[il] = SatMul(model.recurrent_state_elements, 4, params.n_seq);
      out.recurrent_bytes = SatAdd(out.recurrent_bytes, out.layer_bytes[il]);
      continue;
    }
    if (!layer.has_kv) continue;
    if (quantized_k) {
      if (Status s = CheckHeadDim("K", params.type_k, layer.head_dim_k); !s.ok()) return s;
    }
    if (quantized_v && !model.is_mla) {
      if (Status s = CheckHeadDim("V", params.type_v, layer.head_dim_v); !s.ok()) return s;
    }
    const uint64_t k_row =
        RowBytesUnchecked(params.type_k, uint64_t{layer.head_dim_k} * layer.n_head_kv);
    const uint64_t v_elems =
        params.flash_attn ? uint64_t{layer.head_dim_v} * layer.n_head_kv : widest_v;
    const uint64_t v_row = model.is_mla ? 0 : RowBytesUnchecked(params.type_v, v_elems);
    const uint64_t cells = (layer.is_swa ? swa_cells : n_ctx_seq) * out.n_stream;
    const uint64_t k_bytes = SatMul(k_row, cells);
    const uint64_t v_bytes = SatMul(v_row, cells);
    out.k_bytes = SatAdd(out.k_bytes, k_bytes);
    out.v_bytes = SatAdd(out.v_bytes, v_bytes);
    out.layer_bytes[il] = SatAdd(k_bytes, v_bytes);
    if (layer.is_swa) {
      ++out.n_layers_swa;
    } else {
      ++out.n_layers_full;
      out.bytes_per_cell = SatAdd(out.bytes_per_cell, k_row + v_row);
    }
  }
  if (SatAdd(out.kv_bytes(), out.recurrent_bytes) >= kAbsurdBytes) {
    return Status::InvalidArgument(
        fmt::format("the KV cache would exceed 1 EiB ({} cells of {} layers): the model's shape "
                    "or the context is implausible",
                    n_ctx, model.layers.size()));
  }
  return out;
}

}  // namespace cortex
