#include "cli/plan_command.h"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace cortex::cli {

void AddPlanOptions(CLI::App& app, PlanOptions& options) {
  app.add_option("-c,--config", options.config_path, "deployment config (YAML)");
  app.add_option("--profile", options.profile, "profile to plan (normal, burst, ...)");
  app.add_flag("--json", options.json, "print the plan as JSON");
  app.add_option("--svg", options.svg_path, "write the memory map as an SVG file");
}

int RunPlan(const PlanOptions&) {
  std::fprintf(stderr, "cortex plan: not implemented yet\n");
  return 3;
}

}  // namespace cortex::cli
