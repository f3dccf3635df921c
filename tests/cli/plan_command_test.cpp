// `cortex plan` as a user runs it: the real binary, its exit code, stdout and stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/cortex_command.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

const std::string kSeed = std::string(CORTEX_SOURCE_DIR) + "/config/strix-halo.yaml";

TEST(PlanCommandTest, SeedConfigExitsOneAndNamesTheImpossibleParts) {
  const Result r = Cortex("plan -c " + kSeed);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("memory map"), std::string::npos);
  EXPECT_NE(r.out.find("holds 616,448 tokens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens/s at most"), std::string::npos);
  EXPECT_NE(r.out.find("the plan does NOT fit"), std::string::npos);
}

TEST(PlanCommandTest, SeedConfigStatesEachLanesPrefillTime) {
  const Result r = Cortex("plan -c " + kSeed);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("59.4 TFLOPS (35% for matmuls, 7% for attention)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nprefill (prompt reading"), std::string::npos) << r.out;
  for (const char* lane : {"orchestrator", "coder", "super-reader", "governance"}) {
    EXPECT_NE(r.out.find(fmt::format("  {:<14} fills its ", lane)), std::string::npos) << lane;
  }
  // fast-rag's engine is not planned, so there is no model to estimate.
  EXPECT_EQ(r.out.find("fast-rag       fills its"), std::string::npos) << r.out;
  // 1M tokens from empty on an 8B llama: most of a day (the n² attention term).
  EXPECT_NE(r.out.find("super-reader   fills its 1,000,000-token context in about 17 h"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("orchestrator   fills its 32,768-token context in about 4 min"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("fills its 4,096-token context from empty in about"), std::string::npos)
      << r.out;
}

TEST(PlanCommandTest, JsonFollowsTheContract) {
  const Result r = Cortex("plan --json -c " + kSeed + " --profile burst");
  ASSERT_EQ(r.exit_code, 1) << r.err;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;
  const auto& root = v.as_object();
  EXPECT_FALSE(root.at("fits").as_bool());
  EXPECT_EQ(root.at("profile").as_string(), "burst");
  EXPECT_DOUBLE_EQ(root.at("machine").as_object().at("compute_flops").to_number<double>(), 59.4e12);
  for (const char* key : {"memory_bytes", "gpu_pool_bytes", "reserved_bytes", "free_bytes"}) {
    EXPECT_TRUE(root.at("machine").as_object().at(key).is_int64() ||
                root.at("machine").as_object().at(key).is_uint64())
        << key;
  }
  const auto& engines = root.at("engines").as_array();
  ASSERT_EQ(engines.size(), 5u);
  bool saw_deep_lane = false;
  for (const auto& e : engines) {
    const auto& o = e.as_object();
    for (const char* key :
         {"name", "engine", "budget_bytes", "fits", "ctx", "n_seq", "kv_unified", "cache_type_k",
          "cache_type_v", "flash_attn", "memory", "max_ctx_in_budget", "kv_bytes_per_token",
          "decode_tokens_per_s_bound", "prefill_seconds_at_ctx"}) {
      EXPECT_TRUE(o.contains(key)) << key;
    }
    // The seed states its compute, so every planned engine has a prefill time.
    if (o.at("planned").as_bool()) {
      EXPECT_TRUE(o.at("prefill_seconds_at_ctx").is_double()) << o.at("name").as_string();
    }
    if (o.at("name").as_string() != "deep-lane") continue;
    saw_deep_lane = true;
    EXPECT_EQ(o.at("ctx").to_number<uint64_t>(), 4000000u);
    EXPECT_EQ(o.at("kv_bytes_per_token").to_number<uint64_t>(), 100352u);
    const auto& m = o.at("memory").as_object();
    for (const char* key : {"weights_bytes", "kv_bytes", "compute_bytes", "output_bytes",
                            "overhead_bytes", "total_bytes"}) {
      EXPECT_TRUE(m.at(key).is_int64() || m.at(key).is_uint64()) << key;
    }
    EXPECT_EQ(m.at("kv_bytes").to_number<uint64_t>(), 4000000ull * 100352);
  }
  EXPECT_TRUE(saw_deep_lane);
  for (const auto& l : root.at("lanes").as_array()) {
    for (const char* key : {"name", "engine", "context", "fits", "tokens_per_s_target",
                            "decode_tokens_per_s_bound", "prefill_seconds_target"}) {
      EXPECT_TRUE(l.as_object().contains(key)) << key;
    }
  }
  for (const auto& f : root.at("findings").as_array()) {
    const std::string severity(f.as_object().at("severity").as_string());
    EXPECT_TRUE(severity == "error" || severity == "warning" || severity == "info") << severity;
    EXPECT_FALSE(f.as_object().at("message").as_string().empty());
  }
}

TEST(PlanCommandTest, SvgShowsEveryProfileSideBySide) {
  testing::TempDir dir;
  const Result r = Cortex("plan -c " + kSeed + " --svg " + dir.File("map.svg"));
  EXPECT_EQ(r.exit_code, 1);
  const std::string svg = testing::ReadWholeFile(dir.File("map.svg"));
  ASSERT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 100);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("profile normal"), std::string::npos);
  EXPECT_NE(svg.find("profile burst"), std::string::npos);
  EXPECT_NE(svg.find("deep-lane"), std::string::npos);
}

TEST(PlanCommandTest, MalformedConfigExitsTwoWithLineAndColumn) {
  testing::TempDir dir;
  std::ofstream(dir.File("bad.yaml")) << "machine:\n  memory: 128 Gigs\n";
  const Result r = Cortex("plan -c " + dir.File("bad.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:2:11:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(PlanCommandTest, MissingConfigAndUnknownProfileExitTwo) {
  EXPECT_EQ(Cortex("plan -c /nonexistent/cortex.yaml").exit_code, 2);
  const Result r = Cortex("plan -c " + kSeed + " --profile turbo");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no profile named \"turbo\""), std::string::npos) << r.err;
}

TEST(PlanCommandTest, AFittingConfigExitsZero) {
  testing::TempDir dir;
  std::ofstream(dir.File("ok.yaml")) << R"(machine:
  memory: 64GiB
  bandwidth: 256GB/s
engines:
  small:
    engine: llama.cpp
    model: { hf: Qwen/Qwen2.5-0.5B-Instruct, quant: q8_0 }
    port: 8080
    budget: 4GiB
    flags: { ctx-size: 8192, parallel: 1, cache-ram: 0 }
lanes:
  chat: { engine: small }
)";
  const Result r = Cortex("plan -c " + dir.File("ok.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("the plan fits"), std::string::npos);
  // No machine.compute: no prefill times, rather than times from a made-up machine.
  EXPECT_EQ(r.out.find("fills its"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("TFLOPS"), std::string::npos) << r.out;
  const Result j = Cortex("plan --json -c " + dir.File("ok.yaml"));
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(j.out, ec);
  ASSERT_FALSE(ec) << j.out;
  EXPECT_TRUE(v.at("engines").at(0).at("prefill_seconds_at_ctx").is_null());
  EXPECT_TRUE(v.at("lanes").at(0).at("prefill_seconds_target").is_null());
}

TEST(PlanCommandTest, HelpAndBadUsage) {
  EXPECT_EQ(Cortex("plan --help").exit_code, 0);
  EXPECT_EQ(Cortex("plan --no-such-flag").exit_code, 2);
  EXPECT_EQ(Cortex("").exit_code, 2);
}

}  // namespace
}  // namespace cortex

namespace cortex {
namespace {

TEST(PlanCommandTest, AnSvgThatCannotBeWrittenExitsThreeAfterPrintingThePlan) {
  const Result r = Cortex("plan -c " + kSeed + " --svg /nonexistent-dir/map.svg");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("memory map"), std::string::npos);
  EXPECT_NE(r.err.find("cannot write /nonexistent-dir/map.svg"), std::string::npos);
}

TEST(PlanCommandTest, PausedEnginesHoldNoBudgetInJson) {
  const Result r = Cortex("plan --json -c " + kSeed + " --profile burst");
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(r.out, ec);
  ASSERT_FALSE(ec);
  uint64_t budgets = 0;
  for (const auto& e : v.as_object().at("engines").as_array()) {
    const auto& o = e.as_object();
    budgets += o.at("budget_bytes").to_number<uint64_t>();
    if (!o.at("resident").as_bool()) {
      EXPECT_EQ(o.at("budget_bytes").to_number<uint64_t>(), 0u);
      EXPECT_TRUE(o.at("fits").as_bool());
    }
  }
  EXPECT_EQ(budgets, (96ull + 8) << 30);  // deep-lane's burst budget and governance
}

}  // namespace
}  // namespace cortex
