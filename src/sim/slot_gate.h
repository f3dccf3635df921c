// SlotGate: SlotPool with waiting, for request coroutines on the simulator's event loop.
//
// Acquire returns at once when a slot is free and otherwise parks the request in the pool's FIFO
// queue until Release (or Resume) hands it a slot. A request whose client disconnects while
// parked is taken out of the queue and gets nullopt, so a queued request never holds a slot for
// a client that left (D-engine-apis.md 1.11: queued tasks are cancelled on disconnect).
//
// Thread safety: none; everything runs on the one thread that runs the io_context.
#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "net/http_server.h"
#include "sim/slot_pool.h"

namespace cortex::sim {

class SlotGate {
 public:
  explicit SlotGate(size_t n_slots);
  SlotGate(const SlotGate&) = delete;
  SlotGate& operator=(const SlotGate&) = delete;

  // Returns the slot this request now holds, or nullopt when its client left before one was
  // free (the request is then no longer queued).
  boost::asio::awaitable<std::optional<size_t>> Acquire(net::Responder& responder);
  // Frees `slot`, waking the oldest waiter with it. REQUIRES: `slot` is held.
  void Release(size_t slot);
  // While paused (vLLM sleep) every request waits; Resume serves the queue in order.
  void Pause();
  void Resume();

  const SlotPool& pool() const { return pool_; }

 private:
  struct Waiter;
  void Wake(const SlotPool::Grant& grant);

  SlotPool pool_;
  uint64_t next_waiter_ = 1;
  std::unordered_map<uint64_t, Waiter*> waiters_;
};

}  // namespace cortex::sim
