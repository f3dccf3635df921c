// `cortex sim --flavor llama.cpp|vllm [engine flags] [--sim-* options]`: the engine simulator.
// Takes the real engine's argv (unknown engine flags are logged and ignored), so the supervisor
// launches it exactly like llama-server or vllm serve.
#pragma once

#include <string>
#include <vector>

namespace cortex::cli {

// `args` are the words after "sim". Returns the process exit code.
int RunSim(const std::vector<std::string>& args);

}  // namespace cortex::cli
