// `cortex plan`: reads a config, plans every engine's memory, prints the memory map and findings.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace cortex::cli {

struct PlanOptions {
  std::string config_path;  // empty: $CORTEX_CONFIG, else ./cortex.yaml
  std::string profile = "normal";
  bool json = false;
  std::string svg_path;
};

void AddPlanOptions(CLI::App& app, PlanOptions& options);

// Returns 0 when everything fits, 1 when something does not, 2 when the config does not load,
// 3 when the SVG cannot be written.
int RunPlan(const PlanOptions& options);

}  // namespace cortex::cli
