#include "plan/prefill_estimate.h"

#include <algorithm>

namespace cortex {
namespace {

// 4.5 bits per weight (Q4_K-like) when a model's bytes say nothing about its parameters.
constexpr double kFallbackBytesPerParameter = 4.5 / 8;

// Parameters known from the shapes: attention projections (Q, K, V, O) of attending layers and
// the gated feed-forward (gate, up, down) of dense layers.
double ShapeParameters(const ModelInfo& model) {
  const double embd = model.n_embd;
  double params = 0;
  for (const LayerInfo& l : model.layers) {
    if (!l.is_recurrent && l.n_head > 0) {
      const double q = static_cast<double>(l.n_head) * l.head_dim_k;
      const double kv = static_cast<double>(l.n_head_kv) * (l.head_dim_k + l.head_dim_v);
      const double o = static_cast<double>(l.n_head) * l.head_dim_v;
      params += embd * (q + kv + o);
    }
    params += 3 * embd * l.n_ff;
  }
  return params;
}

// ∫ from a to b of min(x, w) dx: the keys a sliding-window layer attends while the depth goes
// from a to b.
double WindowedKeys(double a, double b, double w) {
  if (b <= w) return (b * b - a * a) / 2;
  if (a >= w) return w * (b - a);
  return (w * w - a * a) / 2 + w * (b - w);
}

bool Known(const MachineCompute& machine, const PrefillFlops& f) {
  return machine.compute_flops > 0 && machine.compute_efficiency > 0 &&
         machine.attention_efficiency > 0 && f.dense_per_token > 0;
}

}  // namespace

double PrefillActiveParameters(const ModelInfo& model) {
  const double shape = ShapeParameters(model);
  double experts = 0;
  if (model.n_expert > 0 && model.expert_bytes > 0) {
    const uint64_t embd_out = model.token_embd_bytes + model.output_bytes;
    const uint64_t non_expert = model.weights_bytes > embd_out + model.expert_bytes
                                    ? model.weights_bytes - embd_out - model.expert_bytes
                                    : 0;
    const double bytes_per_param = shape > 0 && non_expert > 0
                                       ? static_cast<double>(non_expert) / shape
                                       : kFallbackBytesPerParameter;
    experts = static_cast<double>(model.expert_bytes) * model.n_expert_used / model.n_expert /
              bytes_per_param;
  }
  return shape + experts;
}

PrefillFlops PrefillFlopsOf(const ModelInfo& model) {
  PrefillFlops f;
  f.dense_per_token = 2 * PrefillActiveParameters(model);
  f.window = model.n_swa;
  for (const LayerInfo& l : model.layers) {
    if (l.is_recurrent || l.n_head == 0) continue;
    const double per_key = 2.0 * l.n_head * (static_cast<double>(l.head_dim_k) + l.head_dim_v);
    // A window of 0 would mean "attends nothing"; treat such a layer as full instead.
    if (l.is_swa && model.n_swa > 0) {
      f.swa_attention_per_key += per_key;
    } else {
      f.attention_per_key += per_key;
    }
  }
  return f;
}

std::optional<double> PrefillSeconds(const ModelInfo& model, const MachineCompute& machine,
                                     uint64_t start_depth, uint64_t n_tokens) {
  const PrefillFlops f = PrefillFlopsOf(model);
  if (!Known(machine, f)) return std::nullopt;
  const double n = static_cast<double>(n_tokens);
  const double s = static_cast<double>(start_depth);
  const double dense = n * f.dense_per_token;
  const double full_keys = n * s + n * n / 2;
  const double window_keys = WindowedKeys(s, s + n, static_cast<double>(f.window));
  const double attention = f.attention_per_key * full_keys + f.swa_attention_per_key * window_keys;
  return dense / (machine.compute_flops * machine.compute_efficiency) +
         attention / (machine.compute_flops * machine.attention_efficiency);
}

std::optional<double> PrefillTokensPerSecondAtDepth(const ModelInfo& model,
                                                    const MachineCompute& machine, uint64_t depth) {
  const PrefillFlops f = PrefillFlopsOf(model);
  if (!Known(machine, f)) return std::nullopt;
  const double d = static_cast<double>(depth);
  const double window = std::min(d, static_cast<double>(f.window));
  const double seconds = f.dense_per_token / (machine.compute_flops * machine.compute_efficiency) +
                         (f.attention_per_key * d + f.swa_attention_per_key * window) /
                             (machine.compute_flops * machine.attention_efficiency);
  return 1 / seconds;
}

}  // namespace cortex
