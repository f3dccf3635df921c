// SlotPool: the engine's sequence slots (llama.cpp `-np`, vLLM `--max-num-seqs`) and the FIFO
// queue of requests waiting for one.
//
// Both engines defer, never reject, a request that finds every slot busy (D-engine-apis.md 1.5
// "deferred (queued), not rejected", 1.11, 3.7 "Full queue"). A request asks with TryAcquire and
// either gets a slot at once or joins the queue under its waiter id. Release hands the freed slot
// straight to the oldest waiter, so a waiter learns it was served from Release's result, not by
// asking again. A waiter whose client left is removed with Cancel, so a disconnected request
// never takes a slot (llama-server cancels queued tasks on disconnect, 1.11).
//
// Paused (vLLM's sleep mode), the pool grants nothing: every request queues, and Resume hands
// out the free slots in queue order.
//
// The lowest free slot id is taken first. Pure state, no I/O and no clock: the simulator's
// SlotGate (sim/slot_gate.h) adds the waiting.
//
// Thread safety: none; the simulator calls it from its one event-loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace cortex::sim {

class SlotPool {
 public:
  // A grant: `waiter` now holds `slot`.
  struct Grant {
    uint64_t waiter;
    size_t slot;
  };

  // REQUIRES: n_slots >= 1.
  explicit SlotPool(size_t n_slots);

  // Returns a free slot, now held by `waiter`, or nullopt after queueing `waiter` (also when
  // paused, or when others are already waiting: FIFO is never overtaken).
  // REQUIRES: `waiter` is not already queued or holding a slot.
  std::optional<size_t> TryAcquire(uint64_t waiter);

  // Frees `slot`. Returns the grant of that slot to the oldest waiter, if any (none while paused).
  // REQUIRES: `slot` is held.
  std::optional<Grant> Release(size_t slot);

  // Removes `waiter` from the queue. Returns false when it was not queued.
  bool Cancel(uint64_t waiter);

  void Pause();
  // Ends a pause. Returns the grants of free slots to waiters, oldest first.
  std::vector<Grant> Resume();

  size_t size() const { return holders_.size(); }
  size_t busy() const { return busy_; }
  size_t waiting() const { return queue_.size(); }
  bool paused() const { return paused_; }
  // The waiter holding `slot`, or nullopt when it is free.
  std::optional<uint64_t> holder(size_t slot) const;

 private:
  std::optional<size_t> FreeSlot() const;

  std::vector<std::optional<uint64_t>> holders_;
  std::deque<uint64_t> queue_;
  size_t busy_ = 0;
  bool paused_ = false;
};

}  // namespace cortex::sim
