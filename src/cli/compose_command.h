// `cortex compose [-c FILE] [-o FILE]`: writes the docker compose file for a deployment's
// engines (see cli/compose_file.h for what goes in it), planned under the normal profile.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace cortex::cli {

struct ComposeCommandOptions {
  std::string config_path;  // empty: $CORTEX_CONFIG, else ./cortex.yaml
  std::string output_path;  // empty: stdout
};

void AddComposeOptions(CLI::App& app, ComposeCommandOptions& options);

// Returns 0 when every engine cortex launches has a service; 1 when the file was written but
// some engine was left out (it could not be planned; the file and stderr say why); 2 when the
// config does not load; 3 when the output file cannot be written.
int RunCompose(const ComposeCommandOptions& options);

}  // namespace cortex::cli
