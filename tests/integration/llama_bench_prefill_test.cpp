// The prefill estimate against a real llama-bench: opt-in, reads the binary from
// CORTEX_LLAMA_BENCH.
//
// plan/prefill_estimate.h models a prompt token's cost as dense FLOPs at one speed plus
// attention FLOPs (growing with depth) at another. On a synthetic model, on this machine's CPU
// (-ngl 0, so every build behaves alike), it measures pp512 and pp2048 from an empty cache,
// fits the two speeds from them (their average depths are 256 and 1,024 keys), and checks that
// the model then predicts pp512 at depth 2,048, a depth it was not fitted on, within ±50%.
// Absolute speeds differ from machine to machine; the shape of the curve is what is checked.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "model/gguf_model.h"
#include "model/synthetic_model.h"
#include "plan/prefill_estimate.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

const char* BenchBinary() {
  const char* path = std::getenv("CORTEX_LLAMA_BENCH");
  return (path != nullptr && *path != '\0') ? path : nullptr;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// stdout of `command` (run by /bin/sh), nullopt when it cannot run or, with `must_succeed`,
// exits non-zero.
std::optional<std::string> Capture(const std::string& command, bool must_succeed = true) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0)
    out.append(buf, n);
  const int status = pclose(pipe);
  if (status == -1 || (must_succeed && status != 0)) return std::nullopt;
  return out;
}

// (n_prompt, n_depth) -> average tokens/s, from llama-bench's `-o json` array.
using Rates = std::map<std::pair<uint64_t, uint64_t>, double>;

std::optional<Rates> ParseRates(const std::string& text, std::string* error) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) {
    *error = "llama-bench's output is not a JSON array: " + text.substr(0, 300);
    return std::nullopt;
  }
  Rates rates;
  for (const boost::json::value& row : v.as_array()) {
    if (!row.is_object()) continue;
    const boost::json::object& o = row.as_object();
    const auto* prompt = o.if_contains("n_prompt");
    const auto* gen = o.if_contains("n_gen");
    const auto* depth = o.if_contains("n_depth");
    const auto* ts = o.if_contains("avg_ts");
    if (prompt == nullptr || ts == nullptr || depth == nullptr) {
      *error = "llama-bench's JSON rows lack n_prompt, n_depth or avg_ts: " +
               boost::json::serialize(o).substr(0, 300);
      return std::nullopt;
    }
    if (gen != nullptr && gen->to_number<int64_t>() != 0) continue;
    rates[{prompt->to_number<uint64_t>(), depth->to_number<uint64_t>()}] = ts->to_number<double>();
  }
  return rates;
}

TEST(LlamaBenchPrefillTest, FittedOnEmptyCachesPredictsDepth2048WithinFiftyPercent) {
  if (BenchBinary() == nullptr) {
    GTEST_SKIP() << "CORTEX_LLAMA_BENCH is not set; set it to a llama-bench binary to check the "
                    "prefill estimate against a real llama.cpp";
  }
  const std::string bench = ShellQuote(BenchBinary());
  // Builds before llama-bench had -d (--n-depth) cannot measure at depth; say so and stop. Some
  // builds exit non-zero after printing their usage, so only the text is judged.
  const std::optional<std::string> help = Capture(bench + " --help 2>&1", false);
  ASSERT_TRUE(help.has_value()) << BenchBinary() << " --help failed";
  if (help->find("--n-depth") == std::string::npos || help->find("json") == std::string::npos) {
    GTEST_SKIP() << BenchBinary() << " has no --n-depth or no JSON output (a build older than "
                 << "2025); its --help begins: " << help->substr(0, 400);
  }

  // Large enough that the matmuls, not per-batch overhead, dominate on a CPU; small enough to
  // run in seconds. Head size 64, grouped-query attention 16/4.
  testing::TempDir dir;
  testing::SyntheticModelSpec spec;
  spec.name = "cortex-synthetic-prefill";
  spec.n_layer = 4;
  spec.n_embd = 1024;
  spec.n_head = 16;
  spec.n_head_kv = 4;
  spec.n_ff = 2816;
  spec.n_ctx_train = 8192;
  spec.extra_vocab = 1000;
  spec.weight_type = GgmlType::kQ8_0;
  const std::string path = dir.File("prefill.gguf");
  ASSERT_TRUE(testing::WriteSyntheticModel(path, spec).ok());
  const StatusOr<ModelInfo> model = ReadGgufModel(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  const std::string command =
      fmt::format("{} -m {} -p 512,2048 -n 0 -d 0,2048 -r 2 -ngl 0 -o json 2>{}", bench,
                  ShellQuote(path), ShellQuote(dir.File("bench.log")));
  const std::optional<std::string> out = Capture(command);
  ASSERT_TRUE(out.has_value()) << command << " failed:\n"
                               << testing::ReadWholeFile(dir.File("bench.log"));
  std::string error;
  const std::optional<Rates> rates = ParseRates(*out, &error);
  ASSERT_TRUE(rates.has_value()) << error;
  for (auto key : {std::pair<uint64_t, uint64_t>{512, 0}, {2048, 0}, {512, 2048}}) {
    ASSERT_TRUE(rates->count(key))
        << "no pp" << key.first << " at depth " << key.second << " in: " << *out;
  }

  // Seconds per token = D·x + A·depth·y over the run's average depth; two runs give x and y.
  const PrefillFlops f = PrefillFlopsOf(*model);
  const double t512 = 1 / rates->at({512, 0});
  const double t2048 = 1 / rates->at({2048, 0});
  double y = (t2048 - t512) / (f.attention_per_key * (1024 - 256));
  if (y <= 0) {
    // Too little depth effect to measure at these depths (noise can even invert it): assume
    // attention runs at the ratio the Strix Halo defaults use, 0.07 / 0.35.
    y = t512 / (f.dense_per_token * 0.2 + f.attention_per_key * 256);
  }
  const double x = (t512 - f.attention_per_key * 256 * y) / f.dense_per_token;
  ASSERT_GT(x, 0) << "attention alone would explain pp512 from empty; the fit makes no sense";

  // The fitted speeds as a machine: compute = the matmul speed, attention relative to it.
  MachineCompute machine;
  machine.compute_flops = 1 / x;
  machine.compute_efficiency = 1;
  machine.attention_efficiency = x / y;
  const double predicted = 512 / PrefillSeconds(*model, machine, 2048, 512).value();
  const double measured = rates->at({512, 2048});
  std::printf(
      "fitted on this CPU: matmuls %.1f GFLOP/s, attention %.1f GFLOP/s; pp512 from empty "
      "%.0f tok/s, pp2048 %.0f; pp512 at depth 2048: measured %.0f, predicted %.0f\n",
      1e-9 / x, 1e-9 / y, rates->at({512, 0}), rates->at({2048, 0}), measured, predicted);
  EXPECT_NEAR(predicted / measured, 1.0, 0.5)
      << "predicted " << predicted << " tok/s, measured " << measured;
}

}  // namespace
}  // namespace cortex
