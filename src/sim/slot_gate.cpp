#include "sim/slot_gate.h"

namespace cortex::sim {

namespace asio = boost::asio;

struct SlotGate::Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer timer;
  std::optional<size_t> slot;
};

SlotGate::SlotGate(size_t n_slots) : pool_(n_slots) {}

asio::awaitable<std::optional<size_t>> SlotGate::Acquire(net::Responder& responder) {
  const uint64_t id = next_waiter_++;
  if (auto slot = pool_.TryAcquire(id)) co_return slot;
  Waiter waiter(co_await asio::this_coro::executor);
  waiters_.emplace(id, &waiter);
  for (;;) {
    const bool here = co_await responder.Wait(waiter.timer);
    if (waiter.slot) break;  // served (if the client also left, the caller releases the slot)
    if (!here) {
      pool_.Cancel(id);
      break;
    }
  }
  waiters_.erase(id);
  co_return waiter.slot;
}

void SlotGate::Wake(const SlotPool::Grant& grant) {
  auto it = waiters_.find(grant.waiter);
  if (it == waiters_.end()) return;  // cannot happen: waiters leave the queue before the map
  it->second->slot = grant.slot;
  it->second->timer.cancel();
}

void SlotGate::Release(size_t slot) {
  if (auto grant = pool_.Release(slot)) Wake(*grant);
}

void SlotGate::Pause() {
  pool_.Pause();
}

void SlotGate::Resume() {
  for (const SlotPool::Grant& grant : pool_.Resume())
    Wake(grant);
}

}  // namespace cortex::sim
