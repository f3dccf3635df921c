#include "gateway/metrics_registry.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

TEST(MetricsRegistryTest, RendersPrometheusTextFormat) {
  MetricsRegistry m;
  m.DeclareCounter("cortex_requests_total", "Requests by lane and status.");
  m.DeclareGauge("cortex_queue_depth", "Queued requests.");
  m.DeclareHistogram("cortex_ttft_seconds", "Time to first token.", {0.1, 1});
  m.Add("cortex_requests_total", {{"lane", "a\"b"}, {"status", "200"}});
  m.Add("cortex_requests_total", {{"lane", "a\"b"}, {"status", "200"}}, 2);
  m.Set("cortex_queue_depth", {{"lane", "x"}}, 3);
  m.Observe("cortex_ttft_seconds", {{"lane", "x"}}, 0.05);
  m.Observe("cortex_ttft_seconds", {{"lane", "x"}}, 0.5);
  m.Observe("cortex_ttft_seconds", {{"lane", "x"}}, 5);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE cortex_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_requests_total{lane=\"a\\\"b\",status=\"200\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("cortex_queue_depth{lane=\"x\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_bucket{lane=\"x\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_bucket{lane=\"x\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_bucket{lane=\"x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_count{lane=\"x\"} 3\n"), std::string::npos);
  EXPECT_EQ(m.Value("cortex_requests_total", {{"lane", "a\"b"}, {"status", "200"}}), 3);
}

TEST(MetricsRegistryTest, TotalsWhereSumsEverySeriesOfALaneAndNoOtherLane) {
  MetricsRegistry m;
  m.DeclareCounter("cortex_requests_total", "Requests.");
  m.DeclareHistogram("cortex_ttft_seconds", "TTFT.", {0.1, 1});
  m.Add("cortex_requests_total", {{"lane", "a"}, {"code", "200"}}, 4);
  m.Add("cortex_requests_total", {{"lane", "a"}, {"code", "503"}}, 1);
  m.Add("cortex_requests_total", {{"lane", "ab"}, {"code", "200"}}, 7);
  m.Add("cortex_requests_total", {{"code", "200"}, {"model", "a"}}, 9);
  m.Observe("cortex_ttft_seconds", {{"lane", "a"}}, 0.25);
  m.Observe("cortex_ttft_seconds", {{"lane", "a"}}, 0.75);
  EXPECT_EQ(m.TotalsWhere("cortex_requests_total", "lane", "a").value, 5);
  EXPECT_EQ(m.TotalsWhere("cortex_requests_total", "lane", "ab").value, 7);
  EXPECT_EQ(m.TotalsWhere("cortex_requests_total", "lane", "zz").value, 0);
  EXPECT_EQ(m.TotalsWhere("cortex_nope", "lane", "a").value, 0);
  const auto ttft = m.TotalsWhere("cortex_ttft_seconds", "lane", "a");
  EXPECT_EQ(ttft.count, 2u);
  EXPECT_DOUBLE_EQ(ttft.sum, 1.0);
}

TEST(MetricsRegistryTest, HandlesUpdateTheSameSeriesAsLabelledCalls) {
  MetricsRegistry m;
  m.DeclareCounter("cortex_requests_total", "Requests.");
  m.DeclareHistogram("cortex_ttft_seconds", "TTFT.", {1, 0.1});  // sorted when declared
  auto requests = m.Counter("cortex_requests_total", {{"lane", "a"}, {"code", "200"}});
  auto ttft = m.Histogram("cortex_ttft_seconds", {{"lane", "a"}});
  EXPECT_NE(m.Render().find("cortex_requests_total{code=\"200\",lane=\"a\"} 0\n"),
            std::string::npos);
  requests.Add();
  m.Add("cortex_requests_total", {{"code", "200"}, {"lane", "a"}}, 2);
  ttft.Observe(0.05);
  ttft.Observe(0.5);
  m.Observe("cortex_ttft_seconds", {{"lane", "a"}}, 5);
  // Handles made before other series are added stay valid.
  for (int i = 0; i < 100; ++i)
    m.Add("cortex_requests_total", {{"lane", std::to_string(i)}});
  requests.Add();
  EXPECT_EQ(m.Value("cortex_requests_total", {{"lane", "a"}, {"code", "200"}}), 4);
  const std::string text = m.Render();
  EXPECT_NE(text.find("cortex_ttft_seconds_bucket{lane=\"a\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_bucket{lane=\"a\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("cortex_ttft_seconds_count{lane=\"a\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace cortex::gateway
