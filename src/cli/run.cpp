#include "cli/run.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/plan_command.h"

namespace cortex::cli {

int Run(int argc, char** argv) {
  CLI::App app{"cortex: several LLM engines on one unified-memory machine, as one service"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cortex 0.1.0");

  PlanOptions plan_options;
  CLI::App* plan = app.add_subcommand(
      "plan", "Memory map and findings for a deployment; exits 1 when it does not fit");
  AddPlanOptions(*plan, plan_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (plan->parsed()) return RunPlan(plan_options);
  return 2;
}

}  // namespace cortex::cli
