// `cortex up [-c FILE]`: runs the supervisor (engines without `url:`) and the gateway in the
// foreground until SIGINT or SIGTERM; with no config, the built-in demo (cli/demo_config.h).
// `cortex env [-c FILE]`: prints the ARGOS_* variables that point the Cortex backend at it.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace cortex::cli {

struct UpOptions {
  std::string config_path;
  bool print_demo = false;
};

void AddUpOptions(CLI::App& app, UpOptions& options);
// Returns 0 after a clean stop, 2 when the config does not load, 3 when the gateway cannot
// start (address in use).
int RunUp(const UpOptions& options);

struct EnvOptions {
  std::string config_path;
};
void AddEnvOptions(CLI::App& app, EnvOptions& options);
int RunEnv(const EnvOptions& options);

}  // namespace cortex::cli
