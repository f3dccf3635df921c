// The built-in demo: the seed's topology (five lanes, a vLLM-like and a llama.cpp-like service
// per lane, the deep lane's burst profile pausing the others) on simulated engines scaled to a
// small machine, so `cortex up` with no config shows routing, queueing, swapping and bursts.
#pragma once

#include <string>

#include "util/status.h"

namespace cortex::cli {

// The demo's YAML, with MODEL_DIR standing for the directory of its synthetic GGUF files.
std::string DemoConfigYaml(const std::string& model_dir);
// Writes the demo's synthetic GGUF models into `model_dir` (kept between runs).
Status WriteDemoModels(const std::string& model_dir);

}  // namespace cortex::cli
