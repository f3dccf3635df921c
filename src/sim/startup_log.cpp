#include "sim/startup_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "model/ggml_type.h"
#include "util/bytes.h"

namespace cortex::sim {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point& ProcessStart() {
  static Clock::time_point start = Clock::now();
  return start;
}

double Mib(uint64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(kMiB);
}

double Gib(uint64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(kGiB);
}

void WriteLine(FILE* stream, const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fflush(stream);
}

}  // namespace

void MarkProcessStart() {
  ProcessStart() = Clock::now();
}

std::string LlamaCppPrefix(char level) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - ProcessStart()).count();
  const long long minutes = us / 60'000'000;
  const long long seconds = us / 1'000'000 % 60;
  const long long millis = us / 1000 % 1000;
  const long long micros = us % 1000;
  return fmt::format("{}.{:02}.{:03}.{:03} {} ", minutes, seconds, millis, micros, level);
}

void LogLlamaCpp(char level, std::string_view message) {
  WriteLine(stderr, fmt::format("{}{}\n", LlamaCppPrefix(level), message));
}

std::string VllmPrefix(std::string_view process, std::string_view level, std::string_view where) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%m-%d %H:%M:%S", &tm);
  return fmt::format("({} pid={}) {} {} [{}] ", process, ::getpid(), level, stamp, where);
}

void LogVllm(std::string_view process, std::string_view level, std::string_view where,
             std::string_view message) {
  WriteLine(stdout, fmt::format("{}{}\n", VllmPrefix(process, level, where), message));
}

void LogUvicorn(std::string_view message) {
  WriteLine(stderr, fmt::format("INFO:     {}\n", message));
}

std::string WithCommas(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::vector<LevelledLine> LlamaCppLoadLines(const ModelInfo& model, const LlamaCppPlan& plan) {
  // Formats of llama.cpp's own lines (D-engine-apis.md 1.10; spacing as llama-server prints it).
  std::vector<LevelledLine> lines;
  auto add = [&](std::string message) { lines.push_back({'I', std::move(message)}); };
  const KvCacheSize& kv = plan.kv;
  add("load_tensors: loading model tensors, this can take a while... (load_mode = mmap)");
  add(fmt::format("load_tensors: {:>12} model buffer size = {:8.2f} MiB", "CPU_Mapped",
                  Mib(plan.memory.weights_bytes)));
  add("llama_context: constructing llama_context");
  add(fmt::format("llama_context: n_seq_max     = {}", plan.n_seq));
  add(fmt::format("llama_context: n_ctx         = {}", kv.n_ctx));
  add(fmt::format("llama_context: n_ctx_seq     = {}", kv.n_ctx_seq));
  add(fmt::format("llama_context: n_batch       = {}", plan.n_batch));
  add(fmt::format("llama_context: n_ubatch      = {}", plan.n_ubatch));
  add("llama_context: causal_attn   = 1");
  const FlashAttnMode fa = plan.settings.flash_attn;
  add(fmt::format("llama_context: flash_attn    = {}", fa == FlashAttnMode::kAuto ? "auto"
                                                       : fa == FlashAttnMode::kOn ? "enabled"
                                                                                  : "disabled"));
  add(fmt::format("llama_context: kv_unified    = {}", plan.unified ? "true" : "false"));
  if (model.n_ctx_train > 0 && kv.n_ctx_seq < model.n_ctx_train) {
    add(
        fmt::format("llama_context: n_ctx_seq ({}) < n_ctx_train ({}) -- the full capacity of the "
                    "model will not be utilized",
                    kv.n_ctx_seq, model.n_ctx_train));
  }
  add(fmt::format("llama_context: {:>10}  output buffer size = {:8.2f} MiB", "CPU",
                  Mib(plan.memory.output_bytes)));
  if (kv.kv_bytes() > 0) {
    add(fmt::format("llama_kv_cache: {:>10} KV buffer size = {:8.2f} MiB", "CPU",
                    Mib(kv.kv_bytes())));
    add(fmt::format(
        "llama_kv_cache: size = {:7.2f} MiB ({:6} cells, {:3} layers, {:2}/{} seqs), K ({}): "
        "{:7.2f} MiB, V ({}): {:7.2f} MiB",
        Mib(kv.kv_bytes()), kv.n_ctx_seq, kv.n_layers_full + kv.n_layers_swa, plan.n_seq,
        kv.n_stream, GgmlTypeName(plan.settings.cache_type_k), Mib(kv.k_bytes),
        GgmlTypeName(plan.settings.cache_type_v), Mib(kv.v_bytes)));
  }
  if (kv.recurrent_bytes > 0) {
    add(fmt::format("llama_memory_recurrent: {:>10} RS buffer size = {:8.2f} MiB", "CPU",
                    Mib(kv.recurrent_bytes)));
  }
  add("sched_reserve: reserving ...");
  if (fa == FlashAttnMode::kAuto) {
    add(plan.flash_attn ? "resolve_fused_ops: Flash Attention enabled"
                        : "resolve_fused_ops: Flash Attention not supported, set to disabled");
  }
  add(fmt::format("sched_reserve: {:>10} compute buffer size = {:8.2f} MiB", "CPU",
                  Mib(plan.memory.compute_bytes)));
  const uint32_t n_ctx_slot = plan.ctx_per_slot(model);
  add(fmt::format(
      "srv    load_model: initializing, n_slots = {}, n_ctx_slot = {}, kv_unified = '{}'",
      plan.n_seq, n_ctx_slot, plan.unified ? "true" : "false"));
  for (uint32_t i = 0; i < plan.n_seq; ++i) {
    add(fmt::format("slot   load_model: id {:2} | task -1 | new slot, n_ctx = {}", i, n_ctx_slot));
  }
  return lines;
}

std::vector<std::pair<std::string, std::string>> VllmLoadLines(const ModelInfo& model,
                                                               const VllmPlan& plan,
                                                               double load_seconds) {
  // D-engine-apis.md 2.1 and 2.6, with the planner's pool, tokens and concurrency.
  std::vector<std::pair<std::string, std::string>> lines;
  lines.emplace_back("gpu_model_runner.py:1953",
                     fmt::format("Model loading took {:.4f} GiB and {:.6f} seconds",
                                 Gib(model.weights_bytes), load_seconds));
  lines.emplace_back("gpu_worker.py:277",
                     fmt::format("Available KV cache memory: {:.2f} GiB", Gib(plan.kv_pool_bytes)));
  lines.emplace_back("kv_cache_utils.py:849",
                     fmt::format("GPU KV cache size: {} tokens", WithCommas(plan.kv_tokens)));
  lines.emplace_back("kv_cache_utils.py:853",
                     fmt::format("Maximum concurrency for {} tokens per request: {:.2f}x",
                                 WithCommas(plan.max_model_len), plan.max_concurrency));
  lines.emplace_back("core.py:215",
                     fmt::format("init engine (profile, create kv cache, warmup model) took {:.2f} "
                                 "seconds",
                                 load_seconds));
  return lines;
}

}  // namespace cortex::sim
