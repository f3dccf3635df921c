#include "cli/compose_command.h"
#include "cli/config_path.h"

#include <grp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"
#include "engine/compose_file.h"

namespace cortex::cli {
void AddComposeOptions(CLI::App& app, ComposeCommandOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "deployment config (YAML); default $CORTEX_CONFIG or ./cortex.yaml");
  app.add_option("-o,--output", options.output_path,
                 "write the compose file here instead of to stdout");
}

int RunCompose(const ComposeCommandOptions& options) {
  const std::string path = ConfigPath(options.config_path);
  StatusOr<Config> config = LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  const std::map<std::string, StatusOr<ModelInfo>> models = ResolveEngineModels(*config);
  const DeploymentPlan plan = PlanDeployment(*config, "normal", models);

  ComposeOptions compose;
  compose.group_add = HostGroupIds(compose.group_add);
  std::error_code ec;
  compose.base_dir =
      std::filesystem::absolute(std::filesystem::path(path), ec).parent_path().string();
  const ComposeFile file = BuildComposeFile(*config, plan, compose);
  const std::string text = RenderComposeFile(file);

  if (options.output_path.empty()) {
    std::cout << text;
    std::cout.flush();
  } else {
    std::ofstream out(options.output_path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::fprintf(stderr, "cortex compose: cannot write %s\n", options.output_path.c_str());
      return 3;
    }
    std::fprintf(stderr, "cortex compose: wrote %s (%zu services)\n", options.output_path.c_str(),
                 file.services.size());
  }
  for (const std::string& why : file.left_out) {
    std::fprintf(stderr, "cortex compose: left out %s\n", why.c_str());
  }
  if (!plan.fits) {
    std::fprintf(stderr,
                 "cortex compose: warning: the plan does not fit this machine; `cortex plan -c "
                 "%s` says why\n",
                 path.c_str());
  }
  return file.left_out.empty() ? 0 : 1;
}

}  // namespace cortex::cli
