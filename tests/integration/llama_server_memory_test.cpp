// The planner against a real llama-server: opt-in, reads the binary from CORTEX_LLAMA_SERVER.
//
// For a matrix of flags (ctx-size not a multiple of 256, parallel 1 and 3, kv-unified on and off,
// K/V cache types among f16 q8_0 q5_1 q4_0, flash attention on and off, two ubatch sizes) on two
// synthetic models (head size 64 with q8_0 weights, head size 128 with f16 weights), it starts
// llama-server with `-lv 4 --fit off -ngl 0` (CPU, so every build behaves alike), parses the
// buffer sizes llama-server logs, and checks the plan: KV equal to the log's precision (0.01
// MiB), compute within 10%, weights within 1%, the context llama.cpp settled on exactly.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "engine/llama_server_log.h"
#include "model/gguf_model.h"
#include "model/synthetic_model.h"
#include "plan/llama_cpp_plan.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/bytes.h"

namespace cortex {
namespace {

using testing::Subprocess;

const char* ServerBinary() {
  const char* path = std::getenv("CORTEX_LLAMA_SERVER");
  return (path != nullptr && *path != '\0') ? path : nullptr;
}

struct Case {
  int model;  // 0: head 64, q8_0 weights; 1: head 128, f16 weights
  uint32_t ctx;
  uint32_t parallel;
  bool unified;
  bool flash_attn;
  uint32_t ubatch;
  GgmlType type_k;
  GgmlType type_v;
};

std::string Name(const Case& c) {
  return fmt::format("m{}_c{}_np{}_{}_fa{}_ub{}_{}_{}", c.model, c.ctx, c.parallel,
                     c.unified ? "kvu" : "nokvu", c.flash_attn ? "on" : "off", c.ubatch,
                     GgmlTypeName(c.type_k), GgmlTypeName(c.type_v));
}

// Every combination of context, slots, unified cache, flash attention and micro-batch, with the
// cache types cycling through pairs llama-server accepts (a quantized V needs flash attention).
std::vector<Case> Matrix() {
  const std::pair<GgmlType, GgmlType> with_fa[] = {
      {GgmlType::kF16, GgmlType::kF16},   {GgmlType::kQ8_0, GgmlType::kQ8_0},
      {GgmlType::kQ4_0, GgmlType::kQ5_1}, {GgmlType::kQ5_1, GgmlType::kF16},
      {GgmlType::kQ4_0, GgmlType::kQ4_0}, {GgmlType::kQ8_0, GgmlType::kF16}};
  const std::pair<GgmlType, GgmlType> without_fa[] = {{GgmlType::kF16, GgmlType::kF16},
                                                      {GgmlType::kQ8_0, GgmlType::kF16},
                                                      {GgmlType::kQ5_1, GgmlType::kF16},
                                                      {GgmlType::kQ4_0, GgmlType::kF16}};
  std::vector<Case> cases;
  size_t i = 0;
  for (int model : {0, 1}) {
    for (uint32_t ctx : {1000u, 5000u}) {
      for (uint32_t np : {1u, 3u}) {
        for (bool unified : {false, true}) {
          for (bool fa : {true, false}) {
            for (uint32_t ub : {128u, 512u}) {
              const auto types =
                  fa ? with_fa[i % std::size(with_fa)] : without_fa[i % std::size(without_fa)];
              cases.push_back({model, ctx, np, unified, fa, ub, types.first, types.second});
              ++i;
            }
          }
        }
      }
    }
  }
  return cases;
}

class LlamaServerMemoryTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    if (ServerBinary() == nullptr) return;
    dir_ = new testing::TempDir();
    testing::SyntheticModelSpec a;
    a.name = "cortex-synthetic-h64";
    a.n_layer = 4;
    a.n_embd = 512;
    a.n_head = 8;
    a.n_head_kv = 2;
    a.n_ff = 1408;
    a.extra_vocab = 1700;
    a.weight_type = GgmlType::kQ8_0;
    testing::SyntheticModelSpec b;
    b.name = "cortex-synthetic-h128";
    b.n_layer = 3;
    b.n_embd = 768;
    b.n_head = 6;
    b.n_head_kv = 2;
    b.n_ff = 2048;
    b.extra_vocab = 900;
    b.weight_type = GgmlType::kF16;
    ASSERT_TRUE(testing::WriteSyntheticModel(dir_->File("a.gguf"), a).ok());
    ASSERT_TRUE(testing::WriteSyntheticModel(dir_->File("b.gguf"), b).ok());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string ModelPath(int model) { return dir_->File(model == 0 ? "a.gguf" : "b.gguf"); }

  // Runs llama-server until it listens (or fails) and returns what it logged.
  static LlamaServerMemoryLog RunServer(const std::vector<std::string>& flags,
                                        const std::string& log_path) {
    std::vector<std::string> argv = {ServerBinary(),
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(testing::PickFreePort()),
                                     "-lv",
                                     "4",
                                     "--fit",
                                     "off",
                                     "-ngl",
                                     "0",
                                     "--no-warmup",
                                     "--cache-ram",
                                     "0",
                                     "-t",
                                     "2"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto proc = Subprocess::Start(argv, log_path);
    EXPECT_TRUE(proc.ok()) << proc.status().ToString();
    if (!proc.ok()) return {};
    LlamaServerMemoryLog log;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      log = ParseLlamaServerMemoryLog(testing::ReadWholeFile(log_path));
      if (log.listening || !log.error.empty() || (*proc)->Poll()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    (*proc)->Stop();
    return ParseLlamaServerMemoryLog(testing::ReadWholeFile(log_path));
  }

  static testing::TempDir* dir_;
};

testing::TempDir* LlamaServerMemoryTest::dir_ = nullptr;

std::vector<std::string> ServerFlags(const Case& c) {
  return {"-m",
          "",
          "-c",
          std::to_string(c.ctx),
          "-np",
          std::to_string(c.parallel),
          c.unified ? "-kvu" : "-no-kvu",
          "-ctk",
          std::string(GgmlTypeName(c.type_k)),
          "-ctv",
          std::string(GgmlTypeName(c.type_v)),
          "-fa",
          c.flash_attn ? "on" : "off",
          "-ub",
          std::to_string(c.ubatch)};
}

LlamaCppSettings PlanSettings(const Case& c) {
  LlamaCppSettings s;
  s.ctx_size = c.ctx;
  s.parallel = c.parallel;
  s.kv_unified = c.unified;
  s.cache_type_k = c.type_k;
  s.cache_type_v = c.type_v;
  s.flash_attn = c.flash_attn ? FlashAttnMode::kOn : FlashAttnMode::kOff;
  s.ubatch_size = c.ubatch;
  s.n_gpu_layers = 0;
  s.cache_ram_mib = 0;
  return s;
}

double Mib(uint64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(kMiB);
}

TEST_P(LlamaServerMemoryTest, PlanMatchesTheBuffersLlamaServerLogs) {
  if (ServerBinary() == nullptr) {
    GTEST_SKIP() << "CORTEX_LLAMA_SERVER is not set; set it to a llama-server binary to check the "
                    "planner against a real llama.cpp";
  }
  const Case& c = GetParam();
  std::vector<std::string> flags = ServerFlags(c);
  flags[1] = ModelPath(c.model);
  const LlamaServerMemoryLog log = RunServer(flags, dir_->File(Name(c) + ".log"));
  ASSERT_TRUE(log.error.empty()) << log.error;
  ASSERT_TRUE(log.complete()) << "llama-server did not report its compute buffer; see "
                              << dir_->File(Name(c) + ".log");

  auto model = ReadGgufModel(ModelPath(c.model));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto plan = PlanLlamaCpp(*model, PlanSettings(c), 0);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();

  EXPECT_EQ(plan->kv.n_ctx, log.n_ctx.value_or(0));
  EXPECT_EQ(plan->kv.n_ctx_seq, log.n_ctx_seq.value_or(0));
  EXPECT_EQ(plan->flash_attn, log.flash_attn.value_or(!plan->flash_attn));
  // KV: exact, to the two decimals llama-server prints.
  EXPECT_NEAR(Mib(plan->memory.kv_bytes), log.kv_mib, 0.0051);
  ASSERT_TRUE(log.kv_size_mib.has_value());
  EXPECT_NEAR(Mib(plan->memory.kv_bytes), *log.kv_size_mib, 0.0051);
  // Compute within 10%, weights within 1%.
  EXPECT_NEAR(Mib(plan->memory.compute_bytes), log.compute_mib, 0.10 * log.compute_mib)
      << "planned " << Mib(plan->memory.compute_bytes) << " MiB, logged " << log.compute_mib;
  EXPECT_NEAR(Mib(plan->memory.weights_bytes), log.model_mib, 0.01 * log.model_mib);
  EXPECT_NEAR(Mib(plan->memory.output_bytes), log.output_mib, 0.0051);
  std::printf("[ measured ] %s kv %.2f/%.2f compute %.2f/%.2f weights %.2f/%.2f MiB (plan/log)\n",
              Name(c).c_str(), Mib(plan->memory.kv_bytes), log.kv_mib,
              Mib(plan->memory.compute_bytes), log.compute_mib, Mib(plan->memory.weights_bytes),
              log.model_mib);
}

INSTANTIATE_TEST_SUITE_P(Matrix, LlamaServerMemoryTest, ::testing::ValuesIn(Matrix()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return Name(info.param);
                         });

// llama-server refuses a quantized V cache without flash attention; so does the planner.
TEST_F(LlamaServerMemoryTest, QuantizedVWithoutFlashAttentionIsRefusedByBoth) {
  if (ServerBinary() == nullptr) GTEST_SKIP() << "CORTEX_LLAMA_SERVER is not set";
  Case c{0, 1000, 1, false, false, 512, GgmlType::kQ8_0, GgmlType::kQ8_0};
  std::vector<std::string> flags = ServerFlags(c);
  flags[1] = ModelPath(c.model);
  const LlamaServerMemoryLog log = RunServer(flags, dir_->File("refused.log"));
  EXPECT_FALSE(log.error.empty());
  EXPECT_FALSE(log.listening);
  auto model = ReadGgufModel(ModelPath(c.model));
  ASSERT_TRUE(model.ok());
  auto plan = PlanLlamaCpp(*model, PlanSettings(c), 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("needs flash attention"), std::string::npos);
}

}  // namespace
}  // namespace cortex
