// The built-in demo: the seed's topology (five lanes, a vLLM-like and a llama.cpp-like service
// per lane, the deep lane's burst profile pausing the others) on simulated engines scaled to a
// small machine, so `cortex up` with no config shows routing, queueing, swapping and bursts.
#pragma once

#include <string>

#include "config/config.h"
#include "model/synthetic_model.h"
#include "util/status.h"

namespace cortex::cli {

// The demo's YAML, with MODEL_DIR standing for the directory of its synthetic GGUF files.
std::string DemoConfigYaml(const std::string& model_dir);
// The demo's deep-reader model: 4 layers of 512, 8 KV heads, a 1M-token training context, so
// its KV cache is 8 KiB per token and a burst context costs real memory. The burst benchmark
// uses the same shape.
testing::SyntheticModelSpec DemoDeepReaderSpec();
// Writes the demo's synthetic GGUF models into `model_dir` (kept between runs).
Status WriteDemoModels(const std::string& model_dir);
// The demo as a Config, its models written under STATE_DIR/demo-models first.
StatusOr<Config> LoadDemoConfig(const std::string& state_dir);

}  // namespace cortex::cli
