// The name an engine answers to is derived once (ServedModelName in config/): the launch passes
// it to the engine and the gateway's lane table sends and routes by it. These tests hold the
// two ends together.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "engine/engine_launch.h"
#include "gateway/lane_table.h"

namespace cortex {
namespace {

EnginePlan Planned(EngineKind kind) {
  EnginePlan p;
  p.kind = kind;
  p.planned = true;
  return p;
}

// The value the argv gives `flag` (as passed on the command line), or "" when absent.
std::string ArgAfter(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

TEST(ServedNameTest, ALaunchedEngineAnswersToTheNameTheLaneTableSendsAndRoutesBy) {
  const auto config = ParseConfig(R"(
machine: { memory: 128GiB, bandwidth: 256GB/s }
engines:
  plain: { engine: llama.cpp, model: /models/plain.gguf, port: 8001, budget: 4GiB }
  aliased: { engine: llama.cpp, model: /models/b.gguf, port: 8002, budget: 4GiB,
             flags: { alias: "coder-1,coder" } }
  served: { engine: vllm, model: { hf: Qwen/Qwen3-8B }, port: 8003, budget: 20GiB }
  named: { engine: vllm, model: { hf: Qwen/Qwen3-8B }, port: 8004, budget: 20GiB,
           flags: { served-model-name: qwen } }
  simv: { engine: sim, model: /models/s.gguf, port: 8005, budget: 4GiB, flags: { flavor: vllm } }
lanes:
  a: { engine: plain }
  b: { engine: aliased }
  c: { engine: served }
  d: { engine: named }
  e: { engine: simv }
)",
                                  "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const gateway::LaneTable table = gateway::LaneTable::FromConfig(*config);
  const std::vector<std::string> expected = {"plain", "coder-1", "served", "qwen", "simv"};
  ASSERT_EQ(table.engines().size(), expected.size());
  for (size_t i = 0; i < config->engines.size(); ++i) {
    const EngineConfig& e = config->engines[i];
    auto launch = BuildEngineLaunch(e, Planned(e.kind), "/usr/bin/cortex");
    ASSERT_TRUE(launch.ok()) << e.name << ": " << launch.status().message();
    EXPECT_EQ(launch->served_name, expected[i]) << e.name;
    EXPECT_EQ(table.engines()[i].served_name, launch->served_name) << e.name;
    // What the engine is told on its command line is that same name.
    const bool vllm = launch->flavor == "vllm";
    const std::string told = ArgAfter(launch->argv, vllm ? "--served-model-name" : "--alias");
    EXPECT_EQ(told.substr(0, told.find(',')), launch->served_name) << e.name;
    // And a client that names the engine's own name reaches the engine's lane.
    EXPECT_EQ(table.Find(launch->served_name, ""), static_cast<int>(i)) << e.name;
  }
}

TEST(ServedNameTest, AnEngineGivenByUrlIsAddressedByWhatItDefaultsTo) {
  const auto config = ParseConfig(R"(
machine: { memory: 128GiB, bandwidth: 256GB/s }
engines:
  far: { engine: vllm, url: "http://10.0.0.2:8000", model: { hf: Qwen/Qwen3-8B } }
  near: { engine: llama.cpp, url: "http://127.0.0.1:8080", model: /models/m.gguf }
  bare: { engine: llama.cpp, url: "http://127.0.0.1:8081" }
lanes:
  a: { engine: far }
  b: { engine: near }
  c: { engine: bare }
)",
                                  "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const gateway::LaneTable table = gateway::LaneTable::FromConfig(*config);
  EXPECT_EQ(table.engines()[0].served_name, "Qwen/Qwen3-8B");  // vLLM serves its model argument
  EXPECT_EQ(table.engines()[1].served_name, "m.gguf");         // llama-server its file's name
  EXPECT_EQ(table.engines()[2].served_name, "bare");
  EXPECT_FALSE(BuildEngineLaunch(config->engines[0], Planned(EngineKind::kVllm), "").ok());
}

}  // namespace
}  // namespace cortex
