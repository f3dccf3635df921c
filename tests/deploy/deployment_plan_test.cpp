#include "deploy/deployment_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/config_loader.h"
#include "deploy/engine_models.h"

namespace cortex {
namespace {

struct Planned {
  Config config;
  DeploymentPlan plan;
};

Planned PlanFile(const std::string& path, const std::string& profile) {
  auto config = LoadConfig(path);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  std::map<std::string, StatusOr<ModelInfo>> models;
  for (const EngineConfig& e : config->engines)
    models.emplace(e.name, ResolveEngineModel(e, ""));
  DeploymentPlan plan = PlanDeployment(*config, profile, models);
  return {*config, plan};
}

Planned PlanYaml(const std::string& yaml, const std::string& profile = "normal") {
  auto config = ParseConfig(yaml, "t.yaml");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  std::map<std::string, StatusOr<ModelInfo>> models;
  for (const EngineConfig& e : config->engines)
    models.emplace(e.name, ResolveEngineModel(e, ""));
  return {*config, PlanDeployment(*config, profile, models)};
}

// The first finding about `who` (engine or lane) whose message contains every fragment.
const Finding* Find(const DeploymentPlan& plan, Severity severity, const std::string& who,
                    std::initializer_list<std::string> fragments) {
  for (const Finding& f : plan.findings) {
    if (f.severity != severity || (f.engine != who && f.lane != who)) continue;
    if (std::all_of(fragments.begin(), fragments.end(),
                    [&](const std::string& s) { return f.message.find(s) != std::string::npos; })) {
      return &f;
    }
  }
  return nullptr;
}

std::string Dump(const DeploymentPlan& plan) {
  std::string out;
  for (const Finding& f : plan.findings) {
    out += std::string(SeverityName(f.severity)) + " " + f.engine + "/" + f.lane + ": " +
           f.message + "\n";
  }
  return out;
}

const std::string kSeed = std::string(CORTEX_SOURCE_DIR) + "/config/strix-halo.yaml";

TEST(SeedDeploymentTest, DoesNotFitAndSaysSo) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  EXPECT_FALSE(plan.fits);
  EXPECT_EQ(plan.engines.size(), 5u);
  EXPECT_EQ(plan.lanes.size(), 5u);
  // Budgets plus reserves exceed the machine.
  EXPECT_NE(Find(plan, Severity::kError, "", {"144.00 GiB", "128.00 GiB"}), nullptr) << Dump(plan);
}

TEST(SeedDeploymentTest, NamesTheMillionTokenContextThatDoesNotFitSixtyFourGiB) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  // "4M context in ~58 GB" cannot be: even 1M at K q8_0 / V f16 needs 93 GiB.
  EXPECT_NE(Find(plan, Severity::kError, "deep-lane",
                 {"ctx-size 1,000,192", "K q8_0 / V f16", "93.48 GiB", "100,352 B per token",
                  "holds 616,448 tokens"}),
            nullptr)
      << Dump(plan);
  EXPECT_NE(Find(plan, Severity::kInfo, "deep-lane", {"K q4_0 / V q4_0: 1,622,272"}), nullptr);
}

TEST(SeedDeploymentTest, BurstProfileShowsFourMillionTokensNeed374GiB) {
  const DeploymentPlan plan = PlanFile(kSeed, "burst").plan;
  EXPECT_EQ(plan.profile, "burst");
  EXPECT_FALSE(plan.fits);
  EXPECT_NE(
      Find(plan, Severity::kError, "deep-lane",
           {"ctx-size 4,000,000", "373.84 GiB", "its 96.00 GiB budget", "holds 951,808 tokens"}),
      nullptr)
      << Dump(plan);
  // Service A is paused: its lanes are unavailable, and its engines hold no memory.
  EXPECT_NE(Find(plan, Severity::kWarning, "orchestrator", {"paused"}), nullptr);
  const auto fast = std::find_if(plan.engines.begin(), plan.engines.end(),
                                 [](const EnginePlan& e) { return e.name == "orchestrator-32b"; });
  ASSERT_NE(fast, plan.engines.end());
  EXPECT_FALSE(fast->resident);
  EXPECT_EQ(plan.machine.budgets_bytes, (96ull + 8) << 30);
}

TEST(SeedDeploymentTest, ThirtyToFiftyTokensPerSecondFromA32BModelIsImpossible) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  const Finding* f =
      Find(plan, Severity::kError, "orchestrator", {"wants 30–50 tokens/s", "256 GB/s × 0.80"});
  ASSERT_NE(f, nullptr) << Dump(plan);
  const auto lane = std::find_if(plan.lanes.begin(), plan.lanes.end(),
                                 [](const LanePlan& l) { return l.name == "orchestrator"; });
  ASSERT_NE(lane, plan.lanes.end());
  EXPECT_LT(lane->decode_tokens_per_s_bound, 12.0);
  EXPECT_FALSE(lane->fits);
}

TEST(SeedDeploymentTest, FlagsModelsAndContextsTheEnginesCannotServe) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  EXPECT_NE(Find(plan, Severity::kError, "fast-rag-11b", {"Mllama", "24907"}), nullptr)
      << Dump(plan);
  EXPECT_NE(Find(plan, Severity::kError, "governance", {"200,000", "trained on 4,096"}), nullptr);
  EXPECT_NE(Find(plan, Severity::kError, "coder", {"trained on 32,768"}), nullptr);
  // Two 32B models in Service A's 44 GiB leave no room for a 32K context.
  EXPECT_NE(Find(plan, Severity::kError, "orchestrator-32b",
                 {"max-model-len 32,768", "refuses to start"}),
            nullptr);
}

TEST(SeedDeploymentTest, DerivesVllmFlagsFromTheBudget) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  const auto e = std::find_if(plan.engines.begin(), plan.engines.end(),
                              [](const EnginePlan& x) { return x.name == "coder-32b"; });
  ASSERT_NE(e, plan.engines.end());
  const auto util = std::find_if(e->server_flags.begin(), e->server_flags.end(),
                                 [](const auto& f) { return f.first == "gpu-memory-utilization"; });
  ASSERT_NE(util, e->server_flags.end());
  EXPECT_EQ(util->second, "0.200");  // 22 GiB of a 110 GiB pool, not the seed's 0.45 or 0.40
}

const char kSmall[] = R"(machine:
  memory: 128GiB
  gpu_pool: 110GiB
  bandwidth: 256GB/s
  reserve: { os: 16GiB, backend: 4GiB }
engines:
  small:
    engine: llama.cpp
    model: { hf: Qwen/Qwen2.5-0.5B-Instruct, quant: q8_0 }
    port: 8080
    budget: 4GiB
    flags: { ctx-size: 32768, parallel: 1, flash-attn: on, cache-ram: 0 }
lanes:
  fast:
    engine: small
    targets: { context: 16384, tokens_per_s: 20 }
)";

TEST(SeedDeploymentTest, StatesHowLongEachLaneTakesToFillItsContext) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  EXPECT_DOUBLE_EQ(plan.machine.compute_flops, 59.4e12);
  for (const LanePlan& l : plan.lanes) {
    // fast-rag's engine cannot be planned (vLLM dropped Mllama): nothing to estimate.
    EXPECT_EQ(l.prefill_seconds_target.has_value(), l.available) << l.name;
    if (l.prefill_seconds_target) {
      EXPECT_GT(*l.prefill_seconds_target, 0) << l.name;
    }
  }
  for (const EnginePlan& e : plan.engines) {
    EXPECT_EQ(e.prefill_seconds_at_ctx.has_value(), e.planned) << e.name;
  }
  auto lane = [&](const std::string& name) {
    return *std::find_if(plan.lanes.begin(), plan.lanes.end(),
                         [&](const LanePlan& l) { return l.name == name; });
  };
  // The deep lane's 1M-token target on an 8B llama takes most of a day; the 32B orchestrator's
  // 32K minutes.
  EXPECT_GT(*lane("super-reader").prefill_seconds_target, 12 * 3600.0);
  EXPECT_LT(*lane("orchestrator").prefill_seconds_target, 3600.0);
  // A longer target takes longer on the same model.
  EXPECT_GT(*lane("coder").prefill_seconds_target, *lane("orchestrator").prefill_seconds_target);
}

TEST(SeedDeploymentTest, DeepEngineTimeoutOutlastsItsLongestPrefill) {
  const DeploymentPlan plan = PlanFile(kSeed, "normal").plan;
  for (const EnginePlan& e : plan.engines) {
    if (!e.prefill_seconds_at_ctx) continue;
    std::optional<double> timeout;
    for (const auto& [flag, value] : e.server_flags) {
      if (flag == "timeout") timeout = std::stod(value);
    }
    if (*e.prefill_seconds_at_ctx * 1.5 > 3600) {
      // llama-server's default --timeout of 3600 s would drop the request mid-prefill.
      ASSERT_TRUE(timeout.has_value()) << e.name;
      EXPECT_GE(*timeout, *e.prefill_seconds_at_ctx) << e.name;
    } else {
      EXPECT_FALSE(timeout.has_value()) << e.name;
    }
  }
}

TEST(DeploymentPlanTest, UnknownComputeLeavesPrefillTimesUnset) {
  const Planned p = PlanYaml(kSmall);
  ASSERT_EQ(p.plan.engines.size(), 1u);
  EXPECT_FALSE(p.plan.engines[0].prefill_seconds_at_ctx.has_value());
  EXPECT_FALSE(p.plan.lanes[0].prefill_seconds_target.has_value());
}

TEST(DeploymentPlanTest, ASmallDeploymentFits) {
  const Planned p = PlanYaml(kSmall);
  EXPECT_TRUE(p.plan.fits) << Dump(p.plan);
  ASSERT_EQ(p.plan.engines.size(), 1u);
  const EnginePlan& e = p.plan.engines[0];
  EXPECT_TRUE(e.fits);
  EXPECT_EQ(e.ctx, 32768u);
  EXPECT_EQ(e.kv_bytes_per_token, 12288u);  // Qwen2.5-0.5B at f16 (research table)
  EXPECT_GE(e.max_ctx_in_budget, 32768u);
  EXPECT_EQ(p.plan.machine.free_bytes, static_cast<int64_t>((128ull - 20 - 4) << 30));
  ASSERT_EQ(p.plan.lanes.size(), 1u);
  EXPECT_TRUE(p.plan.lanes[0].fits);
  EXPECT_GT(p.plan.lanes[0].decode_tokens_per_s_bound, 20);
}

TEST(DeploymentPlanTest, AMissingModelFileWithoutATableEntryIsAnError) {
  std::string yaml = kSmall;
  yaml.replace(yaml.find("{ hf: Qwen/Qwen2.5-0.5B-Instruct, quant: q8_0 }"),
               std::string("{ hf: Qwen/Qwen2.5-0.5B-Instruct, quant: q8_0 }").size(),
               "/nonexistent/model.gguf");
  const Planned p = PlanYaml(yaml);
  EXPECT_FALSE(p.plan.fits);
  EXPECT_NE(Find(p.plan, Severity::kError, "small", {"/nonexistent/model.gguf", "does not exist"}),
            nullptr)
      << Dump(p.plan);
  EXPECT_FALSE(p.plan.lanes[0].fits);
}

TEST(DeploymentPlanTest, AnUnknownProfileIsAnError) {
  const Planned p = PlanYaml(kSmall, "turbo");
  EXPECT_FALSE(p.plan.fits);
  EXPECT_NE(Find(p.plan, Severity::kError, "", {"no profile named \"turbo\""}), nullptr);
}

TEST(DeploymentPlanTest, EngineOverheadComesFromTheConfig) {
  std::string yaml = kSmall;
  const std::string budget = "    budget: 4GiB";
  yaml.replace(yaml.find(budget), budget.size(), budget + "\n    overhead: 1GiB");
  const Planned p = PlanYaml(yaml);
  ASSERT_TRUE(p.plan.engines[0].planned) << Dump(p.plan);
  EXPECT_EQ(p.plan.engines[0].memory.overhead_bytes, 1ull << 30);
}

}  // namespace
}  // namespace cortex
