#include "sim/sim_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace cortex::sim {
namespace {

// Bucket bounds of vLLM's histograms (vllm/v1/metrics/loggers.py, D-engine-apis.md 2.7).
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kItlBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                         0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kE2eBuckets = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                         5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                         60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kTokenBuckets = {1,     2,      5,      10,     20,     50,    100,
                                           200,   500,    1000,   2000,   5000,   10000, 20000,
                                           50000, 100000, 200000, 500000, 1000000};

// Python's repr of a float, which prometheus_client uses: "0.0", "12.0", "0.25", "1e-05".
std::string PyFloat(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// llama-server prints its values with the shortest representation ("0", "12", "0.25").
std::string CppNumber(double v) {
  return fmt::format("{}", v);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(counts_.size());
  uint64_t running = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    running += counts_[i];
    out[i] = running;
  }
  return out;
}

SimMetrics::SimMetrics()
    : created_unix_(
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count()),
      ttft_(kTtftBuckets),
      itl_(kItlBuckets),
      e2e_(kE2eBuckets),
      prompt_hist_(kTokenBuckets),
      generation_hist_(kTokenBuckets) {
  for (const char* reason : {"stop", "length", "abort", "error"})
    finished_[reason] = 0;
}

void SimMetrics::OnPrompt(uint64_t tokens, double seconds, double ttft_seconds) {
  prompt_tokens_ += tokens;
  prompt_seconds_ += seconds;
  n_tokens_max_ = std::max(n_tokens_max_, tokens);
  ++n_decode_;
  ttft_.Observe(ttft_seconds);
  prompt_hist_.Observe(static_cast<double>(tokens));
}

void SimMetrics::OnToken(double gap_seconds, uint64_t busy_slots) {
  ++generation_tokens_;
  ++n_decode_;
  busy_slot_sum_ += busy_slots;
  if (gap_seconds >= 0) itl_.Observe(gap_seconds);
}

void SimMetrics::OnFinished(const std::string& reason, uint64_t generated_tokens,
                            double e2e_seconds, double generation_seconds) {
  ++finished_[reason];
  generation_seconds_ += generation_seconds;
  e2e_.Observe(e2e_seconds);
  generation_hist_.Observe(static_cast<double>(generated_tokens));
}

uint64_t SimMetrics::finished(const std::string& reason) const {
  auto it = finished_.find(reason);
  return it == finished_.end() ? 0 : it->second;
}

std::string SimMetrics::RenderLlamaCpp(const MetricGauges& g) const {
  // Names, HELP texts and order as llama-server prints them (D-engine-apis.md 1.8).
  struct Series {
    const char* name;
    const char* help;
    const char* type;
    double value;
  };
  const double prompt_tps = prompt_seconds_ > 0 ? prompt_tokens_ / prompt_seconds_ : 0;
  const double gen_tps = generation_seconds_ > 0 ? generation_tokens_ / generation_seconds_ : 0;
  const double busy_per_decode =
      generation_tokens_ > 0 ? static_cast<double>(busy_slot_sum_) / generation_tokens_ : 0;
  const Series series[] = {
      {"prompt_tokens_total", "Number of prompt tokens processed.", "counter",
       static_cast<double>(prompt_tokens_)},
      {"prompt_seconds_total", "Prompt process time", "counter", prompt_seconds_},
      {"tokens_predicted_total", "Number of generation tokens processed.", "counter",
       static_cast<double>(generation_tokens_)},
      {"tokens_predicted_seconds_total", "Predict process time", "counter", generation_seconds_},
      {"n_decode_total", "Total number of llama_decode() calls", "counter",
       static_cast<double>(n_decode_)},
      {"n_tokens_max", "Largest observed n_tokens.", "counter", static_cast<double>(n_tokens_max_)},
      {"spec_decode_num_draft_tokens_total", "Total draft tokens generated", "counter", 0},
      {"spec_decode_num_accepted_tokens_total", "Total draft tokens accepted by the target model",
       "counter", 0},
      {"spec_decode_num_drafts_total", "Total speculative decoding verification steps", "counter",
       0},
      {"prompt_tokens_seconds", "Average prompt throughput in tokens/s.", "gauge", prompt_tps},
      {"predicted_tokens_seconds", "Average generation throughput in tokens/s.", "gauge", gen_tps},
      {"requests_processing", "Number of requests processing.", "gauge",
       static_cast<double>(g.running)},
      {"requests_deferred", "Number of requests deferred.", "gauge",
       static_cast<double>(g.waiting)},
      {"n_busy_slots_per_decode", "Average number of busy slots per llama_decode() call", "gauge",
       busy_per_decode},
  };
  std::string out;
  for (const Series& s : series) {
    fmt::format_to(std::back_inserter(out), "# HELP llamacpp:{0} {1}\n# TYPE llamacpp:{0} {2}\n",
                   s.name, s.help, s.type);
    fmt::format_to(std::back_inserter(out), "llamacpp:{} {}\n", s.name, CppNumber(s.value));
  }
  return out;
}

std::string SimMetrics::RenderVllm(const MetricGauges& g, const std::string& model_name,
                                   const VllmCacheInfo& cache) const {
  // vLLM's V1 names, prometheus_client's exposition (D-engine-apis.md 2.7).
  const std::string labels = fmt::format("engine=\"0\",model_name=\"{}\"", model_name);
  std::string out;
  auto head = [&](const std::string& name, const char* help, const char* type) {
    fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
  };
  auto gauge = [&](const char* name, const char* help, double value) {
    head(name, help, "gauge");
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, PyFloat(value));
  };
  auto counter = [&](const char* name, const char* help, double value) {
    head(name, help, "counter");
    fmt::format_to(std::back_inserter(out), "{}_total{{{}}} {}\n", name, labels, PyFloat(value));
    fmt::format_to(std::back_inserter(out), "{}_created{{{}}} {}\n", name, labels,
                   PyFloat(created_unix_));
  };
  auto histogram = [&](const char* name, const char* help, const Histogram& h) {
    head(name, help, "histogram");
    const std::vector<uint64_t> cum = h.cumulative();
    for (size_t i = 0; i < h.bounds().size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                     PyFloat(h.bounds()[i]), PyFloat(static_cast<double>(cum[i])));
    }
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels,
                   PyFloat(static_cast<double>(cum.back())));
    fmt::format_to(std::back_inserter(out), "{}_count{{{}}} {}\n", name, labels,
                   PyFloat(static_cast<double>(h.count())));
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n", name, labels, PyFloat(h.sum()));
    fmt::format_to(std::back_inserter(out), "{}_created{{{}}} {}\n", name, labels,
                   PyFloat(created_unix_));
  };

  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        static_cast<double>(g.running));
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        static_cast<double>(g.waiting));
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", g.kv_usage);
  head("vllm:engine_sleep_state",
       "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is "
       "awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.",
       "gauge");
  const char* states[] = {"awake", "weights_offloaded", "discard_all"};
  for (int level = 0; level < 3; ++level) {
    fmt::format_to(std::back_inserter(out), "vllm:engine_sleep_state{{{},sleep_state=\"{}\"}} {}\n",
                   labels, states[level], PyFloat(level == g.sleep_level ? 1 : 0));
  }
  counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", 0);
  counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
          static_cast<double>(prompt_tokens_));
  counter("vllm:generation_tokens", "Number of generation tokens processed.",
          static_cast<double>(generation_tokens_));
  head("vllm:request_success", "Count of successfully processed requests.", "counter");
  for (const auto& [reason, n] : finished_) {
    fmt::format_to(std::back_inserter(out),
                   "vllm:request_success_total{{{},finished_reason=\"{}\"}} {}\n", labels, reason,
                   PyFloat(static_cast<double>(n)));
  }
  histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", prompt_hist_);
  histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
            generation_hist_);
  histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            ttft_);
  histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            itl_);
  histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
            e2e_);
  head("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", "gauge");
  fmt::format_to(std::back_inserter(out),
                 "vllm:cache_config_info{{block_size=\"{}\",cache_dtype=\"{}\",engine=\"0\","
                 "gpu_memory_utilization=\"{}\",num_gpu_blocks=\"{}\"}} 1.0\n",
                 cache.block_size, cache.cache_dtype, PyFloat(cache.gpu_memory_utilization),
                 cache.num_gpu_blocks);
  return out;
}

}  // namespace cortex::sim
