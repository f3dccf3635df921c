// `cortex compose`: the compose file's services and keys, safe quoting of config values, and
// that docker compose itself accepts the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "cli/cortex_command.h"
#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"
#include "engine/compose_file.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Models by repo id from the built-in table, so nothing needs to exist on disk.
constexpr const char* kConfig = R"(machine: {memory: 128GiB, gpu_pool: 110GiB, bandwidth: 256GB/s}
engines:
  fast:
    engine: vllm
    model: {path: /nonexistent/models/qwen-32b-awq, hf: Qwen/Qwen2.5-Coder-32B-Instruct, quant: awq}
    port: 8000
    budget: 30GiB
    flags: {max-model-len: 16384}
    env: {HIP_VISIBLE_DEVICES: "0", TRICKY: "say \"hi\" \\ $HOME\n- injected: true"}
  deep:
    engine: llama.cpp
    model:
      path: /models/gguf/nemotron.gguf
      hf: nvidia/Llama-3.1-Nemotron-8B-UltraLong-4M-Instruct
      quant: q4_k_m
    port: 8080
    budget: 40GiB
    launch: docker
    image: kyuz0/amd-strix-halo-toolboxes:vulkan-radv
    flags: {ctx-size: 200000, n-gpu-layers: 99, flash-attn: on, parallel: 1}
  toy: {engine: sim, model: /m.gguf, port: 8090, budget: 1GiB}
  remote: {engine: vllm, url: "http://10.0.0.9:8000"}
lanes:
  coder: {engine: fast}
  reader: {engine: deep}
)";

ComposeFile BuildFromText(const std::string& text) {
  StatusOr<Config> config = ParseConfig(text, "/etc/cortex/t.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return {};
  std::map<std::string, StatusOr<ModelInfo>> models;
  for (const EngineConfig& e : config->engines) {
    if (e.url.empty()) models.emplace(e.name, ResolveEngineModel(e, ""));
  }
  const DeploymentPlan plan = PlanDeployment(*config, "normal", models);
  ComposeOptions options;
  options.group_add = {"44", "992"};
  return BuildComposeFile(*config, plan, options);
}

std::vector<std::string> Strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const YAML::Node& item : list)
    out.push_back(item.as<std::string>());
  return out;
}

TEST(ComposeTest, OneServicePerLaunchedEngineWithTheExpectedKeys) {
  const ComposeFile file = BuildFromText(kConfig);
  EXPECT_TRUE(file.left_out.empty());
  const std::string text = RenderComposeFile(file);
  const YAML::Node root = YAML::Load(text);
  const YAML::Node services = root["services"];
  ASSERT_TRUE(services.IsMap()) << text;
  EXPECT_EQ(services.size(), 2u) << text;  // not the sim, not the one given by url
  EXPECT_FALSE(services["toy"]);
  EXPECT_FALSE(services["remote"]);
  EXPECT_THAT(text, HasSubstr("# toy: not a service: engine: sim is the simulator"));
  EXPECT_THAT(text, HasSubstr("# remote: not a service: given by url"));

  const YAML::Node deep = services["deep"];
  EXPECT_EQ(deep["image"].as<std::string>(), "kyuz0/amd-strix-halo-toolboxes:vulkan-radv");
  const std::vector<std::string> command = Strings(deep["command"]);
  ASSERT_GE(command.size(), 6u);
  // The image's entrypoint is llama-server: the command starts with its arguments.
  EXPECT_THAT(
      std::vector<std::string>(command.begin(), command.begin() + 6),
      ElementsAre("-m", "/models/gguf/nemotron.gguf", "--host", "0.0.0.0", "--port", "8080"));
  EXPECT_NE(std::find(command.begin(), command.end(), "--fit"), command.end());
  EXPECT_THAT(Strings(deep["devices"]), ElementsAre("/dev/kfd", "/dev/dri"));
  EXPECT_THAT(Strings(deep["group_add"]), ElementsAre("44", "992"));
  EXPECT_THAT(Strings(deep["ports"]), ElementsAre("127.0.0.1:8080:8080"));
  EXPECT_THAT(Strings(deep["volumes"]), ElementsAre("/models/gguf:/models/gguf:ro"));
  EXPECT_THAT(Strings(deep["security_opt"]), ElementsAre("seccomp=unconfined"));
  EXPECT_EQ(deep["restart"].as<std::string>(), "unless-stopped");
  EXPECT_FALSE(deep["ipc"]);
  EXPECT_FALSE(deep["environment"]);

  const YAML::Node fast = services["fast"];
  EXPECT_EQ(fast["image"].as<std::string>(), "vllm/vllm-openai-rocm:latest");
  const std::vector<std::string> vllm_command = Strings(fast["command"]);
  // The entrypoint is `vllm serve`: the command starts with the model. The directory does not
  // exist here, so vLLM is given the repo id and nothing is mounted.
  ASSERT_FALSE(vllm_command.empty());
  EXPECT_EQ(vllm_command.front(), "Qwen/Qwen2.5-Coder-32B-Instruct");
  EXPECT_NE(std::find(vllm_command.begin(), vllm_command.end(), "--kv-cache-memory-bytes"),
            vllm_command.end());
  EXPECT_FALSE(fast["volumes"]);
  EXPECT_EQ(fast["ipc"].as<std::string>(), "host");
  EXPECT_EQ(fast["environment"]["HIP_VISIBLE_DEVICES"].as<std::string>(), "0");
}

TEST(ComposeTest, ConfigValuesCannotChangeTheFilesStructure) {
  const std::string text = RenderComposeFile(BuildFromText(kConfig));
  const YAML::Node env = YAML::Load(text)["services"]["fast"]["environment"];
  ASSERT_TRUE(env.IsMap()) << text;
  EXPECT_EQ(env.size(), 2u);
  // `$` is doubled because compose interpolates $VAR; compose turns $$ back into $.
  EXPECT_EQ(env["TRICKY"].as<std::string>(), "say \"hi\" \\ $$HOME\n- injected: true");
  EXPECT_FALSE(env["injected"]);
}

TEST(ComposeTest, QuotingEscapesEverythingYamlOrComposeWouldInterpret) {
  EXPECT_EQ(QuoteComposeScalar("plain"), "\"plain\"");
  EXPECT_EQ(QuoteComposeScalar("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(QuoteComposeScalar("x\ny\tz\x01"), "\"x\\ny\\tz\\x01\"");
  EXPECT_EQ(QuoteComposeScalar("${HOME}"), "\"$${HOME}\"");
  EXPECT_EQ(QuoteComposeScalar("true"), "\"true\"");
  for (const std::string value : {"null", "~", "- a", "# c", "a: b", "{x}", "[1]", "*ref", "'q'"}) {
    EXPECT_EQ(YAML::Load("k: " + QuoteComposeScalar(value))["k"].as<std::string>(), value);
  }
}

TEST(ComposeTest, AnEngineThatCannotBePlannedIsLeftOutWithTheReason) {
  std::string text = kConfig;
  // A llama.cpp engine with only a repo id has no file to load.
  text.replace(text.find("      path: /models/gguf/nemotron.gguf\n"),
               std::string("      path: /models/gguf/nemotron.gguf\n").size(), "");
  const ComposeFile file = BuildFromText(text);
  ASSERT_EQ(file.left_out.size(), 1u);
  EXPECT_THAT(file.left_out[0], HasSubstr("deep: engines.deep: llama-server loads a GGUF file"));
  EXPECT_THAT(RenderComposeFile(file), HasSubstr("# deep: LEFT OUT: "));
  EXPECT_EQ(file.services.size(), 1u);
}

TEST(ComposeTest, NoEnginesToLaunchIsAnEmptyServicesMap) {
  const ComposeFile file = BuildFromText(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  toy: {engine: sim, model: /m.gguf, port: 8090, budget: 1GiB}
lanes:
  l: {engine: toy}
)");
  const YAML::Node root = YAML::Load(RenderComposeFile(file));
  EXPECT_TRUE(root["services"].IsMap());
  EXPECT_EQ(root["services"].size(), 0u);
}

bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

TEST(ComposeTest, DockerComposeAcceptsTheFile) {
  if (!OnPath("docker-compose")) {
    GTEST_SKIP() << "docker-compose is not on PATH (Debian package docker-compose; "
                    "scripts/install-deps.sh installs it)";
  }
  testing::TempDir dir;
  const std::string path = dir.File("docker-compose.yml");
  std::ofstream(path) << RenderComposeFile(BuildFromText(kConfig));
  const std::string cmd = "docker-compose -f " + path + " config -q >" + dir.File("err") + " 2>&1";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << testing::ReadWholeFile(dir.File("err")) << "\n"
      << testing::ReadWholeFile(path);
}

TEST(ComposeCommandTest, WritesTheFileAndExitsZeroWhenEveryEngineHasAService) {
  testing::TempDir dir;
  std::ofstream(dir.File("c.yaml")) << kConfig;
  const Result r = Cortex("compose -c " + dir.File("c.yaml") + " -o " + dir.File("out.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("wrote " + dir.File("out.yml") + " (2 services)"));
  const YAML::Node root = YAML::LoadFile(dir.File("out.yml"));
  EXPECT_TRUE(root["services"]["deep"]);
  EXPECT_TRUE(root["services"]["fast"]);

  const Result to_stdout = Cortex("compose -c " + dir.File("c.yaml"));
  EXPECT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, testing::ReadWholeFile(dir.File("out.yml")));
}

TEST(ComposeCommandTest, TheSeedConfigLeavesOutTheEngineVllmCannotServe) {
  const Result r =
      Cortex("compose -c " + std::string(CORTEX_SOURCE_DIR) + "/config/strix-halo.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("left out fast-rag-11b"));
  const YAML::Node services = YAML::Load(r.out)["services"];
  EXPECT_EQ(services.size(), 4u) << r.out;
}

TEST(ComposeCommandTest, HelpAndErrors) {
  const Result help = Cortex("compose --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("-o,--output"));
  EXPECT_EQ(Cortex("compose -c /nonexistent/c.yaml").exit_code, 2);
  testing::TempDir dir;
  std::ofstream(dir.File("c.yaml")) << kConfig;
  const Result r = Cortex("compose -c " + dir.File("c.yaml") + " -o /nonexistent/dir/out.yml");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("cannot write /nonexistent/dir/out.yml"));
}

}  // namespace
}  // namespace cortex
