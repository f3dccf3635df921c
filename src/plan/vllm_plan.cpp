#include "plan/vllm_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "util/bytes.h"
#include "util/checked_math.h"

namespace cortex {
namespace {

constexpr double kDefaultUtilization = 0.92;
constexpr uint64_t kLargeDevice = 70 * kGiB;  // vLLM raises its batch defaults above this
constexpr uint64_t kCudaGraphEstimate = 512 * kMiB;

uint64_t DtypeBytes(std::string_view dtype) {
  if (dtype.substr(0, 3) == "fp8") return 1;
  return 2;  // auto (bf16/fp16 checkpoints), bfloat16, float16
}

}  // namespace

uint64_t VllmKvBytesPerToken(const ModelInfo& model, uint64_t dtype_bytes) {
  uint64_t per_token = 0;
  for (const LayerInfo& layer : model.layers) {
    if (!layer.has_kv || layer.is_recurrent) continue;
    const uint64_t k = uint64_t{layer.n_head_kv} * layer.head_dim_k;
    const uint64_t v = model.is_mla ? 0 : uint64_t{layer.n_head_kv} * layer.head_dim_v;
    per_token += (k + v) * dtype_bytes;
  }
  return per_token;
}

StatusOr<VllmPlan> PlanVllm(const ModelInfo& model, const VllmSettings& s, uint64_t budget_bytes,
                            uint64_t gpu_pool_bytes, uint64_t overhead_bytes) {
  if (!model.vllm_unsupported.empty()) return Status::Unsupported(model.vllm_unsupported);
  if (model.layers.empty() || model.n_embd == 0) {
    return Status::InvalidArgument("the model's shape is unknown");
  }
  VllmPlan plan;
  plan.settings = s;
  auto note = [&](Severity severity, std::string message) {
    plan.notes.push_back({severity, std::move(message)});
  };

  const bool large = gpu_pool_bytes >= kLargeDevice;
  plan.max_num_seqs = s.max_num_seqs.value_or(large ? 1024 : 256);
  plan.max_num_batched_tokens = s.max_num_batched_tokens.value_or(large ? 8192 : 2048);
  plan.max_model_len = s.max_model_len.value_or(model.n_ctx_train);
  if (plan.max_model_len == 0) {
    return Status::InvalidArgument(
        "max-model-len is not set and the model does not state its context");
  }
  if (model.n_ctx_train > 0 && plan.max_model_len > model.n_ctx_train) {
    note(Severity::kWarning,
         fmt::format("max-model-len {} is above the model's {} tokens; vLLM refuses it unless "
                     "rope scaling (YaRN) is configured or VLLM_ALLOW_LONG_MAX_MODEL_LEN is set",
                     FormatCount(plan.max_model_len), FormatCount(model.n_ctx_train)));
  }
  plan.kv_dtype_bytes = DtypeBytes(s.kv_cache_dtype);
  // "auto" is the checkpoint's own 16-bit type (bf16, or fp16 for AWQ/GPTQ checkpoints).
  plan.kv_dtype = s.kv_cache_dtype == "auto" ? "auto-16bit" : s.kv_cache_dtype;
  plan.kv_bytes_per_token = VllmKvBytesPerToken(model, plan.kv_dtype_bytes);

  // Activation peak of the profiling run: hidden states, QKV, attention output and the SwiGLU
  // MLP of max-num-batched-tokens tokens in bf16, or the sampler's float32 logits and
  // probabilities for max-num-seqs sequences, whichever is larger.
  const LayerInfo& l0 = model.layers.front();
  const uint64_t q = uint64_t{l0.n_head} * l0.head_dim_k;
  const uint64_t kv = uint64_t{l0.n_head_kv} * (l0.head_dim_k + l0.head_dim_v);
  const uint64_t ff = l0.n_ff != 0 ? l0.n_ff : 4ull * model.n_embd;
  const uint64_t forward =
      SatMul(plan.max_num_batched_tokens, 2, 2ull * model.n_embd + q + kv + q + 3 * ff);
  const uint64_t sampler = SatMul(plan.max_num_seqs, model.n_vocab, 4 * 2);
  plan.activation_bytes = std::max(forward, sampler);
  plan.non_torch_bytes = overhead_bytes;
  plan.cuda_graph_bytes = s.enforce_eager ? 0 : kCudaGraphEstimate;
  note(Severity::kInfo,
       fmt::format("vLLM measures its activation peak at startup; estimated {} for {} batched "
                   "tokens, plus {} non-torch and {} of CUDA/HIP graphs",
                   FormatBytes(plan.activation_bytes), FormatCount(plan.max_num_batched_tokens),
                   FormatBytes(plan.non_torch_bytes), FormatBytes(plan.cuda_graph_bytes)));
  const uint64_t non_kv = SatAdd(SatAdd(model.weights_bytes, plan.activation_bytes),
                                 SatAdd(plan.non_torch_bytes, plan.cuda_graph_bytes));
  if (non_kv >= kAbsurdBytes) {
    return Status::InvalidArgument(fmt::format(
        "the activation estimate exceeds 1 EiB ({} batched tokens, {} sequences): the flags are "
        "implausible",
        plan.max_num_batched_tokens, plan.max_num_seqs));
  }

  // The KV pool: pinned, derived from a utilization, or (ours) the rest of the budget.
  uint64_t pool = 0;
  if (s.kv_cache_memory_bytes) {
    pool = *s.kv_cache_memory_bytes;
    plan.requested_bytes = SatAdd(non_kv, pool);
  } else {
    if (s.gpu_memory_utilization) {
      plan.requested_bytes = static_cast<uint64_t>(
          std::floor(*s.gpu_memory_utilization * static_cast<double>(gpu_pool_bytes)));
      note(Severity::kInfo,
           fmt::format("gpu-memory-utilization {:.2f} is a fraction of the whole {} pool: vLLM "
                       "asks for {}",
                       *s.gpu_memory_utilization, FormatBytes(gpu_pool_bytes),
                       FormatBytes(plan.requested_bytes)));
    } else {
      plan.requested_bytes = budget_bytes;
      note(Severity::kInfo,
           fmt::format("left alone, vLLM would take gpu-memory-utilization {:.2f} of the pool "
                       "({}); the supervisor pins the KV pool with --kv-cache-memory-bytes instead",
                       kDefaultUtilization,
                       FormatBytes(static_cast<uint64_t>(kDefaultUtilization *
                                                         static_cast<double>(gpu_pool_bytes)))));
    }
    pool = plan.requested_bytes > non_kv ? plan.requested_bytes - non_kv : 0;
  }
  if (pool == 0) {
    note(Severity::kError,
         fmt::format("no memory is left for the KV cache: weights {} + activations {} + runtime {} "
                     "already take {} of {}",
                     FormatBytes(model.weights_bytes), FormatBytes(plan.activation_bytes),
                     FormatBytes(plan.non_torch_bytes + plan.cuda_graph_bytes), FormatBytes(non_kv),
                     FormatBytes(plan.requested_bytes)));
  }
  plan.kv_pool_bytes = pool;

  const uint64_t block_bytes = s.block_size * plan.kv_bytes_per_token;
  plan.num_blocks = block_bytes == 0 ? 0 : plan.kv_pool_bytes / block_bytes;
  plan.kv_tokens = plan.num_blocks * s.block_size;
  plan.max_len_in_pool = plan.kv_tokens;
  const uint64_t blocks_per_request = (plan.max_model_len + s.block_size - 1) / s.block_size;
  plan.max_concurrency = blocks_per_request == 0 ? 0
                                                 : static_cast<double>(plan.num_blocks) /
                                                       static_cast<double>(blocks_per_request);
  if (plan.kv_bytes_per_token == 0) {
    note(Severity::kWarning,
         "the model keeps no per-token KV cache (recurrent layers only); "
         "vLLM's pool holds state, not tokens");
  } else if (plan.num_blocks < blocks_per_request) {
    note(Severity::kError,
         fmt::format("one request of max-model-len {} needs {} of KV cache, but the pool holds {} "
                     "({} tokens): vLLM refuses to start",
                     FormatCount(plan.max_model_len),
                     FormatBytes(SatMul(blocks_per_request, block_bytes)),
                     FormatBytes(plan.kv_pool_bytes), FormatCount(plan.kv_tokens)));
  }

  EngineMemory& m = plan.memory;
  m.weights_bytes = model.weights_bytes;
  m.kv_bytes = plan.num_blocks * block_bytes;
  m.compute_bytes = plan.activation_bytes + plan.cuda_graph_bytes;
  m.output_bytes = 0;
  m.overhead_bytes = plan.non_torch_bytes + (plan.kv_pool_bytes - m.kv_bytes);
  m.device_bytes = m.total_bytes();

  // Flags: the pool in bytes, and a utilization that asks the startup check for the budget only.
  auto& f = plan.server_flags;
  f.emplace_back("max-model-len", std::to_string(plan.max_model_len));
  f.emplace_back("max-num-seqs", std::to_string(plan.max_num_seqs));
  f.emplace_back("max-num-batched-tokens", std::to_string(plan.max_num_batched_tokens));
  f.emplace_back("kv-cache-memory-bytes", std::to_string(plan.kv_pool_bytes));
  const double util =
      gpu_pool_bytes == 0
          ? 0
          : std::floor(static_cast<double>(std::min(plan.requested_bytes, gpu_pool_bytes)) *
                       1000.0 / static_cast<double>(gpu_pool_bytes)) /
                1000.0;
  f.emplace_back("gpu-memory-utilization", fmt::format("{:.3f}", util));
  if (s.kv_cache_dtype != "auto") f.emplace_back("kv-cache-dtype", s.kv_cache_dtype);
  return plan;
}

}  // namespace cortex
