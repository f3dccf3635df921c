#include "cli/plan_command.h"
#include "cli/config_path.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/plan_report.h"
#include "cli/plan_svg.h"
#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"

namespace cortex::cli {
void AddPlanOptions(CLI::App& app, PlanOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "deployment config (YAML); default $CORTEX_CONFIG or ./cortex.yaml");
  app.add_option("--profile", options.profile,
                 "profile to plan: normal (default) or a profile name");
  app.add_flag("--json", options.json,
               "print the plan as JSON (stable field names, bytes as integers)");
  app.add_option("--svg", options.svg_path,
                 "also write the memory map of every profile, side by side, as an SVG file");
}

int RunPlan(const PlanOptions& options) {
  const std::string path = ConfigPath(options.config_path);
  auto config = LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  const std::vector<std::string> profiles = ProfileNames(*config);
  if (std::find(profiles.begin(), profiles.end(), options.profile) == profiles.end()) {
    std::string list;
    for (const auto& p : profiles)
      list += (list.empty() ? "" : ", ") + p;
    std::fprintf(stderr, "cortex plan: no profile named \"%s\" in %s; profiles are: %s\n",
                 options.profile.c_str(), path.c_str(), list.c_str());
    return 2;
  }

  const auto models = ResolveEngineModels(*config);
  const DeploymentPlan plan = PlanDeployment(*config, options.profile, models);

  if (options.json) {
    std::cout << boost::json::serialize(PlanToJson(plan)) << "\n";
  } else {
    std::cout << RenderPlanText(plan, path);
  }
  std::cout.flush();

  if (!options.svg_path.empty()) {
    std::vector<DeploymentPlan> all;
    for (const std::string& p : profiles) {
      all.push_back(p == plan.profile ? plan : PlanDeployment(*config, p, models));
    }
    std::ofstream out(options.svg_path, std::ios::binary | std::ios::trunc);
    out << RenderPlanSvg(all, "cortex memory map: " + path);
    out.close();
    if (!out) {
      std::fprintf(stderr, "cortex plan: cannot write %s\n", options.svg_path.c_str());
      return 3;
    }
  }
  return plan.fits ? 0 : 1;
}

}  // namespace cortex::cli
