#include "engine/engine_launch.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string_view>

namespace cortex {
namespace {

// llama-server's switches that it also accepts as --no-NAME (common/arg.cpp). A `false` for any
// other switch is left out: that is the engine's default.
bool LlamaSwitchNegates(std::string_view name) {
  static constexpr std::string_view kNegatable[] = {
      "kv-unified",     "kv-offload",   "mmap",        "warmup",         "cont-batching",
      "context-shift",  "slots",        "webui",       "jinja",          "escape",
      "op-offload",     "repack",       "perf",        "mmproj-offload", "prefill-assistant",
      "display-prompt", "cache-prompt", "mmproj-auto", "host-buffer",
  };
  return std::find(std::begin(kNegatable), std::end(kNegatable), name) != std::end(kNegatable);
}

// A switch and its negation are one flag for deduplication.
std::string_view BaseName(std::string_view name) {
  return name.substr(0, 3) == "no-" ? name.substr(3) : name;
}

struct Dialect {
  bool vllm = false;
  // Whether --no-NAME is how this engine turns switch NAME off. vLLM's booleans come from
  // argparse.BooleanOptionalAction, which always has the --no- form.
  bool Negates(std::string_view name) const { return vllm || LlamaSwitchNegates(name); }
};

void AppendConfigFlag(const std::string& name, const FlagValue& value, const Dialect& dialect,
                      std::vector<std::string>* argv) {
  if (value.kind != FlagValue::Kind::kBool) {
    argv->push_back("--" + name);
    argv->push_back(value.text);
    return;
  }
  if (value.bool_value) {
    argv->push_back("--" + name);
    return;
  }
  // false: the opposite switch when the engine has one ("no-mmap: false" is --mmap).
  const std::string_view base = BaseName(name);
  if (!dialect.Negates(base)) return;
  argv->push_back(base == name ? "--no-" + name : "--" + std::string(base));
}

void AppendPlanFlag(const std::pair<std::string, std::string>& flag,
                    std::vector<std::string>* argv) {
  argv->push_back("--" + flag.first);
  if (!flag.second.empty()) argv->push_back(flag.second);
}

StatusOr<std::string> FlavorOf(const EngineConfig& engine) {
  switch (engine.kind) {
    case EngineKind::kLlamaCpp:
      return std::string("llama.cpp");
    case EngineKind::kVllm:
      return std::string("vllm");
    case EngineKind::kSim:
      break;
  }
  const FlagValue* flavor = FindFlag(engine.flags, "flavor");
  if (flavor == nullptr) return std::string("llama.cpp");
  if (flavor->text == "vllm") return std::string("vllm");
  if (flavor->text == "llama.cpp" || flavor->text == "llamacpp" || flavor->text == "llama-server") {
    return std::string("llama.cpp");
  }
  return Status::InvalidArgument(
      fmt::format("engines.{}.flags.flavor: expected llama.cpp or vllm, got \"{}\"", engine.name,
                  flavor->text));
}

// What `vllm serve` is given: the directory when it is there (or nothing else is known), else
// the repo id, which vLLM downloads.
std::string VllmModelArg(const ModelRef& model) {
  if (model.path.empty()) return model.hf;
  if (model.hf.empty()) return model.path;
  std::error_code ec;
  return std::filesystem::exists(model.path, ec) ? model.path : model.hf;
}

}  // namespace

StatusOr<EngineLaunch> BuildEngineLaunch(const EngineConfig& engine, const EnginePlan& plan,
                                         const std::string& self_exe) {
  const std::string where = "engines." + engine.name;
  if (!engine.url.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: given by url ({}); it runs elsewhere and is not launched", where, engine.url));
  }
  if (!plan.resident) {
    return Status::InvalidArgument(
        fmt::format("{}: paused under this profile; there is nothing to launch", where));
  }
  if (!plan.planned) {
    return Status::InvalidArgument(
        fmt::format("{}: not planned (see `cortex plan`), so there are no flags that bound its "
                    "memory; refusing to launch it",
                    where));
  }
  StatusOr<std::string> flavor = FlavorOf(engine);
  if (!flavor.ok()) return flavor.status();
  const bool vllm = *flavor == "vllm";
  for (std::string_view reserved : {"host", "port", "model", "m"}) {
    if (FindFlag(engine.flags, reserved) != nullptr) {
      return Status::InvalidArgument(
          fmt::format("{}.flags.{}: cortex passes --{} itself; set the engine's {} key instead",
                      where, reserved, reserved, reserved == "m" ? "model" : reserved));
    }
  }

  EngineLaunch out;
  out.flavor = *flavor;
  out.env = engine.env;
  const FlagValue* name_flag = FindFlag(engine.flags, vllm ? "served-model-name" : "alias");
  out.served_name = ServedModelName(engine);

  std::vector<std::string>& argv = out.argv;
  if (engine.kind == EngineKind::kSim) {
    out.binary = self_exe;
    argv = {self_exe, "sim", "--flavor", out.flavor};
  } else {
    out.binary = !engine.binary.empty() ? engine.binary : vllm ? "vllm" : "llama-server";
    argv = {out.binary};
  }
  if (vllm) {
    const std::string model = VllmModelArg(engine.model);
    if (model.empty()) {
      return Status::InvalidArgument(fmt::format("{}: vllm needs model.path or model.hf", where));
    }
    argv.insert(argv.end(), {"serve", model});
  } else {
    if (engine.model.path.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}: llama-server loads a GGUF file, so model.path is required (model.hf alone only "
          "describes the model to the planner)",
          where));
    }
    argv.insert(argv.end(), {"-m", engine.model.path});
  }
  argv.insert(argv.end(), {"--host", engine.host, "--port", std::to_string(engine.port)});
  if (name_flag == nullptr) {
    argv.insert(argv.end(), {vllm ? "--served-model-name" : "--alias", engine.name});
  }

  const Dialect dialect{vllm};
  std::vector<bool> plan_used(plan.server_flags.size(), false);
  auto find_plan_flag = [&](std::string_view name) -> std::optional<size_t> {
    for (size_t i = 0; i < plan.server_flags.size(); ++i) {
      if (BaseName(plan.server_flags[i].first) == BaseName(name)) return i;
    }
    return std::nullopt;
  };
  for (const auto& [name, value] : engine.flags) {
    if (engine.kind == EngineKind::kSim && name == "flavor") continue;
    if (std::optional<size_t> i = find_plan_flag(name)) {
      if (!plan_used[*i]) AppendPlanFlag(plan.server_flags[*i], &argv);
      plan_used[*i] = true;
      continue;
    }
    AppendConfigFlag(name, value, dialect, &argv);
  }
  for (size_t i = 0; i < plan.server_flags.size(); ++i) {
    if (!plan_used[i]) AppendPlanFlag(plan.server_flags[i], &argv);
  }
  return out;
}

}  // namespace cortex
