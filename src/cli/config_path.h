// Which config file a subcommand reads: `-c FILE`, else $CORTEX_CONFIG, else ./cortex.yaml.
#pragma once

#include <string>

namespace cortex::cli {

std::string ConfigPath(const std::string& given);

// The same, except that with nothing given and no ./cortex.yaml it is "": `cortex up` then
// runs its built-in demo, and the admin commands talk to the demo's gateway.
std::string ConfigPathOrDemo(const std::string& given);

}  // namespace cortex::cli
