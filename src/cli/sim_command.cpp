#include "cli/sim_command.h"

#include <fmt/format.h>

#include <cstdio>

#include "sim/sim_options.h"
#include "sim/simulator.h"
#include "sim/startup_log.h"

namespace cortex::cli {

int RunSim(const std::vector<std::string>& args) {
  sim::MarkProcessStart();
  auto options = sim::ParseSimOptions(args);
  if (!options.ok()) {
    std::fputs(fmt::format("cortex sim: {}\nsee `cortex sim --help`\n", options.status().message())
                   .c_str(),
               stderr);
    return 2;
  }
  if (options->help) {
    std::fputs(sim::SimUsage().c_str(), stdout);
    return 0;
  }
  return sim::RunSimulator(*options);
}

}  // namespace cortex::cli
