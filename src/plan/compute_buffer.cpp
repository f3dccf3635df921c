#include "plan/compute_buffer.h"

#include <algorithm>
#include <string>

#include "plan/graph_allocator.h"
#include "util/checked_math.h"

namespace cortex {
namespace {

constexpr uint64_t kF32 = 4;
constexpr uint64_t kCpuAlignment = 32;   // ggml's TENSOR_ALIGNMENT
constexpr uint64_t kGpuAlignment = 128;  // CUDA/HIP buffer alignment
constexpr uint32_t kHadamardBlock = 64;  // llama.cpp rotates quantized caches in 64-wide blocks

struct GraphShape {
  uint32_t n_tokens;
  uint32_t n_outputs;
};

// Whether llama.cpp rotates a quantized cache (src/llama-kv-cache.cpp): the type is quantized
// and every layer's head dimension is the same multiple of 64.
bool RotatesCache(const ModelInfo& model, GgmlType type, bool key) {
  if (!IsQuantized(type)) return false;
  uint32_t dim = 0;
  for (const LayerInfo& layer : model.layers) {
    if (!layer.has_kv || layer.is_recurrent) continue;
    const uint32_t d = key ? layer.head_dim_k : layer.head_dim_v;
    if (dim == 0) dim = d;
    if (d != dim) return false;
  }
  return dim != 0 && dim % kHadamardBlock == 0;
}

struct Inputs {
  ComputeGraph::Id tokens, pos, k_idxs, v_idxs, mask, mask_swa, out_ids, k_rot, v_rot;
};

// Builds the graph in llama.cpp's node order (the order of ggml_build_forward_expand), which
// decides where the allocator puts each tensor.
ComputeGraph BuildGraph(const ModelInfo& model, const ComputeBufferParams& p,
                        const GraphShape& shape, uint64_t* input_bytes) {
  ComputeGraph g;
  const uint64_t T = shape.n_tokens;
  const uint64_t E = model.n_embd;
  const uint64_t n_out = shape.n_outputs;
  const bool rot_k = RotatesCache(model, p.type_k, true);
  const bool rot_v = RotatesCache(model, p.type_v, false);
  const bool has_swa = model.n_swa > 0 && p.n_swa_cells > 0;

  uint32_t max_kvv = 0;
  for (const LayerInfo& l : model.layers)
    max_kvv = std::max(max_kvv, l.head_dim_v * l.n_head_kv);

  const uint64_t mask_elem = p.flash_attn ? 2 : 4;
  *input_bytes = 0;
  auto input = [&](const char* name, uint64_t bytes) {
    *input_bytes += bytes;
    return g.AddInput(name, bytes);
  };
  // Inputs are created lazily so the allocator meets them in llama.cpp's order of first use.
  Inputs in{};
  in.tokens = input("inp_tokens", 4 * T);
  // llama.cpp also builds an embeddings input for batches that bring their own vectors; with
  // token batches nothing reads it, but it is a graph input and keeps its memory.
  input("inp_embd", E * T * kF32);
  in.pos = in.k_idxs = in.v_idxs = in.mask = in.mask_swa = in.out_ids = in.k_rot = in.v_rot = -1;

  const auto w = g.AddExternal("weights");
  const auto cache = g.AddExternal("kv_cache");
  ComputeGraph::Id inpL = g.AddOp("embd", E * T * kF32, {w, in.tokens});

  // K is rotated in the largest power-of-two block (from 64) that divides its head size, V
  // always in blocks of 64 (llama_kv_cache::build_input_k_rot / build_input_v_rot).
  uint64_t k_block = kHadamardBlock;
  if (rot_k) {
    for (const LayerInfo& l : model.layers) {
      if (!l.has_kv || l.is_recurrent) continue;
      while (l.head_dim_k % (k_block * 2) == 0)
        k_block *= 2;
      break;
    }
  }
  auto hadamard = [&](ComputeGraph::Id x, ComputeGraph::Id* rot, const char* rot_name,
                      uint64_t bytes) {
    const uint64_t block = rot == &in.k_rot ? k_block : kHadamardBlock;
    if (*rot < 0) *rot = input(rot_name, block * block * kF32);
    const auto reshaped = g.AddView("rot_in", x);
    const auto y = g.AddOp("rot", bytes, {*rot, reshaped});
    return g.AddView("rot_out", y);
  };

  const uint32_t n_layer_main = static_cast<uint32_t>(model.layers.size());
  for (uint32_t il = 0; il < n_layer_main; ++il) {
    const LayerInfo& L = model.layers[il];
    const bool last = il + 1 == n_layer_main;
    const uint64_t q = uint64_t{L.n_head} * L.head_dim_k;
    const uint64_t qv = uint64_t{L.n_head} * L.head_dim_v;
    const uint64_t kvk = uint64_t{L.n_head_kv} * L.head_dim_k;
    const uint64_t kvv = uint64_t{L.n_head_kv} * L.head_dim_v;
    const uint64_t n_kv = (L.is_swa && has_swa) ? p.n_swa_cells : p.n_ctx_seq;
    const ComputeGraph::Id inpSA = inpL;

    ComputeGraph::Id cur;
    if (L.is_recurrent || (!L.has_kv && L.n_head == 0)) {
      // State layers: approximate by the projections of the same width as attention.
      const auto norm = g.AddOp("norm", E * T * kF32, {inpL}, {inpL});
      cur = g.AddOp("ssm_out", E * T * kF32, {w, norm});
    } else {
      const auto norm = g.AddOp("norm", E * T * kF32, {inpL}, {inpL});
      const auto attn_norm = g.AddOp("attn_norm", E * T * kF32, {norm, w}, {norm});
      if (in.pos < 0) in.pos = input("inp_pos", 4 * T);
      // Q
      const auto q_mm = g.AddOp("Qcur", q * T * kF32, {w, attn_norm});
      const auto q_r = g.AddView("Qcur_r", q_mm);
      ComputeGraph::Id Q = g.AddOp("Qrope", q * T * kF32, {q_r, in.pos}, {q_r});
      if (rot_k) Q = hadamard(Q, &in.k_rot, "attn_inp_k_rot", q * T * kF32);
      // V
      const auto v_mm = g.AddOp("Vcur", kvv * T * kF32, {w, attn_norm});
      ComputeGraph::Id V = g.AddView("Vcur_r", v_mm);
      if (rot_v) V = hadamard(V, &in.v_rot, "attn_inp_v_rot", kvv * T * kF32);
      // K
      const auto k_mm = g.AddOp("Kcur", kvk * T * kF32, {w, attn_norm});
      const auto k_r = g.AddView("Kcur_r", k_mm);
      ComputeGraph::Id K = g.AddOp("Krope", kvk * T * kF32, {k_r, in.pos}, {k_r});
      if (rot_k) K = hadamard(K, &in.k_rot, "attn_inp_k_rot", kvk * T * kF32);
      // Cache writes. Without flash attention V is stored transposed and indexed per element.
      if (in.k_idxs < 0) in.k_idxs = input("k_idxs", 8 * T);
      if (in.v_idxs < 0) in.v_idxs = input("v_idxs", p.flash_attn ? 8 * T : SatMul(8, T, max_kvv));
      g.AddSink("set_rows_k", {g.AddView("k_cur", K), in.k_idxs, cache});
      g.AddSink("set_rows_v", {g.AddView("v_cur", V), in.v_idxs, cache});
      // Attention.
      ComputeGraph::Id* mask = (L.is_swa && has_swa) ? &in.mask_swa : &in.mask;
      const auto k_view = g.AddView("k", cache);
      const auto v_view = g.AddView("v", cache);
      const auto q4 = g.AddView("q4", Q);
      const auto qp = g.AddView("qp", q4);
      const auto kp = g.AddView("kp", k_view);
      const auto vp = g.AddView("vp", v_view);
      ComputeGraph::Id out;
      if (p.flash_attn) {
        if (*mask < 0) *mask = input("kq_mask", n_kv * T * mask_elem);
        const auto fa = g.AddOp("fattn", qv * T * kF32, {qp, kp, vp, *mask});
        out = g.AddView("kqv_out", fa);
      } else {
        const uint64_t kq_bytes = SatMul(n_kv, T, L.n_head, kF32);
        const auto kq = g.AddOp("kq", kq_bytes, {kp, qp});
        if (*mask < 0) *mask = input("kq_mask", n_kv * T * mask_elem);
        const auto sm = g.AddOp("kq_soft_max", kq_bytes, {kq, *mask}, {kq});
        const auto kqv = g.AddOp("kqv", qv * T * kF32, {vp, sm});
        out = g.AddOp("kqv_out", qv * T * kF32, {g.AddView("kqv_p", kqv)});
      }
      if (rot_v) out = hadamard(out, &in.v_rot, "attn_inp_v_rot", qv * T * kF32);
      cur = g.AddOp("attn_out", E * T * kF32, {w, out});
    }

    // The last layer keeps only the output rows from here on.
    uint64_t Tc = T;
    ComputeGraph::Id residual = inpSA;
    if (last) {
      if (in.out_ids < 0) in.out_ids = input("inp_out_ids", 4 * n_out);
      cur = g.AddOp("attn_out_rows", E * n_out * kF32, {cur, in.out_ids});
      residual = g.AddOp("inpSA_rows", E * n_out * kF32, {inpSA, in.out_ids});
      Tc = n_out;
    }
    const auto ffn_inp = g.AddOp("ffn_inp", E * Tc * kF32, {cur, residual}, {cur, residual});
    const auto norm = g.AddOp("norm", E * Tc * kF32, {ffn_inp}, {ffn_inp});
    const auto ffn_norm = g.AddOp("ffn_norm", E * Tc * kF32, {norm, w}, {norm});
    ComputeGraph::Id ffn_out;
    if (model.n_expert > 0 && model.n_expert_used > 0) {
      // MoE: router logits and probabilities, then n_expert_used experts per token.
      const uint64_t used = model.n_expert_used;
      const uint64_t F = L.n_ff;
      const auto logits = g.AddOp("ffn_moe_logits", model.n_expert * Tc * kF32, {w, ffn_norm});
      const auto probs = g.AddOp("ffn_moe_probs", model.n_expert * Tc * kF32, {logits}, {logits});
      const auto ids = g.AddOp("ffn_moe_topk", used * Tc * 4, {probs});
      const auto weights = g.AddOp("ffn_moe_weights", used * Tc * kF32, {probs, ids});
      const auto gate = g.AddOp("ffn_moe_gate", F * used * Tc * kF32, {w, ffn_norm, ids});
      const auto up = g.AddOp("ffn_moe_up", F * used * Tc * kF32, {w, ffn_norm, ids});
      const auto act = g.AddOp("ffn_moe_swiglu", F * used * Tc * kF32, {gate, up});
      const auto down = g.AddOp("ffn_moe_down", E * used * Tc * kF32, {w, act, ids});
      const auto weighted =
          g.AddOp("ffn_moe_weighted", E * used * Tc * kF32, {down, weights}, {down});
      ffn_out = g.AddOp("ffn_moe_out", E * Tc * kF32, {g.AddView("expert_view", weighted)});
    } else {
      const uint64_t F = L.n_ff;
      const auto gate = g.AddOp("ffn_gate", F * Tc * kF32, {w, ffn_norm});
      const auto up = g.AddOp("ffn_up", F * Tc * kF32, {w, ffn_norm});
      const auto act = g.AddOp("ffn_swiglu", F * Tc * kF32, {gate, up});
      ffn_out = g.AddOp("ffn_out", E * Tc * kF32, {w, act});
    }
    inpL = g.AddOp("l_out", E * Tc * kF32, {ffn_out, ffn_inp}, {ffn_out, ffn_inp});
  }

  const auto norm = g.AddOp("norm", E * n_out * kF32, {inpL}, {inpL});
  const auto result_norm = g.AddOp("result_norm", E * n_out * kF32, {norm, w}, {norm});
  const auto logits =
      g.AddOp("result_output", uint64_t{model.n_vocab} * n_out * kF32, {w, result_norm});
  g.MarkOutput(logits);
  return g;
}

}  // namespace

ComputeBufferSize LlamaCppComputeBuffer(const ModelInfo& model, const ComputeBufferParams& p) {
  ComputeBufferSize out;
  const uint32_t n_seq = std::max<uint32_t>(1, p.n_seq);
  const uint32_t n_stream = p.unified ? 1 : n_seq;
  // Prompt-processing graph: a full micro-batch, rounded up to a multiple of the sequences.
  uint32_t n_tokens = static_cast<uint32_t>(
      std::min<uint64_t>(std::max<uint64_t>(1, uint64_t{p.n_ctx_seq} * n_stream), p.n_ubatch));
  const uint32_t n_outputs_pp = std::max<uint32_t>(1, std::min(n_tokens, p.n_outputs_max));
  if (n_tokens % n_seq != 0) n_tokens = (n_tokens + n_seq - 1) / n_seq * n_seq;
  out.n_tokens = n_tokens;

  const uint64_t alignment = p.gpu ? kGpuAlignment : kCpuAlignment;
  uint64_t inputs_pp = 0;
  uint64_t inputs_tg = 0;
  const uint64_t pp =
      PlanGraphBuffer(BuildGraph(model, p, {n_tokens, n_outputs_pp}, &inputs_pp), alignment);
  // Token-generation graph: one token per sequence.
  const uint64_t tg = PlanGraphBuffer(BuildGraph(model, p, {n_seq, n_seq}, &inputs_tg), alignment);
  out.device_bytes = std::max(pp, tg);
  if (p.gpu) {
    // Inputs and the token embeddings (llama.cpp keeps token_embd on the host) are computed in
    // host memory and copied to the device.
    out.host_bytes = inputs_pp + uint64_t{model.n_embd} * n_tokens * kF32;
  }
  return out;
}

}  // namespace cortex
