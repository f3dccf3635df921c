#include "deploy/engine_models.h"

#include <filesystem>

namespace cortex {

ModelLocation ModelLocationOf(const EngineConfig& engine) {
  ModelLocation source;
  source.path = engine.model.path;
  source.hf = engine.model.hf;
  source.quant = engine.model.quant;
  if (source.quant.empty()) source.quant = engine.kind == EngineKind::kVllm ? "bf16" : "q4_k_m";
  return source;
}

StatusOr<ModelInfo> ResolveEngineModel(const EngineConfig& engine, const std::string& base_dir) {
  return ResolveModel(ModelLocationOf(engine), base_dir);
}

std::map<std::string, StatusOr<ModelInfo>> ResolveEngineModels(const Config& config) {
  std::error_code ec;
  const std::string base_dir =
      std::filesystem::absolute(std::filesystem::path(config.path), ec).parent_path().string();
  std::map<std::string, StatusOr<ModelInfo>> models;
  for (const EngineConfig& e : config.engines) {
    if (e.url.empty()) models.emplace(e.name, ResolveEngineModel(e, base_dir));
  }
  return models;
}

}  // namespace cortex
