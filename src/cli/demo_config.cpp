#include "cli/demo_config.h"

#include <fmt/format.h>

#include <filesystem>

#include "config/config_loader.h"
#include "model/synthetic_model.h"

namespace cortex::cli {
namespace {

// Ports far from the usual 8000/8080 so the demo does not collide with real engines.
constexpr const char* kDemoYaml =
    R"(# cortex up's built-in demo: the seed's five lanes on simulated engines.
# Scaled down: the machine below has an 11 GiB pool, the models are tiny synthetic ones (llama.cpp
# flavor) or small Hugging Face shapes from the built-in table (vLLM flavor). Print it with
# `cortex up --print-demo-config` and edit a copy to experiment.
# The five engines' budgets add up to 12 GiB, one more than the pool, on purpose: the last one
# (governance) starts on demand and the ledger swaps an idle engine out for it.
machine:
  memory: 14GiB
  gpu_pool: 11GiB
  bandwidth: 256GB/s
  reserve: { os: 2GiB, backend: 1GiB }
engines:
  orchestrator-sim:
    engine: sim
    model: { hf: Qwen/Qwen2.5-0.5B-Instruct, quant: bf16 }
    port: 18400
    budget: 3584MiB
    flags: { flavor: vllm, max-model-len: 16384, enable-sleep-mode: true, sim-load-seconds: 1.5, sim-ttft-ms: 120, sim-itl-ms: 25 }
  coder-sim:
    engine: sim
    model: { hf: Qwen/Qwen2.5-0.5B-Instruct, quant: bf16 }
    port: 18401
    budget: 3584MiB
    flags: { flavor: vllm, max-model-len: 16384, sim-load-seconds: 1.5, sim-ttft-ms: 150, sim-itl-ms: 30 }
  fast-rag-sim:
    engine: sim
    model: { hf: HuggingFaceTB/SmolLM2-135M-Instruct, quant: bf16 }
    port: 18402
    budget: 2560MiB
    flags: { flavor: vllm, max-model-len: 8192, sim-load-seconds: 1, sim-ttft-ms: 60, sim-itl-ms: 15 }
  deep-lane-sim:
    engine: sim
    model: MODEL_DIR/deep-reader.gguf
    port: 18410
    budget: 1536MiB
    flags: { flavor: llama.cpp, ctx-size: 65536, parallel: 1, cache-ram: 0, flash-attn: on, sim-load-seconds: 2, sim-ttft-ms: 400, sim-itl-ms: 80 }
    profiles:
      burst:
        budget: 8GiB
        flags: { ctx-size: 524288 }
        pauses: [orchestrator-sim, coder-sim, fast-rag-sim]
  governance-sim:
    engine: sim
    model: MODEL_DIR/governance.gguf
    port: 18411
    budget: 1GiB
    flags: { flavor: llama.cpp, ctx-size: 8192, parallel: 2, cache-ram: 0, flash-attn: on, sim-load-seconds: 1, sim-ttft-ms: 100, sim-itl-ms: 40 }
lanes:
  orchestrator: { engine: orchestrator-sim, fallback: [governance], targets: { context: 16384 } }
  coder: { engine: coder-sim, fallback: [orchestrator], targets: { context: 16384 } }
  super-reader: { engine: deep-lane-sim, priority: batch, targets: { context: 65536 } }
  fast-rag: { engine: fast-rag-sim, fallback: [governance], targets: { context: 8192 } }
  governance: { engine: governance-sim, targets: { context: 4096 } }
profiles:
  burst: { description: "the deep lane takes the memory of the three vLLM-like engines" }
gateway: { listen: 127.0.0.1:4000 }
supervisor: { drain_timeout: 20, stop_timeout: 5, load_wait: 60 }
)";

}  // namespace

std::string DemoConfigYaml(const std::string& model_dir) {
  std::string yaml = kDemoYaml;
  for (size_t at; (at = yaml.find("MODEL_DIR")) != std::string::npos;) {
    yaml.replace(at, 9, model_dir);
  }
  return yaml;
}

testing::SyntheticModelSpec DemoDeepReaderSpec() {
  testing::SyntheticModelSpec deep;
  deep.name = "demo-deep-reader";
  deep.n_layer = 4;
  deep.n_embd = 512;
  deep.n_head = 8;
  deep.n_head_kv = 8;
  deep.n_ff = 1024;
  deep.n_ctx_train = 1 << 20;
  return deep;
}

Status WriteDemoModels(const std::string& model_dir) {
  std::error_code ec;
  std::filesystem::create_directories(model_dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", model_dir, ec.message()));
  struct Model {
    const char* file;
    testing::SyntheticModelSpec spec;
  };
  const testing::SyntheticModelSpec deep = DemoDeepReaderSpec();
  testing::SyntheticModelSpec governance;
  governance.name = "demo-governance";
  governance.n_ctx_train = 8192;
  for (const Model& m : {Model{"deep-reader.gguf", deep}, Model{"governance.gguf", governance}}) {
    const std::string path = model_dir + "/" + m.file;
    if (std::filesystem::exists(path, ec)) continue;
    const std::string tmp = path + ".tmp";
    if (Status s = testing::WriteSyntheticModel(tmp, m.spec); !s.ok()) return s;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Status::IoError(fmt::format("cannot write {}: {}", path, ec.message()));
  }
  return Status::Ok();
}

StatusOr<Config> LoadDemoConfig(const std::string& state_dir) {
  const std::string model_dir = state_dir + "/demo-models";
  if (Status s = WriteDemoModels(model_dir); !s.ok())
    return Status::IoError("the demo's models: " + s.message());
  auto config = ParseConfig(DemoConfigYaml(model_dir), "<built-in demo>");
  if (config.ok()) config->path = model_dir + "/demo.yaml";
  return config;
}

}  // namespace cortex::cli
