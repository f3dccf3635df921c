#include "cli/sim_command.h"

#include <cstdio>

namespace cortex::cli {

int RunSim(const std::vector<std::string>&) {
  std::fprintf(stderr, "cortex sim: not implemented yet\n");
  return 3;
}

}  // namespace cortex::cli
