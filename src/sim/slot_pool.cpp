#include "sim/slot_pool.h"

#include <algorithm>
#include <cstdlib>

namespace cortex::sim {

SlotPool::SlotPool(size_t n_slots) : holders_(n_slots) {
  if (n_slots == 0) std::abort();
}

std::optional<size_t> SlotPool::FreeSlot() const {
  for (size_t i = 0; i < holders_.size(); ++i) {
    if (!holders_[i]) return i;
  }
  return std::nullopt;
}

std::optional<size_t> SlotPool::TryAcquire(uint64_t waiter) {
  if (!paused_ && queue_.empty()) {
    if (auto slot = FreeSlot()) {
      holders_[*slot] = waiter;
      ++busy_;
      return slot;
    }
  }
  queue_.push_back(waiter);
  return std::nullopt;
}

std::optional<SlotPool::Grant> SlotPool::Release(size_t slot) {
  if (slot >= holders_.size() || !holders_[slot]) std::abort();
  holders_[slot].reset();
  --busy_;
  if (paused_ || queue_.empty()) return std::nullopt;
  const uint64_t next = queue_.front();
  queue_.pop_front();
  holders_[slot] = next;
  ++busy_;
  return Grant{next, slot};
}

bool SlotPool::Cancel(uint64_t waiter) {
  auto it = std::find(queue_.begin(), queue_.end(), waiter);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void SlotPool::Pause() {
  paused_ = true;
}

std::vector<SlotPool::Grant> SlotPool::Resume() {
  paused_ = false;
  std::vector<Grant> grants;
  while (!queue_.empty()) {
    auto slot = FreeSlot();
    if (!slot) break;
    const uint64_t next = queue_.front();
    queue_.pop_front();
    holders_[*slot] = next;
    ++busy_;
    grants.push_back({next, *slot});
  }
  return grants;
}

std::optional<uint64_t> SlotPool::holder(size_t slot) const {
  if (slot >= holders_.size()) return std::nullopt;
  return holders_[slot];
}

}  // namespace cortex::sim
