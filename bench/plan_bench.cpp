// The planner's cost: one llama-server plan, the context search built on it, and the whole
// `cortex plan` for config/strix-halo.yaml minus reading files, side by side in one run.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "config/config.h"
#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"
#include "model/known_models.h"
#include "plan/llama_cpp_plan.h"

namespace cortex {
namespace {

// The deep lane of config/strix-halo.yaml: Nemotron-8B-UltraLong (Llama-3.1-8B shape) Q4_K_M at
// 1M tokens, K q8_0 / V f16, flash attention on, one slot, no host prompt cache.
LlamaCppSettings DeepLaneSettings() {
  LlamaCppSettings s;
  s.ctx_size = 1'000'000;
  s.parallel = 1;
  s.cache_type_k = GgmlType::kQ8_0;
  s.cache_type_v = GgmlType::kF16;
  s.flash_attn = FlashAttnMode::kOn;
  s.n_gpu_layers = 99;
  s.cache_ram_mib = 0;
  return s;
}

StatusOr<ModelInfo> DeepLaneModel() {
  return LookupKnownModel("nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct", "q4_k_m");
}

void BM_PlanLlamaCpp(benchmark::State& state) {
  const StatusOr<ModelInfo> model = DeepLaneModel();
  if (!model.ok()) {
    state.SkipWithError(model.status().ToString().c_str());
    return;
  }
  const LlamaCppSettings settings = DeepLaneSettings();
  for (auto _ : state) {
    StatusOr<LlamaCppPlan> plan = PlanLlamaCpp(*model, settings, kLlamaCppDefaultOverhead);
    if (!plan.ok()) {
      state.SkipWithError(plan.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_PlanLlamaCpp)->UseRealTime()->Unit(benchmark::kMicrosecond);

// A binary search over ctx-size: about 30 full plans.
void BM_MaxLlamaCppContext(benchmark::State& state) {
  const StatusOr<ModelInfo> model = DeepLaneModel();
  if (!model.ok()) {
    state.SkipWithError(model.status().ToString().c_str());
    return;
  }
  const LlamaCppSettings settings = DeepLaneSettings();
  uint64_t ctx = 0;
  for (auto _ : state) {
    ctx = MaxLlamaCppContext(*model, settings, kLlamaCppDefaultOverhead, 64ull << 30);
    benchmark::DoNotOptimize(ctx);
  }
  state.counters["max_ctx"] = static_cast<double>(ctx);
}
BENCHMARK(BM_MaxLlamaCppContext)->UseRealTime()->Unit(benchmark::kMicrosecond);

// `cortex plan -c config/strix-halo.yaml` without its I/O: the config is loaded and the models
// resolved once (the files are absent, so the built-in table answers), then only the plan is
// timed.
void BM_PlanDeploymentStrixHalo(benchmark::State& state) {
  const std::string path = std::string(CORTEX_SOURCE_DIR) + "/config/strix-halo.yaml";
  const StatusOr<Config> config = LoadConfig(path);
  if (!config.ok()) {
    state.SkipWithError(config.status().ToString().c_str());
    return;
  }
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  std::map<std::string, StatusOr<ModelInfo>> models;
  for (const EngineConfig& e : config->engines)
    models.emplace(e.name, ResolveEngineModel(e, base_dir));

  size_t findings = 0;
  for (auto _ : state) {
    DeploymentPlan plan = PlanDeployment(*config, "normal", models);
    findings = plan.findings.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["engines"] = static_cast<double>(config->engines.size());
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_PlanDeploymentStrixHalo)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cortex
