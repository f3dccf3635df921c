// Valid configs and what they load into; profiles; environment overrides; reading files.
// Malformed configs are in config_errors_test.cpp.
#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/scoped_env.h"
#include "util/bytes.h"

namespace cortex {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// DESIGN.md's example with every optional key set. Columns in the comments of the tests below
// are counted in this text.
constexpr const char* kFullConfig = R"(# Reference deployment.
machine:
  memory: 128GiB
  gpu_pool: 110GiB
  bandwidth: 256GB/s
  bandwidth_efficiency: 0.82
  reserve: { os: 16GiB, backend: 4GiB }
profiles:
  burst: { description: "deep lane takes the pool" }
engines:
  fast-lane:
    engine: vllm
    model: { path: /models/r1-32b-awq, hf: deepseek-ai/DeepSeek-R1-Distill-Qwen-32B, quant: awq }
    binary: /opt/vllm/bin/vllm
    host: 127.0.0.2
    port: 8000
    budget: 44GiB
    flags: { max-model-len: 32768, gpu-memory-utilization: 0.4, enforce-eager: true }
  deep-lane:
    engine: llama.cpp
    model: /models/gguf/nemotron-8b-ultralong-q4_k_m.gguf
    port: 8080
    budget: 64GiB
    flags:
      ctx-size: 1000000
      n-gpu-layers: 99
      cache-type-k: q8_0
      flash-attn: on
      parallel: 1
    profiles:
      burst: { budget: 96GiB, flags: { ctx-size: 2000000, kv-unified: true }, pauses: [fast-lane] }
  sim-lane:
    engine: sim
    model: { hf: meta-llama/Llama-3.1-8B }
    port: 9000
    budget: 1.5GiB
lanes:
  orchestrator:
    engine: fast-lane
    aliases: [planner, default]
    targets: { context: 32768, tokens_per_s: [30, 50] }
  super-reader:
    engine: deep-lane
    targets: { context: [500000, 1000000], tokens_per_s: 2.5 }
  scratch: { engine: sim-lane }
gateway:
  listen: 0.0.0.0:4100
  admin_key: s3cret
)";

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.Unset("CORTEX_GATEWAY_LISTEN");
    env_.Unset("CORTEX_ADMIN_KEY");
  }

  // Parses text that must be valid; stops the test otherwise.
  Config MustParse(const std::string& yaml) {
    StatusOr<Config> config = ParseConfig(yaml, "t.yaml");
    EXPECT_TRUE(config.ok()) << config.status().message();
    if (!config.ok()) return Config{};
    return *config;
  }

  config_test::ScopedEnv env_;
};

// As llama-swap does: an engine without `port:` gets one, the same one on every load.
TEST_F(ConfigLoaderTest, AssignsFreePortsInFileOrderToEnginesWithoutOne) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
  b: {engine: llama.cpp, model: /m.gguf, port: 5801, budget: 10GiB}
  c: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
  d: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
  far: {engine: llama.cpp, url: "http://10.0.0.2:5803"}
lanes:
  l: {engine: a}
gateway: {listen: "127.0.0.1:5802"}
)");
  ASSERT_EQ(config.engines.size(), 5u);
  EXPECT_EQ(config.engines[0].port, 5800);
  EXPECT_TRUE(config.engines[0].port_assigned);
  EXPECT_EQ(config.engines[1].port, 5801);
  EXPECT_FALSE(config.engines[1].port_assigned);
  // 5802 is the gateway's and 5803 an external engine's.
  EXPECT_EQ(config.engines[2].port, 5804);
  EXPECT_EQ(config.engines[3].port, 5805);
  EXPECT_FALSE(config.engines[4].port_assigned);
}

TEST_F(ConfigLoaderTest, TakesAssignedPortsFromTheConfiguredRange) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
lanes:
  l: {engine: a}
supervisor: {engine_ports: 9100-9109}
)");
  EXPECT_EQ(config.supervisor.engine_port_first, 9100);
  EXPECT_EQ(config.supervisor.engine_port_last, 9109);
  EXPECT_EQ(config.engines[0].port, 9100);
}

TEST_F(ConfigLoaderTest, LoadsMachineSizesInBytes) {
  const Config config = MustParse(kFullConfig);

  EXPECT_EQ(config.path, "t.yaml");
  EXPECT_EQ(config.machine.memory_bytes, 128 * kGiB);
  EXPECT_EQ(config.machine.gpu_pool_bytes, 110 * kGiB);
  EXPECT_EQ(config.machine.bandwidth_bytes_per_s, 256'000'000'000ull);
  EXPECT_DOUBLE_EQ(config.machine.bandwidth_efficiency, 0.82);
  EXPECT_EQ(config.machine.reserve_os_bytes, 16 * kGiB);
  EXPECT_EQ(config.machine.reserve_backend_bytes, 4 * kGiB);
  EXPECT_EQ(config.machine.pos.line, 2);
  EXPECT_EQ(config.machine.pos.column, 1);
}

TEST_F(ConfigLoaderTest, LoadsEnginesInFileOrderWithAllFields) {
  const Config config = MustParse(kFullConfig);

  ASSERT_EQ(config.engines.size(), 3u);
  const EngineConfig& fast = config.engines[0];
  EXPECT_EQ(fast.name, "fast-lane");
  EXPECT_EQ(fast.kind, EngineKind::kVllm);
  EXPECT_EQ(fast.model.path, "/models/r1-32b-awq");
  EXPECT_EQ(fast.model.hf, "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B");
  EXPECT_EQ(fast.model.quant, "awq");
  EXPECT_EQ(fast.model.pos.line, 13);
  EXPECT_EQ(fast.model.pos.column, 12);
  EXPECT_EQ(fast.binary, "/opt/vllm/bin/vllm");
  EXPECT_EQ(fast.host, "127.0.0.2");
  EXPECT_EQ(fast.port, 8000);
  EXPECT_EQ(fast.budget_bytes, 44 * kGiB);
  EXPECT_TRUE(fast.profiles.empty());
  EXPECT_EQ(fast.pos.line, 11);
  EXPECT_EQ(fast.pos.column, 3);

  const EngineConfig& deep = config.engines[1];
  EXPECT_EQ(deep.name, "deep-lane");
  EXPECT_EQ(deep.kind, EngineKind::kLlamaCpp);
  EXPECT_EQ(deep.model.path, "/models/gguf/nemotron-8b-ultralong-q4_k_m.gguf");
  EXPECT_EQ(deep.model.hf, "");
  EXPECT_EQ(deep.host, "127.0.0.1");  // default
  EXPECT_EQ(deep.binary, "");
  EXPECT_EQ(deep.port, 8080);
  EXPECT_EQ(deep.budget_bytes, 64 * kGiB);

  const EngineConfig& sim = config.engines[2];
  EXPECT_EQ(sim.name, "sim-lane");
  EXPECT_EQ(sim.kind, EngineKind::kSim);
  EXPECT_EQ(sim.model.path, "");
  EXPECT_EQ(sim.model.hf, "meta-llama/Llama-3.1-8B");
  EXPECT_EQ(sim.budget_bytes, 3 * kGiB / 2);
}

TEST_F(ConfigLoaderTest, KeepsFlagsVerbatimWithKindsAndPositionsInFileOrder) {
  const Config config = MustParse(kFullConfig);
  ASSERT_EQ(config.engines.size(), 3u);

  std::vector<std::string> names;
  for (const auto& [name, value] : config.engines[1].flags)
    names.push_back(name);
  EXPECT_THAT(names,
              ElementsAre("ctx-size", "n-gpu-layers", "cache-type-k", "flash-attn", "parallel"));

  const FlagValue* ctx = FindFlag(config.engines[1].flags, "ctx-size");
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(ctx->kind, FlagValue::Kind::kInt);
  EXPECT_EQ(ctx->int_value, 1000000);
  EXPECT_EQ(ctx->text, "1000000");
  EXPECT_EQ(ctx->pos.line, 25);
  EXPECT_EQ(ctx->pos.column, 17);

  const FlagValue* cache = FindFlag(config.engines[1].flags, "cache-type-k");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->kind, FlagValue::Kind::kString);
  EXPECT_EQ(cache->text, "q8_0");

  // "on" stays a word: llama-server's flash-attn takes on|off|auto, not a boolean.
  const FlagValue* flash = FindFlag(config.engines[1].flags, "flash-attn");
  ASSERT_NE(flash, nullptr);
  EXPECT_EQ(flash->kind, FlagValue::Kind::kString);
  EXPECT_EQ(flash->text, "on");

  const FlagValue* util = FindFlag(config.engines[0].flags, "gpu-memory-utilization");
  ASSERT_NE(util, nullptr);
  EXPECT_EQ(util->kind, FlagValue::Kind::kFloat);
  EXPECT_DOUBLE_EQ(util->float_value, 0.4);
  EXPECT_EQ(util->text, "0.4");
  EXPECT_EQ(util->pos.line, 18);
  EXPECT_EQ(util->pos.column, 60);

  const FlagValue* eager = FindFlag(config.engines[0].flags, "enforce-eager");
  ASSERT_NE(eager, nullptr);
  EXPECT_EQ(eager->kind, FlagValue::Kind::kBool);
  EXPECT_TRUE(eager->bool_value);

  EXPECT_EQ(FindFlag(config.engines[0].flags, "ctx-size"), nullptr);
}

TEST_F(ConfigLoaderTest, ClassifiesFlagScalarsByTheirWholeText) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: sim
    model: /m
    port: 8080
    budget: 1GiB
    flags: {i: -12, f: 1e3, t: false, yes-word: yes, hex: 0x10, sep: 1_000, q: "42", e: ""}
lanes:
  l: {engine: a}
)");
  ASSERT_EQ(config.engines.size(), 1u);
  const FlagMap& flags = config.engines[0].flags;
  ASSERT_EQ(flags.size(), 8u);
  auto kind = [&](const char* name) { return FindFlag(flags, name)->kind; };
  EXPECT_EQ(kind("i"), FlagValue::Kind::kInt);
  EXPECT_EQ(FindFlag(flags, "i")->int_value, -12);
  EXPECT_EQ(kind("f"), FlagValue::Kind::kFloat);
  EXPECT_DOUBLE_EQ(FindFlag(flags, "f")->float_value, 1000.0);
  EXPECT_EQ(kind("t"), FlagValue::Kind::kBool);
  EXPECT_FALSE(FindFlag(flags, "t")->bool_value);
  EXPECT_EQ(kind("yes-word"), FlagValue::Kind::kString);
  EXPECT_EQ(kind("hex"), FlagValue::Kind::kString);
  EXPECT_EQ(kind("sep"), FlagValue::Kind::kString);
  // The kind follows the text, quoted or not, so a quoted number still reads as one.
  EXPECT_EQ(kind("q"), FlagValue::Kind::kInt);
  EXPECT_EQ(kind("e"), FlagValue::Kind::kString);
  EXPECT_EQ(FindFlag(flags, "e")->text, "");
}

TEST_F(ConfigLoaderTest, PassesUnknownFlagsOfEveryEngineKindThrough) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 1GiB
    flags: {mlock: true, ctx-size: 0}
  b:
    engine: vllm
    model: /m
    port: 8081
    budget: 1GiB
    flags: {max-model-len: auto, served-model-name: x}
lanes:
  l: {engine: a}
)");
  ASSERT_EQ(config.engines.size(), 2u);
  EXPECT_EQ(config.engines[0].flags.size(), 2u);
  EXPECT_EQ(FindFlag(config.engines[1].flags, "max-model-len")->text, "auto");
  EXPECT_EQ(FindFlag(config.engines[1].flags, "served-model-name")->text, "x");
}

TEST_F(ConfigLoaderTest, LoadsEngineProfilesAndDeclarations) {
  const Config config = MustParse(kFullConfig);

  ASSERT_EQ(config.profiles.size(), 1u);
  EXPECT_EQ(config.profiles[0].name, "burst");
  EXPECT_EQ(config.profiles[0].description, "deep lane takes the pool");
  EXPECT_EQ(config.profiles[0].pos.line, 9);

  ASSERT_EQ(config.engines.size(), 3u);
  ASSERT_EQ(config.engines[1].profiles.size(), 1u);
  const EngineProfile& burst = config.engines[1].profiles[0];
  EXPECT_EQ(burst.name, "burst");
  ASSERT_TRUE(burst.budget_bytes.has_value());
  EXPECT_EQ(*burst.budget_bytes, 96 * kGiB);
  ASSERT_EQ(burst.flags.size(), 2u);
  EXPECT_EQ(burst.flags[0].first, "ctx-size");
  EXPECT_EQ(burst.flags[0].second.int_value, 2000000);
  EXPECT_THAT(burst.pauses, ElementsAre("fast-lane"));
  EXPECT_EQ(burst.pos.line, 31);
  EXPECT_EQ(burst.pos.column, 7);
}

TEST_F(ConfigLoaderTest, LoadsLanesWithAliasesAndTargetRanges) {
  const Config config = MustParse(kFullConfig);

  ASSERT_EQ(config.lanes.size(), 3u);
  const LaneConfig& orchestrator = config.lanes[0];
  EXPECT_EQ(orchestrator.name, "orchestrator");
  EXPECT_EQ(orchestrator.engine, "fast-lane");
  EXPECT_THAT(orchestrator.aliases, ElementsAre("planner", "default"));
  ASSERT_TRUE(orchestrator.context.has_value());
  EXPECT_EQ(orchestrator.context->min, 32768);
  EXPECT_EQ(orchestrator.context->max, 32768);
  ASSERT_TRUE(orchestrator.tokens_per_s.has_value());
  EXPECT_EQ(orchestrator.tokens_per_s->min, 30);
  EXPECT_EQ(orchestrator.tokens_per_s->max, 50);
  EXPECT_EQ(orchestrator.pos.line, 38);

  const LaneConfig& reader = config.lanes[1];
  EXPECT_EQ(reader.name, "super-reader");
  ASSERT_TRUE(reader.context.has_value());
  EXPECT_EQ(reader.context->min, 500000);
  EXPECT_EQ(reader.context->max, 1000000);
  ASSERT_TRUE(reader.tokens_per_s.has_value());
  EXPECT_DOUBLE_EQ(reader.tokens_per_s->min, 2.5);
  EXPECT_DOUBLE_EQ(reader.tokens_per_s->max, 2.5);

  const LaneConfig& scratch = config.lanes[2];
  EXPECT_EQ(scratch.engine, "sim-lane");
  EXPECT_TRUE(scratch.aliases.empty());
  EXPECT_FALSE(scratch.context.has_value());
  EXPECT_FALSE(scratch.tokens_per_s.has_value());
}

TEST_F(ConfigLoaderTest, LoadsGateway) {
  const Config config = MustParse(kFullConfig);

  EXPECT_EQ(config.gateway.listen, "0.0.0.0:4100");
  EXPECT_EQ(config.gateway.admin_key, "s3cret");
  EXPECT_EQ(config.gateway.pos.line, 46);
}

constexpr const char* kMinimalConfig = R"(machine: {memory: 64GiB, bandwidth: 210GiB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)";

TEST_F(ConfigLoaderTest, ReadsComputeWithUnitsOrAsAPlainNumber) {
  const std::pair<const char*, double> cases[] = {{"59.4TFLOPS", 59.4e12}, {"59TFLOPS", 59e12},
                                                  {"900 GFLOPS", 900e9},   {"1.2PFLOPS", 1.2e15},
                                                  {"5.94e13", 5.94e13},    {"0", 0}};
  for (const auto& [text, flops] : cases) {
    const Config config = MustParse(fmt::format(R"(machine:
  memory: 64GiB
  bandwidth: 210GiB/s
  compute: {}
  compute_efficiency: 0.4
  attention_efficiency: 0.1
engines:
  a: {{engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}}
lanes:
  l: {{engine: a}}
)",
                                                text));
    EXPECT_DOUBLE_EQ(config.machine.compute_flops, flops) << text;
    EXPECT_DOUBLE_EQ(config.machine.compute_efficiency, 0.4);
    EXPECT_DOUBLE_EQ(config.machine.attention_efficiency, 0.1);
  }
}

TEST_F(ConfigLoaderTest, FillsDefaultsForOptionalKeys) {
  const Config config = MustParse(kMinimalConfig);

  EXPECT_EQ(config.machine.gpu_pool_bytes, 64 * kGiB);  // = memory
  EXPECT_EQ(config.machine.bandwidth_bytes_per_s, 210 * kGiB);
  EXPECT_DOUBLE_EQ(config.machine.bandwidth_efficiency, 0.8);
  EXPECT_EQ(config.machine.compute_flops, 0);  // unknown: no prefill times
  EXPECT_DOUBLE_EQ(config.machine.compute_efficiency, 0.35);
  EXPECT_DOUBLE_EQ(config.machine.attention_efficiency, 0.07);
  EXPECT_EQ(config.machine.reserve_os_bytes, 0u);
  EXPECT_EQ(config.machine.reserve_backend_bytes, 0u);
  EXPECT_TRUE(config.profiles.empty());
  EXPECT_EQ(config.gateway.listen, "127.0.0.1:4000");
  EXPECT_EQ(config.gateway.admin_key, "");
  EXPECT_EQ(config.gateway.pos.line, 0);  // not in the file
}

TEST_F(ConfigLoaderTest, AcceptsEngineProfilesWithoutTopLevelDeclarations) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles: {anything: {budget: 20GiB}}
lanes:
  l: {engine: a}
)");
  ASSERT_EQ(config.engines.size(), 1u);
  ASSERT_EQ(config.engines[0].profiles.size(), 1u);
  EXPECT_EQ(config.engines[0].profiles[0].name, "anything");
}

TEST_F(ConfigLoaderTest, FindsEnginesAndLanesByNameAndLanesByAlias) {
  const Config config = MustParse(kFullConfig);

  ASSERT_NE(config.FindEngine("deep-lane"), nullptr);
  EXPECT_EQ(config.FindEngine("deep-lane")->port, 8080);
  EXPECT_EQ(config.FindEngine("deep"), nullptr);
  ASSERT_NE(config.FindLane("super-reader"), nullptr);
  EXPECT_EQ(config.FindLane("super-reader")->engine, "deep-lane");
  ASSERT_NE(config.FindLane("planner"), nullptr);
  EXPECT_EQ(config.FindLane("planner")->name, "orchestrator");
  EXPECT_EQ(config.FindLane("fast-lane"), nullptr);
}

TEST(EngineKindNameTest, NamesEachKindAsWrittenInConfigs) {
  EXPECT_EQ(EngineKindName(EngineKind::kLlamaCpp), "llama.cpp");
  EXPECT_EQ(EngineKindName(EngineKind::kVllm), "vllm");
  EXPECT_EQ(EngineKindName(EngineKind::kSim), "sim");
}

// ApplyProfile.

TEST_F(ConfigLoaderTest, ApplyProfileReplacesBudgetAndMergesFlagsInPlace) {
  const Config config = MustParse(kFullConfig);
  ASSERT_EQ(config.engines.size(), 3u);

  const EngineConfig burst = ApplyProfile(config.engines[1], "burst");

  EXPECT_EQ(burst.budget_bytes, 96 * kGiB);
  std::vector<std::string> names;
  for (const auto& [name, value] : burst.flags)
    names.push_back(name);
  // The overridden flag keeps its place; a new one goes last.
  EXPECT_THAT(names, ElementsAre("ctx-size", "n-gpu-layers", "cache-type-k", "flash-attn",
                                 "parallel", "kv-unified"));
  EXPECT_EQ(FindFlag(burst.flags, "ctx-size")->int_value, 2000000);
  EXPECT_EQ(FindFlag(burst.flags, "ctx-size")->text, "2000000");
  EXPECT_EQ(FindFlag(burst.flags, "n-gpu-layers")->int_value, 99);
  EXPECT_EQ(burst.name, "deep-lane");
  EXPECT_EQ(burst.port, 8080);
}

TEST_F(ConfigLoaderTest, ApplyProfileWithoutBudgetKeepsTheEngineBudget) {
  const Config config = MustParse(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {ctx-size: 4096}
    profiles: {long: {flags: {ctx-size: 8192}}}
lanes:
  l: {engine: a}
)");
  ASSERT_EQ(config.engines.size(), 1u);

  const EngineConfig longer = ApplyProfile(config.engines[0], "long");

  EXPECT_EQ(longer.budget_bytes, 10 * kGiB);
  ASSERT_EQ(longer.flags.size(), 1u);
  EXPECT_EQ(longer.flags[0].second.int_value, 8192);
}

TEST_F(ConfigLoaderTest, ApplyProfileLeavesEngineUnchangedForNoOrUnknownProfile) {
  const Config config = MustParse(kFullConfig);
  ASSERT_EQ(config.engines.size(), 3u);
  const EngineConfig& deep = config.engines[1];

  for (const char* profile : {"", "normal", "turbo"}) {
    SCOPED_TRACE(profile);
    const EngineConfig same = ApplyProfile(deep, profile);
    EXPECT_EQ(same.budget_bytes, 64 * kGiB);
    ASSERT_EQ(same.flags.size(), deep.flags.size());
    EXPECT_EQ(FindFlag(same.flags, "ctx-size")->int_value, 1000000);
    EXPECT_EQ(FindFlag(same.flags, "kv-unified"), nullptr);
  }
  // An engine without the profile is not changed by another engine's profile of that name.
  EXPECT_EQ(ApplyProfile(config.engines[0], "burst").budget_bytes, 44 * kGiB);
}

// Environment overrides.

TEST_F(ConfigLoaderTest, EnvironmentOverridesGatewayListenAndAdminKey) {
  env_.Set("CORTEX_GATEWAY_LISTEN", "0.0.0.0:4500");
  env_.Set("CORTEX_ADMIN_KEY", "from-env");

  const Config config = MustParse(kFullConfig);

  EXPECT_EQ(config.gateway.listen, "0.0.0.0:4500");
  EXPECT_EQ(config.gateway.admin_key, "from-env");
}

TEST_F(ConfigLoaderTest, EmptyEnvironmentVariablesDoNotOverride) {
  env_.Set("CORTEX_GATEWAY_LISTEN", "");
  env_.Set("CORTEX_ADMIN_KEY", "");

  const Config config = MustParse(kFullConfig);

  EXPECT_EQ(config.gateway.listen, "0.0.0.0:4100");
  EXPECT_EQ(config.gateway.admin_key, "s3cret");
}

TEST_F(ConfigLoaderTest, RejectsInvalidListenFromEnvironmentNamingTheVariable) {
  env_.Set("CORTEX_GATEWAY_LISTEN", "4000");

  StatusOr<Config> config = ParseConfig(kMinimalConfig, "t.yaml");

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "CORTEX_GATEWAY_LISTEN: expected host:port with a port between 1 and 65535, such as "
            "127.0.0.1:4000, got \"4000\"");
}

TEST_F(ConfigLoaderTest, ChecksEnginePortsAgainstTheOverriddenGatewayPort) {
  env_.Set("CORTEX_GATEWAY_LISTEN", "0.0.0.0:8080");

  StatusOr<Config> config = ParseConfig(kMinimalConfig, "t.yaml");

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "t.yaml:3:48: engines.a.port: port 8080 is the gateway's "
            "(CORTEX_GATEWAY_LISTEN=0.0.0.0:8080)");
}

TEST_F(ConfigLoaderTest, OverriddenGatewayPortFreesTheFilesGatewayPort) {
  env_.Set("CORTEX_GATEWAY_LISTEN", "127.0.0.1:9999");

  const Config config = MustParse(R"(machine: {memory: 64GiB, bandwidth: 210GiB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 4000, budget: 10GiB}
lanes:
  l: {engine: a}
)");

  EXPECT_EQ(config.gateway.listen, "127.0.0.1:9999");
}

// Reading files.

class ConfigFileTest : public ConfigLoaderTest {
 protected:
  void TearDown() override {
    if (!path_.empty()) std::remove(path_.c_str());
  }

  std::string Write(const std::string& text) {
    path_ = ::testing::TempDir() + "cortex_config_test_" + std::to_string(getpid()) + ".yaml";
    std::ofstream(path_) << text;
    return path_;
  }

  std::string path_;
};

TEST_F(ConfigFileTest, LoadsAFileAndRecordsItsPath) {
  const std::string path = Write(kMinimalConfig);

  StatusOr<Config> config = LoadConfig(path);

  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->path, path);
  EXPECT_EQ(config->engines.size(), 1u);
}

TEST_F(ConfigFileTest, PrefixesErrorsWithTheFilePath) {
  const std::string path = Write("machine: [1]\n");

  StatusOr<Config> config = LoadConfig(path);

  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path + ":1:10: machine: expected a map"));
}

TEST_F(ConfigFileTest, ReturnsNotFoundForAMissingFile) {
  StatusOr<Config> config = LoadConfig(::testing::TempDir() + "no-such-cortex-config.yaml");

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("no-such-cortex-config.yaml"));
}

TEST_F(ConfigFileTest, ReturnsIoErrorForADirectory) {
  StatusOr<Config> config = LoadConfig(::testing::TempDir());

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kIoError);
}

}  // namespace
}  // namespace cortex
