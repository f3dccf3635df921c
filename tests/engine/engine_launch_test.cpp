// BuildEngineLaunch: the argv each engine kind is started with, and which flag wins when the
// config, the profile and the plan all name it.
#include "engine/engine_launch.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"
#include "sim/sim_options.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using Argv = std::vector<std::string>;

// The config's engine `name`; the file's head is shared by all tests.
EngineConfig Engine(const std::string& engines_yaml, const std::string& name = "a") {
  const std::string yaml =
      "machine: {memory: 128GiB, bandwidth: 256GB/s}\nlanes:\n  l: {engine: " + name +
      "}\nengines:\n" + engines_yaml;
  StatusOr<Config> config = ParseConfig(yaml, "t.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return {};
  return *config->FindEngine(name);
}

// A plan as PlanLlamaCpp writes its server flags.
EnginePlan LlamaPlan() {
  EnginePlan p;
  p.planned = true;
  p.server_flags = {{"fit", "off"},         {"ctx-size", "65536"},    {"parallel", "1"},
                    {"no-kv-unified", ""},  {"cache-type-k", "q8_0"}, {"cache-type-v", "f16"},
                    {"flash-attn", "on"},   {"batch-size", "2048"},   {"ubatch-size", "512"},
                    {"n-gpu-layers", "33"}, {"cache-ram", "0"}};
  return p;
}

EnginePlan VllmPlan() {
  EnginePlan p;
  p.kind = EngineKind::kVllm;
  p.planned = true;
  p.server_flags = {{"max-model-len", "32768"},
                    {"max-num-seqs", "256"},
                    {"max-num-batched-tokens", "2048"},
                    {"kv-cache-memory-bytes", "8589934592"},
                    {"gpu-memory-utilization", "0.200"}};
  return p;
}

// How many times `word` occurs in `argv`.
size_t Count(const Argv& argv, const std::string& word) {
  return static_cast<size_t>(std::count(argv.begin(), argv.end(), word));
}

// The word after the first `flag`, or "" when `flag` is absent or last.
std::string ValueOf(const Argv& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

TEST(EngineLaunchTest, LlamaCppRunsLlamaServerOnTheModelFileWithThePlansFlags) {
  const EngineConfig e = Engine(R"(  a:
    engine: llama.cpp
    model: /models/m.gguf
    port: 8080
    budget: 10GiB
    env: {AMD_VULKAN_ICD: RADV}
    flags: {ctx-size: 65536, threads: 8, flash-attn: auto, metrics: true}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "/usr/bin/cortex");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->binary, "llama-server");
  EXPECT_EQ(l->flavor, "llama.cpp");
  EXPECT_EQ(l->served_name, "a");
  EXPECT_THAT(l->env, ElementsAre(Pair("AMD_VULKAN_ICD", "RADV")));
  // Config flags in file order, each replaced by the plan's value; then the plan's others.
  EXPECT_EQ(l->argv, (Argv{"llama-server",
                           "-m",
                           "/models/m.gguf",
                           "--host",
                           "127.0.0.1",
                           "--port",
                           "8080",
                           "--alias",
                           "a",
                           "--ctx-size",
                           "65536",
                           "--threads",
                           "8",
                           "--flash-attn",
                           "on",
                           "--metrics",
                           "--fit",
                           "off",
                           "--parallel",
                           "1",
                           "--no-kv-unified",
                           "--cache-type-k",
                           "q8_0",
                           "--cache-type-v",
                           "f16",
                           "--batch-size",
                           "2048",
                           "--ubatch-size",
                           "512",
                           "--n-gpu-layers",
                           "33",
                           "--cache-ram",
                           "0"}));
}

TEST(EngineLaunchTest, PlanFlagsOverrideConfigFlagsAndAreNeverEmittedTwice) {
  const EngineConfig e = Engine(R"(  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {ctx-size: 1000, n-gpu-layers: 99, kv-unified: true, cache-type-k: f16}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(ValueOf(l->argv, "--ctx-size"), "65536");
  EXPECT_EQ(ValueOf(l->argv, "--n-gpu-layers"), "33");
  EXPECT_EQ(ValueOf(l->argv, "--cache-type-k"), "q8_0");
  // kv-unified and no-kv-unified are one flag: the plan's spelling wins.
  EXPECT_EQ(Count(l->argv, "--kv-unified"), 0u);
  EXPECT_EQ(Count(l->argv, "--no-kv-unified"), 1u);
  for (const char* flag : {"--ctx-size", "--n-gpu-layers", "--cache-type-k", "--fit"}) {
    EXPECT_EQ(Count(l->argv, flag), 1u) << flag;
  }
}

TEST(EngineLaunchTest, BooleansBecomeSwitchesOrTheEnginesNegation) {
  const EngineConfig e = Engine(R"(  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {metrics: true, mmap: false, verbose: false, no-warmup: false, webui: false}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(Count(l->argv, "--metrics"), 1u);
  EXPECT_EQ(Count(l->argv, "--no-mmap"), 1u);
  EXPECT_EQ(Count(l->argv, "--no-webui"), 1u);
  EXPECT_EQ(Count(l->argv, "--warmup"), 1u);  // no-warmup: false
  // llama-server has no --no-verbose: false is its default, so nothing is passed.
  EXPECT_EQ(Count(l->argv, "--verbose"), 0u);
  EXPECT_EQ(Count(l->argv, "--no-verbose"), 0u);
  EXPECT_EQ(Count(l->argv, "false"), 0u);
}

TEST(EngineLaunchTest, AnAliasFlagIsTheServedName) {
  const EngineConfig e = Engine(R"(  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    binary: /opt/llama/llama-server
    flags: {alias: "deep,deep-reader"}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->binary, "/opt/llama/llama-server");
  EXPECT_EQ(l->argv[0], "/opt/llama/llama-server");
  EXPECT_EQ(l->served_name, "deep");
  EXPECT_EQ(Count(l->argv, "--alias"), 1u);
  EXPECT_EQ(ValueOf(l->argv, "--alias"), "deep,deep-reader");
}

TEST(EngineLaunchTest, LlamaCppWithoutAModelFileIsRefusedWithTheReason) {
  const EngineConfig e = Engine(R"(  a:
    engine: llama.cpp
    model: {hf: org/model, quant: q4_k_m}
    port: 8080
    budget: 10GiB
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.status().message(), HasSubstr("model.path is required"));
}

TEST(EngineLaunchTest, VllmServesTheRepoIdWhenTheDirectoryIsMissing) {
  const EngineConfig e = Engine(R"(  a:
    engine: vllm
    model: {path: /nonexistent/qwen, hf: Qwen/Qwen2.5-7B-Instruct}
    host: 127.0.0.2
    port: 8000
    budget: 20GiB
    flags: {max-model-len: 65536, enforce-eager: true, enable-prefix-caching: false}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, VllmPlan(), "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->binary, "vllm");
  EXPECT_EQ(l->flavor, "vllm");
  EXPECT_EQ(l->served_name, "a");
  EXPECT_EQ(l->argv, (Argv{"vllm",
                           "serve",
                           "Qwen/Qwen2.5-7B-Instruct",
                           "--host",
                           "127.0.0.2",
                           "--port",
                           "8000",
                           "--served-model-name",
                           "a",
                           "--max-model-len",
                           "32768",
                           "--enforce-eager",
                           "--no-enable-prefix-caching",
                           "--max-num-seqs",
                           "256",
                           "--max-num-batched-tokens",
                           "2048",
                           "--kv-cache-memory-bytes",
                           "8589934592",
                           "--gpu-memory-utilization",
                           "0.200"}));
}

TEST(EngineLaunchTest, VllmServesTheDirectoryWhenItExists) {
  testing::TempDir dir;
  const EngineConfig e = Engine(fmt::format(R"(  a:
    engine: vllm
    model: {{path: "{}", hf: Qwen/Qwen2.5-7B-Instruct}}
    port: 8000
    budget: 20GiB
    flags: {{served-model-name: qwen}}
)",
                                            dir.path()));
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, VllmPlan(), "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->argv[2], dir.path());
  EXPECT_EQ(l->served_name, "qwen");
  EXPECT_EQ(Count(l->argv, "--served-model-name"), 1u);
}

TEST(EngineLaunchTest, AProfilesFlagsReachTheArgvThroughApplyProfile) {
  StatusOr<Config> config = ParseConfig(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {threads: 8, ctx-size: 4096}
    profiles:
      burst: {budget: 20GiB, flags: {threads: 16, ctx-size: 8192}}
lanes:
  l: {engine: a}
)",
                                        "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EnginePlan plan = LlamaPlan();
  plan.server_flags.erase(plan.server_flags.begin() + 1);  // no ctx-size from the plan
  StatusOr<EngineLaunch> l = BuildEngineLaunch(ApplyProfile(config->engines[0], "burst"), plan, "");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(ValueOf(l->argv, "--threads"), "16");
  EXPECT_EQ(ValueOf(l->argv, "--ctx-size"), "8192");
  EXPECT_EQ(Count(l->argv, "--threads"), 1u);
}

TEST(EngineLaunchTest, TheRealPlannersFlagsComeThrough) {
  StatusOr<Config> config = ParseConfig(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep:
    engine: llama.cpp
    model:
      path: /nonexistent/nemotron.gguf
      hf: nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct
      quant: q4_k_m
    port: 8080
    budget: 64GiB
    flags: {ctx-size: 100000, n-gpu-layers: 99, cache-type-k: q8_0, flash-attn: on, parallel: 1}
    profiles:
      burst: {budget: 96GiB, flags: {ctx-size: 400000}}
lanes:
  l: {engine: deep}
)",
                                        "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const EngineConfig& deep = config->engines[0];
  std::map<std::string, StatusOr<ModelInfo>> models;
  models.emplace("deep", ResolveEngineModel(deep, ""));
  for (const std::string profile : {"normal", "burst"}) {
    const DeploymentPlan plan = PlanDeployment(*config, profile, models);
    ASSERT_TRUE(plan.engines[0].planned) << profile;
    StatusOr<EngineLaunch> l = BuildEngineLaunch(ApplyProfile(deep, profile), plan.engines[0], "");
    ASSERT_TRUE(l.ok()) << l.status().message();
    EXPECT_EQ(ValueOf(l->argv, "--fit"), "off");
    EXPECT_EQ(ValueOf(l->argv, "--ctx-size"), profile == "burst" ? "400000" : "100000");
    EXPECT_EQ(Count(l->argv, "--no-kv-unified"), 1u);
    EXPECT_EQ(ValueOf(l->argv, "--cache-type-k"), "q8_0");
    EXPECT_EQ(ValueOf(l->argv, "--n-gpu-layers"), "33");  // 32 layers + output
  }
}

TEST(EngineLaunchTest, SimImitatesLlamaServersArgvAndTheSimulatorParsesIt) {
  const EngineConfig e = Engine(R"(  a:
    engine: sim
    model: /models/m.gguf
    port: 8080
    budget: 10GiB
    flags: {sim-load-seconds: 2, sim-itl-ms: 5, ctx-size: 4096}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, LlamaPlan(), "/usr/bin/cortex");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->binary, "/usr/bin/cortex");
  EXPECT_EQ(l->flavor, "llama.cpp");
  EXPECT_EQ(l->served_name, "a");
  EXPECT_EQ(
      Argv(l->argv.begin(), l->argv.begin() + 7),
      (Argv{"/usr/bin/cortex", "sim", "--flavor", "llama.cpp", "-m", "/models/m.gguf", "--host"}));
  EXPECT_EQ(ValueOf(l->argv, "--sim-load-seconds"), "2");

  StatusOr<sim::SimOptions> o = sim::ParseSimOptions(Argv(l->argv.begin() + 2, l->argv.end()));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->flavor, sim::SimFlavor::kLlamaCpp);
  EXPECT_EQ(o->llama.model, "/models/m.gguf");
  EXPECT_EQ(o->llama.port, 8080);
  EXPECT_EQ(o->llama.settings.ctx_size, 65536);
  EXPECT_EQ(o->llama.settings.kv_unified, false);
  EXPECT_THAT(o->llama.aliases, ElementsAre("a"));
  EXPECT_EQ(o->load_seconds, 2);
  EXPECT_EQ(o->itl_ms, 5);
}

TEST(EngineLaunchTest, SimImitatesVllmServeAndTheSimulatorParsesIt) {
  const EngineConfig e = Engine(R"(  a:
    engine: sim
    model: {hf: Qwen/Qwen2.5-7B-Instruct}
    port: 8000
    budget: 20GiB
    flags: {flavor: vllm, sim-ttft-ms: 50}
)");
  StatusOr<EngineLaunch> l = BuildEngineLaunch(e, VllmPlan(), "/usr/bin/cortex");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->flavor, "vllm");
  EXPECT_EQ(
      Argv(l->argv.begin(), l->argv.begin() + 6),
      (Argv{"/usr/bin/cortex", "sim", "--flavor", "vllm", "serve", "Qwen/Qwen2.5-7B-Instruct"}));
  EXPECT_EQ(Count(l->argv, "--flavor"), 1u);

  StatusOr<sim::SimOptions> o = sim::ParseSimOptions(Argv(l->argv.begin() + 2, l->argv.end()));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->flavor, sim::SimFlavor::kVllm);
  EXPECT_EQ(o->vllm.model, "Qwen/Qwen2.5-7B-Instruct");
  EXPECT_THAT(o->vllm.served_model_names, ElementsAre("a"));
  EXPECT_EQ(o->vllm.port, 8000);
  EXPECT_EQ(o->vllm.settings.max_model_len, 32768u);
  EXPECT_EQ(o->vllm.settings.kv_cache_memory_bytes, 8589934592u);
  EXPECT_EQ(o->ttft_ms, 50);
  EXPECT_TRUE(o->ignored_flags.empty());
}

TEST(EngineLaunchTest, RefusesWhatCannotBeLaunched) {
  const EngineConfig by_url = Engine("  a: {engine: vllm, url: \"http://10.0.0.2:8000\"}\n");
  EXPECT_THAT(BuildEngineLaunch(by_url, VllmPlan(), "").status().message(),
              HasSubstr("given by url"));

  const EngineConfig e =
      Engine("  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 1GiB}\n");
  EnginePlan unplanned;
  EXPECT_THAT(BuildEngineLaunch(e, unplanned, "").status().message(), HasSubstr("not planned"));
  EnginePlan paused = LlamaPlan();
  paused.resident = false;
  EXPECT_THAT(BuildEngineLaunch(e, paused, "").status().message(), HasSubstr("paused"));

  const EngineConfig port_flag = Engine(
      "  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 1GiB, flags: {port: 9}}\n");
  EXPECT_THAT(BuildEngineLaunch(port_flag, LlamaPlan(), "").status().message(),
              HasSubstr("engines.a.flags.port: cortex passes --port itself"));

  const EngineConfig bad_flavor = Engine(
      "  a: {engine: sim, model: /m.gguf, port: 8080, budget: 1GiB, flags: {flavor: tgi}}\n");
  EXPECT_THAT(BuildEngineLaunch(bad_flavor, LlamaPlan(), "").status().message(),
              HasSubstr("expected llama.cpp or vllm, got \"tgi\""));
}

}  // namespace
}  // namespace cortex
