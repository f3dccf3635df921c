// SimMetrics: the simulator's counters, gauges and histograms, and their Prometheus text under
// each engine's own names.
//
// One set of numbers is kept (tokens, seconds, finished requests by reason, time to first token,
// inter-token latency, end-to-end latency) and rendered two ways:
//   - llama.cpp (D-engine-apis.md 1.8): `llamacpp:*` counters and gauges, no labels, no
//     histograms, HELP texts as llama-server prints them;
//   - vLLM (2.7): `vllm:*` series labelled {engine="0",model_name="..."}, counters with `_total`
//     and `_created`, histograms with `_bucket`/`_sum`/`_count` on vLLM's bucket bounds, and
//     `vllm:cache_config_info`.
// Tokens are counted as they are produced, so a cancelled request's tokens count too, as in
// both engines.
//
// Thread safety: none; the simulator's event-loop thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cortex::sim {

// A cumulative histogram with fixed upper bounds (a +Inf bucket is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // counts()[i]: observations <= bounds()[i], cumulative; the last element is the total.
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; one extra for +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Gauges read at render time from the simulator's live state.
struct MetricGauges {
  uint64_t running = 0;  // requests holding a slot
  uint64_t waiting = 0;  // requests queued for one
  double kv_usage = 0;   // 0..1: tokens held by running requests / KV capacity
  int sleep_level = 0;   // vLLM: 0 awake, 1 weights offloaded, 2 everything discarded
};

// vLLM's cache_config_info labels.
struct VllmCacheInfo {
  uint64_t block_size = 16;
  uint64_t num_gpu_blocks = 0;
  std::string cache_dtype = "auto";
  double gpu_memory_utilization = 0.9;
};

class SimMetrics {
 public:
  SimMetrics();

  // A request's prompt was processed (its first token is about to be produced).
  void OnPrompt(uint64_t tokens, double seconds, double ttft_seconds);
  // One token was produced; `gap_seconds` is the time since the previous one (negative for the
  // first token of a request, which has no gap). `busy_slots` is for llama.cpp's
  // n_busy_slots_per_decode.
  void OnToken(double gap_seconds, uint64_t busy_slots);
  // A request ended: `reason` is "stop", "length", "abort" (client left) or "error".
  void OnFinished(const std::string& reason, uint64_t generated_tokens, double e2e_seconds,
                  double generation_seconds);

  std::string RenderLlamaCpp(const MetricGauges& gauges) const;
  std::string RenderVllm(const MetricGauges& gauges, const std::string& model_name,
                         const VllmCacheInfo& cache) const;

  uint64_t prompt_tokens() const { return prompt_tokens_; }
  uint64_t generation_tokens() const { return generation_tokens_; }
  uint64_t finished(const std::string& reason) const;
  const Histogram& ttft() const { return ttft_; }
  const Histogram& itl() const { return itl_; }

 private:
  double created_unix_;
  uint64_t prompt_tokens_ = 0;
  double prompt_seconds_ = 0;
  uint64_t generation_tokens_ = 0;
  double generation_seconds_ = 0;
  uint64_t n_decode_ = 0;
  uint64_t n_tokens_max_ = 0;
  uint64_t busy_slot_sum_ = 0;
  std::map<std::string, uint64_t> finished_;
  Histogram ttft_;
  Histogram itl_;
  Histogram e2e_;
  Histogram prompt_hist_;
  Histogram generation_hist_;
};

}  // namespace cortex::sim
