#include "config/config.h"

#include <filesystem>

namespace cortex {

const EngineConfig* Config::FindEngine(const std::string& name) const {
  for (const EngineConfig& engine : engines) {
    if (engine.name == name) return &engine;
  }
  return nullptr;
}

// Clients address a lane by its name or any alias, so both are looked up.
const LaneConfig* Config::FindLane(const std::string& name) const {
  for (const LaneConfig& lane : lanes) {
    if (lane.name == name) return &lane;
  }
  for (const LaneConfig& lane : lanes) {
    for (const std::string& alias : lane.aliases) {
      if (alias == name) return &lane;
    }
  }
  return nullptr;
}

std::string_view EngineKindName(EngineKind kind) {
  switch (kind) {
    case EngineKind::kLlamaCpp:
      return "llama.cpp";
    case EngineKind::kVllm:
      return "vllm";
    case EngineKind::kSim:
      return "sim";
  }
  return "unknown";
}

std::string_view LaunchKindName(LaunchKind kind) {
  return kind == LaunchKind::kDocker ? "docker" : "process";
}

std::string_view DefaultEngineImage(EngineKind kind) {
  switch (kind) {
    case EngineKind::kLlamaCpp:
      return "ghcr.io/ggml-org/llama.cpp:server-vulkan";
    case EngineKind::kVllm:
      return "vllm/vllm-openai-rocm:latest";
    case EngineKind::kSim:
      return "";
  }
  return "";
}

bool SpeaksVllmWire(const EngineConfig& engine) {
  if (engine.kind == EngineKind::kVllm) return true;
  const FlagValue* flavor = FindFlag(engine.flags, "flavor");
  return engine.kind == EngineKind::kSim && flavor != nullptr && flavor->text == "vllm";
}

std::string ServedModelName(const EngineConfig& engine) {
  const bool vllm = SpeaksVllmWire(engine);
  if (const FlagValue* v = FindFlag(engine.flags, vllm ? "served-model-name" : "alias")) {
    return vllm ? v->text : v->text.substr(0, v->text.find(','));
  }
  if (engine.url.empty()) return engine.name;
  if (vllm) return !engine.model.path.empty() ? engine.model.path : engine.model.hf;
  if (!engine.model.path.empty()) {
    return std::filesystem::path(engine.model.path).filename().string();
  }
  return engine.name;
}

const FlagValue* FindFlag(const FlagMap& flags, std::string_view name) {
  for (const auto& [key, value] : flags) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace cortex
