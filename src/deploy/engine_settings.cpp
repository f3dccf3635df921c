#include "deploy/engine_settings.h"

#include <fmt/format.h>

#include "model/ggml_type.h"
#include "util/bytes.h"

namespace cortex {
namespace {

Status ReadInt(const FlagMap& flags, std::string_view name, int64_t* out) {
  const FlagValue* v = FindFlag(flags, name);
  if (v == nullptr) return Status::Ok();
  if (v->kind != FlagValue::Kind::kInt) {
    return Status::InvalidArgument(
        fmt::format("flag {}: expected an integer, got \"{}\"", name, v->text));
  }
  *out = v->int_value;
  return Status::Ok();
}

StatusOr<std::optional<bool>> ReadBool(const FlagMap& flags, std::string_view name) {
  const FlagValue* v = FindFlag(flags, name);
  if (v == nullptr) return std::optional<bool>();
  if (v->kind == FlagValue::Kind::kBool) return std::optional<bool>(v->bool_value);
  if (v->text == "on") return std::optional<bool>(true);
  if (v->text == "off") return std::optional<bool>(false);
  return Status::InvalidArgument(
      fmt::format("flag {}: expected true or false, got \"{}\"", name, v->text));
}

Status ReadCacheType(const FlagMap& flags, std::string_view name, GgmlType* out) {
  const FlagValue* v = FindFlag(flags, name);
  if (v == nullptr) return Status::Ok();
  auto type = GgmlTypeFromName(v->text);
  if (!type || !IsKvCacheType(*type)) {
    return Status::InvalidArgument(fmt::format(
        "flag {}: expected one of f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1, got \"{}\"", name,
        v->text));
  }
  *out = *type;
  return Status::Ok();
}

StatusOr<std::optional<uint64_t>> ReadCount(const FlagMap& flags, std::string_view name) {
  const FlagValue* v = FindFlag(flags, name);
  if (v == nullptr) return std::optional<uint64_t>();
  if (v->kind != FlagValue::Kind::kInt || v->int_value < 1) {
    return Status::InvalidArgument(
        fmt::format("flag {}: expected a positive integer, got \"{}\"", name, v->text));
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(v->int_value));
}

}  // namespace

StatusOr<LlamaCppSettings> ReadLlamaCppSettings(const FlagMap& flags) {
  LlamaCppSettings s;
  for (auto [name, field] :
       {std::pair{"ctx-size", &s.ctx_size}, std::pair{"parallel", &s.parallel},
        std::pair{"batch-size", &s.batch_size}, std::pair{"ubatch-size", &s.ubatch_size},
        std::pair{"cache-ram", &s.cache_ram_mib}}) {
    if (Status st = ReadInt(flags, name, field); !st.ok()) return st;
  }
  if (const FlagValue* v = FindFlag(flags, "n-gpu-layers")) {
    if (v->kind == FlagValue::Kind::kInt) {
      s.n_gpu_layers = v->int_value;
    } else if (v->text == "auto") {
      s.n_gpu_layers = -1;
    } else if (v->text == "all") {
      s.n_gpu_layers = -2;
    } else {
      return Status::InvalidArgument(
          fmt::format("flag n-gpu-layers: expected a number, auto or all, got \"{}\"", v->text));
    }
  }
  auto unified = ReadBool(flags, "kv-unified");
  if (!unified.ok()) return unified.status();
  s.kv_unified = *unified;
  auto swa_full = ReadBool(flags, "swa-full");
  if (!swa_full.ok()) return swa_full.status();
  s.swa_full = swa_full->value_or(false);
  auto no_offload = ReadBool(flags, "no-kv-offload");
  if (!no_offload.ok()) return no_offload.status();
  s.kv_offload = !no_offload->value_or(false);
  if (Status st = ReadCacheType(flags, "cache-type-k", &s.cache_type_k); !st.ok()) return st;
  if (Status st = ReadCacheType(flags, "cache-type-v", &s.cache_type_v); !st.ok()) return st;
  if (const FlagValue* v = FindFlag(flags, "flash-attn")) {
    if (v->text == "on" || (v->kind == FlagValue::Kind::kBool && v->bool_value)) {
      s.flash_attn = FlashAttnMode::kOn;
    } else if (v->text == "off" || (v->kind == FlagValue::Kind::kBool && !v->bool_value)) {
      s.flash_attn = FlashAttnMode::kOff;
    } else if (v->text == "auto") {
      s.flash_attn = FlashAttnMode::kAuto;
    } else {
      return Status::InvalidArgument(
          fmt::format("flag flash-attn: expected on, off or auto, got \"{}\"", v->text));
    }
  }
  return s;
}

StatusOr<VllmSettings> ReadVllmSettings(const FlagMap& flags) {
  VllmSettings s;
  if (const FlagValue* v = FindFlag(flags, "max-model-len"); v != nullptr && v->text != "auto") {
    auto n = ReadCount(flags, "max-model-len");
    if (!n.ok()) return n.status();
    s.max_model_len = *n;
  }
  auto seqs = ReadCount(flags, "max-num-seqs");
  if (!seqs.ok()) return seqs.status();
  s.max_num_seqs = *seqs;
  auto batched = ReadCount(flags, "max-num-batched-tokens");
  if (!batched.ok()) return batched.status();
  s.max_num_batched_tokens = *batched;
  auto block = ReadCount(flags, "block-size");
  if (!block.ok()) return block.status();
  if (*block) s.block_size = **block;
  if (const FlagValue* v = FindFlag(flags, "gpu-memory-utilization")) {
    const double u =
        v->kind == FlagValue::Kind::kInt ? static_cast<double>(v->int_value) : v->float_value;
    if (!(v->kind == FlagValue::Kind::kInt || v->kind == FlagValue::Kind::kFloat) ||
        !(u > 0 && u <= 1)) {
      return Status::InvalidArgument(fmt::format(
          "flag gpu-memory-utilization: expected a fraction in (0, 1], got \"{}\"", v->text));
    }
    s.gpu_memory_utilization = u;
  }
  if (const FlagValue* v = FindFlag(flags, "kv-cache-memory-bytes")) {
    auto size = ParseByteSize(v->text);  // plain byte counts parse too
    if (!size.ok() || *size == 0) {
      return Status::InvalidArgument(fmt::format(
          "flag kv-cache-memory-bytes: expected bytes or a size such as 12GiB, got \"{}\"",
          v->text));
    }
    s.kv_cache_memory_bytes = *size;
  }
  if (const FlagValue* v = FindFlag(flags, "kv-cache-dtype")) s.kv_cache_dtype = v->text;
  if (const FlagValue* v = FindFlag(flags, "enforce-eager")) {
    s.enforce_eager = v->kind == FlagValue::Kind::kBool ? v->bool_value : v->text != "false";
  }
  return s;
}

MachineCompute MachineComputeOf(const MachineConfig& machine) {
  MachineCompute compute;
  compute.compute_flops = machine.compute_flops;
  compute.compute_efficiency = machine.compute_efficiency;
  compute.attention_efficiency = machine.attention_efficiency;
  return compute;
}

}  // namespace cortex
