// Specification of the metrics: one set of numbers, each engine's names and exposition.
#include "sim/sim_metrics.h"

#include <gtest/gtest.h>

namespace cortex::sim {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

SimMetrics Sample() {
  SimMetrics m;
  m.OnPrompt(10, 0.2, 0.2);
  m.OnToken(-1, 1);
  m.OnToken(0.02, 1);
  m.OnToken(0.03, 1);
  m.OnFinished("length", 3, 0.25, 0.05);
  m.OnPrompt(5, 0.1, 0.1);
  m.OnToken(-1, 2);
  m.OnFinished("abort", 1, 0.1, 0);
  return m;
}

TEST(SimMetricsTest, CountsTokensAndReasons) {
  const SimMetrics m = Sample();
  EXPECT_EQ(m.prompt_tokens(), 15u);
  EXPECT_EQ(m.generation_tokens(), 4u);
  EXPECT_EQ(m.finished("length"), 1u);
  EXPECT_EQ(m.finished("abort"), 1u);
  EXPECT_EQ(m.ttft().count(), 2u);
  EXPECT_EQ(m.itl().count(), 2u);  // first tokens have no gap
  EXPECT_NEAR(m.itl().sum(), 0.05, 1e-12);
}

TEST(SimMetricsTest, LlamaCppNamesHaveNoLabels) {
  MetricGauges g;
  g.running = 2;
  g.waiting = 3;
  const std::string text = Sample().RenderLlamaCpp(g);
  EXPECT_TRUE(
      Has(text, "# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total 15\n"));
  EXPECT_TRUE(Has(text, "llamacpp:tokens_predicted_total 4\n"));
  EXPECT_TRUE(
      Has(text, "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 2\n"));
  EXPECT_TRUE(Has(text, "llamacpp:requests_deferred 3\n"));
  EXPECT_TRUE(Has(text, "llamacpp:n_decode_total "));
  EXPECT_FALSE(Has(text, "{"));
  EXPECT_FALSE(Has(text, "vllm:"));
}

TEST(SimMetricsTest, VllmNamesCarryLabelsAndHistograms) {
  MetricGauges g;
  g.running = 1;
  g.waiting = 4;
  g.kv_usage = 0.25;
  VllmCacheInfo cache;
  cache.num_gpu_blocks = 100;
  const std::string text = Sample().RenderVllm(g, "qwen", cache);
  const std::string l = R"({engine="0",model_name="qwen"})";
  EXPECT_TRUE(Has(text, "vllm:num_requests_running" + l + " 1.0\n"));
  EXPECT_TRUE(Has(text, "vllm:num_requests_waiting" + l + " 4.0\n"));
  EXPECT_TRUE(Has(text, "vllm:kv_cache_usage_perc" + l + " 0.25\n"));
  EXPECT_TRUE(Has(text, "# TYPE vllm:prompt_tokens counter\n"));
  EXPECT_TRUE(Has(text, "vllm:prompt_tokens_total" + l + " 15.0\n"));
  EXPECT_TRUE(Has(text, "vllm:generation_tokens_total" + l + " 4.0\n"));
  EXPECT_TRUE(Has(
      text,
      R"(vllm:request_success_total{engine="0",model_name="qwen",finished_reason="length"} 1.0)"));
  EXPECT_TRUE(Has(
      text,
      R"(vllm:request_success_total{engine="0",model_name="qwen",finished_reason="abort"} 1.0)"));
  EXPECT_TRUE(Has(text, "# TYPE vllm:time_to_first_token_seconds histogram\n"));
  // 0.1 and 0.2 s: the 0.1 bucket holds one, 0.25 both.
  EXPECT_TRUE(
      Has(text,
          R"(vllm:time_to_first_token_seconds_bucket{engine="0",model_name="qwen",le="0.1"} 1.0)"));
  EXPECT_TRUE(Has(
      text,
      R"(vllm:time_to_first_token_seconds_bucket{engine="0",model_name="qwen",le="0.25"} 2.0)"));
  EXPECT_TRUE(Has(
      text,
      R"(vllm:time_to_first_token_seconds_bucket{engine="0",model_name="qwen",le="+Inf"} 2.0)"));
  EXPECT_TRUE(Has(text, "vllm:time_to_first_token_seconds_count" + l + " 2.0\n"));
  EXPECT_TRUE(Has(text, "vllm:inter_token_latency_seconds_count" + l + " 2.0\n"));
  EXPECT_TRUE(Has(text, R"(num_gpu_blocks="100")"));
  EXPECT_TRUE(Has(text, R"(sleep_state="awake"} 1.0)"));
  EXPECT_FALSE(Has(text, "llamacpp:"));
}

TEST(HistogramTest, BucketsAreCumulativeWithUpperBoundsInclusive) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 5.0, 9.0})
    h.Observe(v);
  EXPECT_EQ(h.cumulative(), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 17.0);
}

}  // namespace
}  // namespace cortex::sim
