// The startup lines carry the planner's sizes in each engine's format; the llama.cpp lines read
// back through our own log parser (engine/llama_server_log.h) to the planned figures.
#include "sim/startup_log.h"

#include <gtest/gtest.h>

#include <regex>

#include "engine/llama_server_log.h"
#include "model/known_models.h"
#include "util/bytes.h"

namespace cortex::sim {
namespace {

double Mib(uint64_t b) {
  return static_cast<double>(b) / static_cast<double>(kMiB);
}

TEST(StartupLogTest, LlamaCppLinesParseToThePlannedSizes) {
  auto model = LookupKnownModel("Qwen/Qwen2.5-0.5B-Instruct", "q8_0");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  LlamaCppSettings s;
  s.ctx_size = 8192;
  s.parallel = 2;
  s.n_gpu_layers = 0;
  s.cache_type_k = GgmlType::kQ8_0;
  s.flash_attn = FlashAttnMode::kOn;
  auto plan = PlanLlamaCpp(*model, s, 0);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::string log;
  for (const LevelledLine& line : LlamaCppLoadLines(*model, *plan))
    log += "0.00.017.281 " + std::string(1, line.level) + " " + line.message + "\n";
  log += "0.00.017.300 I srv  llama_server: listening on http://127.0.0.1:8080\n";
  const LlamaServerMemoryLog parsed = ParseLlamaServerMemoryLog(log);
  EXPECT_TRUE(parsed.listening);
  EXPECT_TRUE(parsed.complete());
  EXPECT_EQ(parsed.n_ctx, std::optional<uint64_t>(plan->kv.n_ctx));
  EXPECT_EQ(parsed.n_ctx_seq, std::optional<uint64_t>(plan->kv.n_ctx_seq));
  EXPECT_EQ(parsed.n_ubatch, std::optional<uint64_t>(plan->n_ubatch));
  EXPECT_EQ(parsed.flash_attn, std::optional<bool>(true));
  EXPECT_NEAR(parsed.kv_mib, Mib(plan->memory.kv_bytes), 0.0051);
  ASSERT_TRUE(parsed.kv_size_mib);
  EXPECT_NEAR(*parsed.kv_size_mib, Mib(plan->memory.kv_bytes), 0.0051);
  EXPECT_NEAR(parsed.compute_mib, Mib(plan->memory.compute_bytes), 0.0051);
  EXPECT_NEAR(parsed.model_mib, Mib(plan->memory.weights_bytes), 0.0051);
  EXPECT_NEAR(parsed.output_mib, Mib(plan->memory.output_bytes), 0.0051);
  EXPECT_TRUE(parsed.error.empty());
  EXPECT_NE(log.find("srv    load_model: initializing, n_slots = 2, n_ctx_slot = 4096"),
            std::string::npos);
}

TEST(StartupLogTest, LlamaCppPrefixIsElapsedTimeAndLevel) {
  MarkProcessStart();
  const std::string prefix = LlamaCppPrefix('W');
  EXPECT_TRUE(std::regex_match(prefix, std::regex(R"(0\.00\.\d{3}\.\d{3} W )"))) << prefix;
}

TEST(StartupLogTest, VllmLinesMatchTheSupervisorsRegexes) {
  auto model = LookupKnownModel("Qwen/Qwen2.5-0.5B-Instruct", "bf16");
  ASSERT_TRUE(model.ok());
  VllmSettings s;
  s.max_model_len = 40000;
  s.kv_cache_memory_bytes = 4ull << 30;
  auto plan = PlanVllm(*model, s, 16ull << 30, 64ull << 30, 512 * kMiB);
  ASSERT_TRUE(plan.ok());
  std::string text;
  for (const auto& [where, message] : VllmLoadLines(*model, *plan, 0.5))
    text += VllmPrefix("EngineCore_0", "INFO", where) + message + "\n";
  // The regexes of D-engine-apis.md 2.6.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(KV cache size: ([\d,]+) tokens)")));
  EXPECT_EQ(m[1].str(), WithCommas(plan->kv_tokens));
  ASSERT_TRUE(std::regex_search(
      text, m, std::regex(R"(Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x)")));
  EXPECT_EQ(m[1].str(), "40,000");
  EXPECT_NEAR(std::stod(m[2].str()), plan->max_concurrency, 0.006);
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(Available KV cache memory: ([\d.]+) GiB)")));
  EXPECT_EQ(m[1].str(), "4.00");
  EXPECT_TRUE(std::regex_search(
      text,
      std::regex(
          R"(\(EngineCore_0 pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[kv_cache_utils\.py:\d+\] )")));
}

TEST(StartupLogTest, ThousandsSeparators) {
  EXPECT_EQ(WithCommas(0), "0");
  EXPECT_EQ(WithCommas(999), "999");
  EXPECT_EQ(WithCommas(922496), "922,496");
  EXPECT_EQ(WithCommas(1000000), "1,000,000");
}

}  // namespace
}  // namespace cortex::sim
