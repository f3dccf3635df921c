// SimEngine: the serving state one simulated engine shares across its requests.
//
// Both flavors serve through it: the slots (SlotGate), the metrics, the tokenizer, what each slot
// is doing (for llama.cpp's /slots and vLLM's KV usage), and the engine state:
//
//   kLoading ──(load time over)──► kReady ◄──(/wake_up)── kSleeping (vLLM sleep mode)
//                                    │  └──────(/sleep)──────►┘
//                                    ├──(--sim-hang-after N answered)──► kHung (answers nothing)
//                                    └──(--sim-crash-after N answered)─► crash hook (exits;
//                                                                        vLLM: kDead first)
//
// Fault decisions are deterministic for the seed: request i fails when UnitInterval(seed, i) is
// below the fail rate, so a test (or a gateway's retry logic) sees the same requests fail on
// every run.
//
// Thread safety: none; the simulator's single event-loop thread owns it, which is why nothing
// here needs a lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sim/memory_hold.h"
#include "sim/sim_metrics.h"
#include "sim/sim_options.h"
#include "sim/sim_tokenizer.h"
#include "sim/slot_gate.h"

namespace cortex::sim {

// kDead: vLLM's engine core died (--sim-crash-after); /health answers 503 until the process
// exits moments later (D-engine-apis.md 2.3).
enum class EngineState { kLoading, kReady, kSleeping, kHung, kDead };

// What one slot is doing, as llama.cpp's /slots reports it. A slot that has served a task keeps
// that task's figures after it finishes (llama-server shows them with is_processing false).
struct SlotActivity {
  bool used = false;  // has served a task
  bool processing = false;
  uint64_t id_task = 0;
  uint64_t n_prompt_tokens = 0;
  uint64_t n_prompt_processed = 0;  // grows batch by batch during the prefill
  uint64_t n_decoded = 0;
  uint64_t max_tokens = 0;
  bool stream = false;
};

class SimEngine {
 public:
  // `kv_capacity_tokens`: tokens the KV cache holds (for vLLM's kv_cache_usage_perc).
  SimEngine(const SimOptions& options, size_t n_slots, uint64_t kv_capacity_tokens);
  SimEngine(const SimEngine&) = delete;
  SimEngine& operator=(const SimEngine&) = delete;

  const SimOptions& options() const { return options_; }
  SlotGate& slots() { return slots_; }
  SimMetrics& metrics() { return metrics_; }
  const SimTokenizer& tokenizer() const { return tokenizer_; }
  std::vector<SlotActivity>& activity() { return activity_; }

  EngineState state() const { return state_; }
  void set_state(EngineState state) { state_ = state; }
  bool hung() const { return state_ == EngineState::kHung; }

  // Ids: llama.cpp task ids count every task; request indexes count generation requests only.
  uint64_t NextTaskId() { return next_task_id_++; }
  uint64_t NextGenerationIndex() { return next_generation_index_++; }
  // Whether generation request `index` is one --sim-fail-rate makes fail.
  bool ShouldFail(uint64_t index) const;

  // A generation request was answered (completed or failed on purpose; not a cancelled one).
  // The Nth answer triggers --sim-crash-after (the crash hook) or --sim-hang-after (kHung).
  void OnAnswered();
  uint64_t answered() const { return answered_; }
  void set_crash_hook(std::function<void(uint64_t answered)> hook) {
    crash_hook_ = std::move(hook);
  }

  MetricGauges Gauges() const;

  // The memory --sim-hold-memory holds, and the part of it that stands for the KV cache.
  void SetHold(std::unique_ptr<MemoryHold> hold, uint64_t kv_part);
  // vLLM sleep: level 1 drops the KV part (weights are offloaded to host memory, which on a
  // unified-memory machine is still memory), level 2 drops everything; 0 restores it all.
  void SetSleepLevel(int level);
  int sleep_level() const { return sleep_level_; }
  uint64_t kv_capacity_tokens() const { return kv_capacity_tokens_; }

 private:
  const SimOptions& options_;
  SlotGate slots_;
  SimMetrics metrics_;
  SimTokenizer tokenizer_;
  std::vector<SlotActivity> activity_;
  uint64_t kv_capacity_tokens_;
  EngineState state_ = EngineState::kLoading;
  uint64_t next_task_id_ = 0;
  uint64_t next_generation_index_ = 0;
  uint64_t answered_ = 0;
  std::function<void(uint64_t)> crash_hook_;
  std::unique_ptr<MemoryHold> hold_;
  uint64_t hold_full_ = 0;
  uint64_t hold_kv_part_ = 0;
  int sleep_level_ = 0;
};

}  // namespace cortex::sim
