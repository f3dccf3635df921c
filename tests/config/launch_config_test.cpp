// The keys that say how engines are launched (env, launch, pinned, image, load_seconds) and the
// `supervisor` section: what valid values load into, and the line:column of each bad one.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/scoped_env.h"

namespace cortex {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class LaunchConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.Unset("CORTEX_GATEWAY_LISTEN");
    env_.Unset("CORTEX_ADMIN_KEY");
  }

 private:
  config_test::ScopedEnv env_;
};

constexpr const char* kHead = R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
lanes:
  l: {engine: a}
)";

StatusOr<Config> Parse(const std::string& rest) {
  return ParseConfig(std::string(kHead) + rest, "t.yaml");
}

// The config's message for `rest` (after kHead's three lines), or "" when it loads.
std::string Error(const std::string& rest) {
  StatusOr<Config> config = Parse(rest);
  return config.ok() ? "" : config.status().message();
}

TEST_F(LaunchConfigTest, EngineLaunchKeysLoadInFileOrder) {
  StatusOr<Config> config = Parse(R"(engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    env: { HSA_OVERRIDE_GFX_VERSION: "11.5.1", AMD_VULKAN_ICD: RADV, N_1: 4 }
    launch: docker
    pinned: true
    image: kyuz0/amd-strix-halo-toolboxes:vulkan-radv
    load_seconds: 90s
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const EngineConfig& a = config->engines[0];
  EXPECT_THAT(a.env, ElementsAre(Pair("HSA_OVERRIDE_GFX_VERSION", "11.5.1"),
                                 Pair("AMD_VULKAN_ICD", "RADV"), Pair("N_1", "4")));
  EXPECT_EQ(a.launch, LaunchKind::kDocker);
  EXPECT_TRUE(a.pinned);
  EXPECT_EQ(a.image, "kyuz0/amd-strix-halo-toolboxes:vulkan-radv");
  EXPECT_EQ(a.load_seconds, 90.0);
}

TEST_F(LaunchConfigTest, EngineLaunchKeysDefaultToAProcessWithTheKindsImage) {
  StatusOr<Config> config = Parse(R"(engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
  b: {engine: vllm, model: /m, port: 8081, budget: 10GiB}
  c: {engine: sim, model: /m.gguf, port: 8082, budget: 10GiB}
  d: {engine: vllm, url: "http://10.0.0.2:8000"}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const EngineConfig& a = config->engines[0];
  EXPECT_TRUE(a.env.empty());
  EXPECT_EQ(a.launch, LaunchKind::kProcess);
  EXPECT_FALSE(a.pinned);
  EXPECT_FALSE(a.load_seconds.has_value());
  EXPECT_EQ(a.image, "ghcr.io/ggml-org/llama.cpp:server-vulkan");
  EXPECT_EQ(config->engines[1].image, "vllm/vllm-openai-rocm:latest");
  EXPECT_EQ(config->engines[2].image, "");
  EXPECT_EQ(config->engines[3].image, "");  // given by url: not launched
}

TEST_F(LaunchConfigTest, BadEngineLaunchKeysPointAtTheirValue) {
  struct Case {
    std::string engine_line;  // written as line 5, `  a: {...}` with the key at the end
    std::string message;
  };
  const std::string base = "  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 1GiB, ";
  // Column of the value after "<key>: " at the end of `base`.
  auto col = [&](std::string_view key) { return base.size() + key.size() + 3; };
  const std::vector<Case> cases = {
      {"launch: podman}", fmt::format("t.yaml:5:{}: engines.a.launch: expected process or "
                                      "docker, got \"podman\"",
                                      col("launch"))},
      {"pinned: yes}", fmt::format("t.yaml:5:{}: engines.a.pinned: expected true or false, got "
                                   "\"yes\"",
                                   col("pinned"))},
      {"pinned: \"true\"}", fmt::format("t.yaml:5:{}: engines.a.pinned: expected true or "
                                        "false, got \"true\"",
                                        col("pinned"))},
      {"image: \"\"}", fmt::format("t.yaml:5:{}: engines.a.image: expected an image such as "
                                   "ghcr.io/ggml-org/llama.cpp:server-vulkan, got \"\"",
                                   col("image"))},
      {"load_seconds: -1}",
       fmt::format("t.yaml:5:{}: engines.a.load_seconds: expected a duration between 0 and "
                   "86400 seconds (such as 30, 30s, 5m or 500ms), got -1",
                   col("load_seconds"))},
      {"load_seconds: 2 min}",
       fmt::format("t.yaml:5:{}: engines.a.load_seconds: expected a duration between 0 and "
                   "86400 seconds (such as 30, 30s, 5m or 500ms), got \"2 min\"",
                   col("load_seconds"))},
      {"env: [A]}",
       fmt::format("t.yaml:5:{}: engines.a.env: expected a map, got a list", col("env"))},
      {"env: {1ABC: x}}",
       fmt::format("t.yaml:5:{}: engines.a.env: expected a variable name of letters, digits and "
                   "'_', not starting with a digit, got \"1ABC\"",
                   col("env") + 1)},
      {"env: {A-B: x}}",
       fmt::format("t.yaml:5:{}: engines.a.env: expected a variable name of letters, digits and "
                   "'_', not starting with a digit, got \"A-B\"",
                   col("env") + 1)},
      {"env: {A: [1]}}", fmt::format("t.yaml:5:{}: engines.a.env.A: expected a scalar value "
                                     "(quote it to keep it a string), got a list",
                                     col("env") + 4)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Error("engines:\n" + base + c.engine_line + "\n"), c.message) << c.engine_line;
  }
}

TEST_F(LaunchConfigTest, DuplicateEnvKeysAreErrors) {
  EXPECT_EQ(Error(R"(engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 1GiB
    env:
      A: 1
      A: 2
)"),
            "t.yaml:12:7: duplicate key \"A\" in engines.a.env (first at line 11)");
}

TEST_F(LaunchConfigTest, SimRunsOnlyAsAProcessWithoutAnImage) {
  EXPECT_EQ(Error(R"(engines:
  a:
    engine: sim
    model: /m.gguf
    port: 8080
    budget: 1GiB
    launch: docker
    image: x
)"),
            "t.yaml:10:13: engines.a.launch: the simulator (engine: sim) runs as a process; "
            "launch: docker is for llama.cpp and vllm\n"
            "t.yaml:11:5: engines.a.image: the simulator (engine: sim) never runs in a "
            "container, so it takes no image");
}

TEST_F(LaunchConfigTest, AnEngineGivenByUrlTakesNoLaunchKeys) {
  EXPECT_EQ(Error(R"(engines:
  a:
    engine: vllm
    url: http://10.0.0.2:8000
    pinned: true
    env: {A: b}
)"),
            "t.yaml:8:5: engines.a.pinned: an engine with a url runs elsewhere and is not "
            "launched, so it takes no pinned\n"
            "t.yaml:9:5: engines.a.env: an engine with a url runs elsewhere and is not "
            "launched, so it takes no env");
}

TEST_F(LaunchConfigTest, SupervisorDefaultsWhenAbsent) {
  StatusOr<Config> config =
      Parse("engines:\n  a: {engine: sim, model: /m, port: 8080, budget: 1GiB}\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const SupervisorConfig& s = config->supervisor;
  EXPECT_EQ(s.drain_timeout_s, 30);
  EXPECT_EQ(s.stop_timeout_s, 10);
  EXPECT_EQ(s.ready_timeout_s, 600);
  EXPECT_EQ(s.restart_backoff_s, 1);
  EXPECT_EQ(s.restart_backoff_max_s, 30);
  EXPECT_EQ(s.max_restarts, 5);
  EXPECT_EQ(s.restart_window_s, 300);
  EXPECT_EQ(s.load_wait_s, 120);
  EXPECT_EQ(s.log_dir, "");
  EXPECT_EQ(s.log_max_bytes, 10u << 20);
  EXPECT_EQ(s.log_files, 3);
  EXPECT_DOUBLE_EQ(s.memory_drift, 0.15);
}

TEST_F(LaunchConfigTest, SupervisorReadsDurationsWithUnits) {
  StatusOr<Config> config = Parse(R"(engines:
  a: {engine: sim, model: /m, port: 8080, budget: 1GiB}
supervisor:
  drain_timeout: 1m
  stop_timeout: 2.5s
  ready_timeout: 1h
  restart_backoff: 500ms
  restart_backoff_max: 60
  max_restarts: 0
  restart_window: 10m
  load_wait: 90s
  log_dir: /var/log/cortex
  log_max_size: 1MiB
  log_files: 7
  memory_drift: 0.3
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const SupervisorConfig& s = config->supervisor;
  EXPECT_EQ(s.drain_timeout_s, 60);
  EXPECT_EQ(s.stop_timeout_s, 2.5);
  EXPECT_EQ(s.ready_timeout_s, 3600);
  EXPECT_DOUBLE_EQ(s.restart_backoff_s, 0.5);
  EXPECT_EQ(s.restart_backoff_max_s, 60);
  EXPECT_EQ(s.max_restarts, 0);
  EXPECT_EQ(s.restart_window_s, 600);
  EXPECT_EQ(s.load_wait_s, 90);
  EXPECT_EQ(s.log_dir, "/var/log/cortex");
  EXPECT_EQ(s.log_max_bytes, 1u << 20);
  EXPECT_EQ(s.log_files, 7);
  EXPECT_DOUBLE_EQ(s.memory_drift, 0.3);
  EXPECT_EQ(s.pos.line, 6);
}

TEST_F(LaunchConfigTest, ABackoffAboveTheDefaultCapRaisesTheCap) {
  StatusOr<Config> config = Parse(R"(engines:
  a: {engine: sim, model: /m, port: 8080, budget: 1GiB}
supervisor: {restart_backoff: 45s}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->supervisor.restart_backoff_max_s, 45);
}

TEST_F(LaunchConfigTest, BadSupervisorValuesPointAtTheirValue) {
  const std::string engines = "engines:\n  a: {engine: sim, model: /m, port: 8080, budget: 1GiB}\n";
  struct Case {
    std::string line;  // line 6, "supervisor: {...}"
    std::string message;
  };
  const std::vector<Case> cases = {
      {"supervisor: {drain_timeout: soon}",
       "t.yaml:6:29: supervisor.drain_timeout: expected a duration between 0 and 86400 seconds "
       "(such as 30, 30s, 5m or 500ms), got \"soon\""},
      {"supervisor: {ready_timeout: 0}",
       "t.yaml:6:29: supervisor.ready_timeout: expected a duration between 1 and 86400 seconds "
       "(such as 30, 30s, 5m or 500ms), got 0"},
      {"supervisor: {restart_backoff: 10s, restart_backoff_max: 5s}",
       "t.yaml:6:57: supervisor.restart_backoff_max: expected a duration between 10 and 86400 "
       "seconds (such as 30, 30s, 5m or 500ms), got \"5s\""},
      {"supervisor: {max_restarts: -1}",
       "t.yaml:6:28: supervisor.max_restarts: expected an integer between 0 and 1000, got -1"},
      {"supervisor: {log_max_size: 1KiB}",
       "t.yaml:6:28: supervisor.log_max_size: expected a size between 64KiB and 64GiB, got 1KiB"},
      {"supervisor: {log_files: 0}",
       "t.yaml:6:25: supervisor.log_files: expected an integer between 1 and 100, got 0"},
      {"supervisor: {memory_drift: 15%}",
       "t.yaml:6:28: supervisor.memory_drift: expected a fraction greater than 0 and at most 1, "
       "such as 0.15, got \"15%\""},
      {"supervisor: {log_dir: \"\"}",
       "t.yaml:6:23: supervisor.log_dir: expected a directory, got \"\" (leave the key out for "
       "the default)"},
      {"supervisor: {drain_timeot: 1}",
       "t.yaml:6:14: unknown key \"drain_timeot\" in supervisor; expected one of: drain_timeout, "
       "stop_timeout, ready_timeout, restart_backoff, restart_backoff_max, max_restarts, "
       "restart_window, load_wait, log_dir, log_max_size, log_files, memory_drift, engine_ports; "
       "did you mean "
       "\"drain_timeout\"?"},
      {"supervisor: [1]", "t.yaml:6:13: supervisor: expected a map, got a list"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Error(engines + c.line + "\n"), c.message) << c.line;
  }
}

TEST_F(LaunchConfigTest, GatewayAndLaneDurationsAlsoTakeUnits) {
  StatusOr<Config> config = Parse(R"(engines:
  a: {engine: sim, model: /m, port: 8080, budget: 1GiB}
gateway: {probe_interval: 250ms, idle_timeout: 2m}
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_DOUBLE_EQ(config->gateway.probe_interval_s, 0.25);
  EXPECT_EQ(config->gateway.idle_timeout_s, 120);
}

TEST_F(LaunchConfigTest, TheSeedConfigStillLoads) {
  StatusOr<Config> config = LoadConfig(std::string(CORTEX_SOURCE_DIR) + "/config/strix-halo.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  for (const EngineConfig& e : config->engines) {
    EXPECT_EQ(e.launch, LaunchKind::kProcess) << e.name;
    EXPECT_FALSE(e.image.empty()) << e.name;
  }
}

}  // namespace
}  // namespace cortex
