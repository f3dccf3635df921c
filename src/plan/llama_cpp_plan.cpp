#include "plan/llama_cpp_plan.h"

#include <fmt/format.h>
#include <algorithm>

#include "util/bytes.h"
#include "util/checked_math.h"

namespace cortex {
namespace {

constexpr uint32_t kMaxSeq = 256;
constexpr int64_t kAutoSlots = 4;  // llama-server's -np auto

}  // namespace

std::string_view FlashAttnName(FlashAttnMode mode) {
  switch (mode) {
    case FlashAttnMode::kAuto:
      return "auto";
    case FlashAttnMode::kOn:
      return "on";
    case FlashAttnMode::kOff:
      return "off";
  }
  return "auto";
}

uint32_t LlamaCppPlan::ctx_per_slot(const ModelInfo& model) const {
  // A unified cache has one stream of all n_ctx cells, so n_ctx_seq is right either way.
  return model.n_ctx_train > 0 ? std::min(kv.n_ctx_seq, model.n_ctx_train) : kv.n_ctx_seq;
}

StatusOr<LlamaCppPlan> PlanLlamaCpp(const ModelInfo& model, const LlamaCppSettings& s,
                                    uint64_t overhead_bytes) {
  LlamaCppPlan plan;
  plan.settings = s;
  auto note = [&](Severity severity, std::string message) {
    plan.notes.push_back({severity, std::move(message)});
  };

  if (!model.llama_cpp_unsupported.empty()) {
    return Status::Unsupported(model.llama_cpp_unsupported);
  }

  // Slots and the unified cache.
  if (s.parallel == -1) {
    plan.n_seq = kAutoSlots;
    plan.unified = s.kv_unified.value_or(true);
    note(Severity::kInfo,
         plan.unified
             ? "parallel is automatic: llama-server runs 4 slots sharing one unified KV cache"
             : "parallel is automatic: llama-server runs 4 slots; with kv-unified off "
               "the supervisor passes --parallel 4 --no-kv-unified, so each slot gets "
               "its own quarter of the cache");
  } else if (s.parallel < 1 || s.parallel > kMaxSeq) {
    return Status::InvalidArgument(
        fmt::format("parallel = {}: llama-server accepts 1 to {} slots", s.parallel, kMaxSeq));
  } else {
    plan.n_seq = static_cast<uint32_t>(s.parallel);
    plan.unified = s.kv_unified.value_or(false);
  }

  // Context.
  if (s.ctx_size < 0) {
    return Status::InvalidArgument(fmt::format("ctx-size {} is negative", s.ctx_size));
  }
  uint64_t requested = static_cast<uint64_t>(s.ctx_size);
  if (requested == 0) {
    if (model.n_ctx_train == 0) {
      return Status::InvalidArgument(
          "ctx-size 0 means the training context, which this model does not state");
    }
    requested = model.n_ctx_train;
    note(Severity::kInfo,
         fmt::format("ctx-size 0 means the training context: {} tokens", FormatCount(requested)));
  }
  if (requested > UINT32_MAX) {
    return Status::InvalidArgument(
        fmt::format("ctx-size {} exceeds llama.cpp's 32-bit context", requested));
  }

  // Flash attention.
  const bool quantized_v = IsQuantized(s.cache_type_v);
  switch (s.flash_attn) {
    case FlashAttnMode::kOn:
      plan.flash_attn = true;
      break;
    case FlashAttnMode::kOff:
      if (quantized_v) {
        return Status::InvalidArgument(fmt::format(
            "cache-type-v {} needs flash attention, but flash-attn is off: llama-server refuses to "
            "start (\"quantized V cache was requested, but this requires Flash Attention\")",
            GgmlTypeName(s.cache_type_v)));
      }
      plan.flash_attn = false;
      break;
    case FlashAttnMode::kAuto:
      plan.flash_attn = true;
      note(Severity::kInfo,
           quantized_v ? "flash-attn auto: a quantized V cache makes llama.cpp enable it"
                       : "flash-attn auto: planned as on, which ROCm, Vulkan and CPU backends "
                         "resolve to for this model; pass flash-attn explicitly to be sure");
      break;
  }

  // Batches: llama.cpp clamps the batch to the context as requested, before padding.
  if (s.batch_size < 1 || s.ubatch_size < 1) {
    return Status::InvalidArgument("batch-size and ubatch-size must be at least 1");
  }
  plan.n_batch =
      static_cast<uint32_t>(std::min<uint64_t>(requested, static_cast<uint64_t>(s.batch_size)));
  plan.n_ubatch =
      static_cast<uint32_t>(std::min<uint64_t>(plan.n_batch, static_cast<uint64_t>(s.ubatch_size)));

  KvCacheParams kp;
  kp.n_ctx = static_cast<uint32_t>(requested);
  kp.n_seq = plan.n_seq;
  kp.unified = plan.unified;
  kp.type_k = s.cache_type_k;
  kp.type_v = s.cache_type_v;
  kp.flash_attn = plan.flash_attn;
  kp.n_ubatch = plan.n_ubatch;
  kp.swa_full = s.swa_full;
  auto kv = LlamaCppKvCache(model, kp);
  if (!kv.ok()) return kv.status();
  plan.kv = *kv;
  if (plan.ctx_per_slot(model) < plan.kv.n_ctx_seq) {
    note(Severity::kWarning,
         fmt::format("each slot holds {} cells but the model was trained on {} tokens; "
                     "llama-server caps each slot at the training context",
                     FormatCount(plan.kv.n_ctx_seq), FormatCount(model.n_ctx_train)));
  }

  // Offload: layers from n_layer + 1 - ngl upwards go to the GPU; index n_layer is the output.
  const uint32_t n_layer = static_cast<uint32_t>(model.layers.size());
  const int64_t ngl = s.n_gpu_layers < 0 ? int64_t{n_layer} + 1
                                         : std::min<int64_t>(s.n_gpu_layers, int64_t{n_layer} + 1);
  plan.n_gpu_layers = static_cast<uint32_t>(ngl);
  const int64_t gpu_start = int64_t{n_layer} + 1 - ngl;
  uint64_t device_weights = 0;
  uint64_t layer_weights = 0;
  uint64_t device_kv = 0;
  for (uint32_t il = 0; il < n_layer; ++il) {
    layer_weights += model.layers[il].weight_bytes;
    if (int64_t{il} < gpu_start) continue;
    device_weights += model.layers[il].weight_bytes;
    // Each layer's cache (or recurrent state) lives on that layer's device.
    if (s.kv_offload) device_kv = SatAdd(device_kv, plan.kv.layer_bytes[il]);
  }
  const bool output_on_gpu = ngl >= 1;
  // Everything outside the blocks but the token embeddings belongs to the output layer.
  const uint64_t output_layer_weights =
      model.weights_bytes - layer_weights -
      std::min(model.token_embd_bytes, model.weights_bytes - layer_weights);
  if (output_on_gpu) device_weights += output_layer_weights;
  // With tied embeddings the output layer uses token_embd, which stays on the host; llama.cpp
  // loads a second copy for an offloaded output layer.
  uint64_t duplicated_output = 0;
  if (output_on_gpu && model.output_bytes == 0) {
    duplicated_output = model.token_embd_bytes;
    device_weights += duplicated_output;
    note(Severity::kInfo,
         fmt::format("tied embeddings: llama.cpp loads a second copy of token_embd ({}) for the "
                     "output layer on the GPU",
                     FormatBytes(duplicated_output)));
  }

  ComputeBufferParams cp;
  cp.n_ctx_seq = plan.kv.n_ctx_seq;
  cp.n_swa_cells = plan.kv.n_swa_cells;
  cp.n_seq = plan.n_seq;
  cp.unified = plan.unified;
  cp.n_ubatch = plan.n_ubatch;
  cp.n_outputs_max = plan.n_seq;  // llama-server: one output per slot
  cp.flash_attn = plan.flash_attn;
  cp.type_k = s.cache_type_k;
  cp.type_v = s.cache_type_v;
  cp.gpu = ngl > 0;
  plan.compute = LlamaCppComputeBuffer(model, cp);

  EngineMemory& m = plan.memory;
  m.weights_bytes = model.weights_bytes + duplicated_output;
  m.kv_bytes = plan.kv.total_bytes();
  m.compute_bytes = plan.compute.total();
  m.output_bytes = SatMul(model.n_vocab, plan.n_seq, 4);
  if (s.cache_ram_mib > 0) plan.prompt_cache_bytes = static_cast<uint64_t>(s.cache_ram_mib) * kMiB;
  if (s.cache_ram_mib < 0) {
    note(Severity::kWarning,
         "cache-ram -1 lets llama-server's host prompt cache grow without limit; the plan cannot "
         "bound it (set cache-ram to a size in MiB, or 0)");
  } else if (s.cache_ram_mib > 0) {
    note(Severity::kInfo, fmt::format("cache-ram {} MiB: llama-server keeps up to {} of prompt "
                                      "cache in host memory; counted as overhead",
                                      s.cache_ram_mib, FormatBytes(plan.prompt_cache_bytes)));
  }
  m.overhead_bytes = SatAdd(overhead_bytes, plan.prompt_cache_bytes);
  m.device_bytes = SatAdd(device_weights, device_kv);
  if (cp.gpu) m.device_bytes = SatAdd(m.device_bytes, plan.compute.device_bytes);
  if (m.total_bytes() >= kAbsurdBytes) {
    return Status::InvalidArgument(fmt::format(
        "the plan exceeds 1 EiB (compute buffers {} bytes): the model's shape or the flags are "
        "implausible",
        m.compute_bytes));
  }

  // What the supervisor passes so the engine allocates exactly this.
  auto& f = plan.server_flags;
  f.emplace_back("fit", "off");
  // The context as requested: llama.cpp clamps the batch to it before padding, so passing the
  // padded value would change n_ubatch and the compute buffer.
  f.emplace_back("ctx-size", std::to_string(requested));
  f.emplace_back("parallel", std::to_string(plan.n_seq));
  f.emplace_back(plan.unified ? "kv-unified" : "no-kv-unified", "");
  f.emplace_back("cache-type-k", std::string(GgmlTypeName(s.cache_type_k)));
  f.emplace_back("cache-type-v", std::string(GgmlTypeName(s.cache_type_v)));
  f.emplace_back("flash-attn", plan.flash_attn ? "on" : "off");
  f.emplace_back("batch-size", std::to_string(s.batch_size));
  f.emplace_back("ubatch-size", std::to_string(s.ubatch_size));
  f.emplace_back("n-gpu-layers", std::to_string(plan.n_gpu_layers));
  f.emplace_back("cache-ram", std::to_string(std::max<int64_t>(0, s.cache_ram_mib)));
  return plan;
}

uint64_t MaxLlamaCppContext(const ModelInfo& model, const LlamaCppSettings& settings,
                            uint64_t overhead_bytes, uint64_t budget_bytes) {
  LlamaCppSettings s = settings;
  const bool unified =
      s.parallel == -1 ? s.kv_unified.value_or(true) : s.kv_unified.value_or(false);
  const uint64_t slots =
      s.parallel == -1 ? kAutoSlots : static_cast<uint64_t>(std::max<int64_t>(1, s.parallel));
  const uint64_t step = unified ? kLlamaCppCtxPad : kLlamaCppCtxPad * slots;
  auto fits = [&](uint64_t k) {
    s.ctx_size = static_cast<int64_t>(k * step);
    auto plan = PlanLlamaCpp(model, s, overhead_bytes);
    return plan.ok() && plan->memory.total_bytes() <= budget_bytes;
  };
  uint64_t lo = 0;  // fits (vacuously)
  uint64_t hi = UINT32_MAX / step;
  if (fits(hi)) return hi * step;
  while (lo + 1 < hi) {  // invariant: lo fits or is 0, hi does not fit
    const uint64_t mid = lo + (hi - lo) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo * step;
}

}  // namespace cortex
