#include "sim/prefill.h"

#include <algorithm>

namespace cortex::sim {

std::vector<PrefillStep> PrefillSchedule(uint64_t total, uint64_t cache, uint64_t batch,
                                         double tokens_per_second) {
  cache = std::min(cache, total);
  batch = std::max<uint64_t>(batch, 1);
  const auto time_ms = [&](uint64_t processed) {
    return tokens_per_second > 0
               ? static_cast<double>(processed - cache) * 1000.0 / tokens_per_second
               : 0.0;
  };
  std::vector<PrefillStep> steps;
  steps.reserve(1 + (total - cache + batch - 1) / batch);
  steps.push_back({cache, 0});
  for (uint64_t processed = cache; processed < total;) {
    processed += std::min(batch, total - processed);
    steps.push_back({processed, time_ms(processed)});
  }
  return steps;
}

}  // namespace cortex::sim
