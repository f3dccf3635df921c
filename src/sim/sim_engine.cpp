#include "sim/sim_engine.h"

#include <algorithm>

#include "sim/text_source.h"

namespace cortex::sim {

SimEngine::SimEngine(const SimOptions& options, size_t n_slots, uint64_t kv_capacity_tokens)
    : options_(options),
      slots_(n_slots),
      activity_(n_slots),
      kv_capacity_tokens_(kv_capacity_tokens) {}

bool SimEngine::ShouldFail(uint64_t index) const {
  // A distinct stream from the text and jitter draws, which also use the seed.
  return options_.fail_rate > 0 &&
         UnitInterval(options_.seed ^ 0xfa11fa11fa11fa11ull, index) < options_.fail_rate;
}

void SimEngine::OnAnswered() {
  ++answered_;
  if (options_.crash_after && answered_ >= *options_.crash_after && crash_hook_) {
    crash_hook_(answered_);
  }
  if (options_.hang_after && answered_ >= *options_.hang_after) state_ = EngineState::kHung;
}

MetricGauges SimEngine::Gauges() const {
  MetricGauges g;
  g.running = slots_.pool().busy();
  g.waiting = slots_.pool().waiting();
  uint64_t tokens = 0;
  for (const SlotActivity& a : activity_) {
    if (a.processing) tokens += a.n_prompt_tokens + a.n_decoded;
  }
  g.kv_usage =
      kv_capacity_tokens_ == 0
          ? 0
          : std::min(1.0, static_cast<double>(tokens) / static_cast<double>(kv_capacity_tokens_));
  g.sleep_level = sleep_level_;
  return g;
}

void SimEngine::SetHold(std::unique_ptr<MemoryHold> hold, uint64_t kv_part) {
  hold_ = std::move(hold);
  hold_full_ = hold_ ? hold_->bytes() : 0;
  hold_kv_part_ = std::min(kv_part, hold_full_);
}

void SimEngine::SetSleepLevel(int level) {
  sleep_level_ = level;
  if (!hold_) return;
  hold_->Resize(level == 0 ? hold_full_ : level == 1 ? hold_full_ - hold_kv_part_ : 0);
}

}  // namespace cortex::sim
