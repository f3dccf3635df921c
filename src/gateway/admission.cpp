#include "gateway/admission.h"

#include <algorithm>

namespace cortex::gateway {

AdmissionController::AdmissionController(std::vector<LaneLimits> lanes,
                                         std::vector<EngineLimits> engines)
    : engines_(std::move(engines)), engine_in_flight_(engines_.size(), 0) {
  for (LaneLimits& l : lanes) {
    LaneState state;
    state.limits = l;
    lanes_.push_back(std::move(state));
  }
}

bool AdmissionController::HasRoom(int lane) const {
  const LaneState& l = lanes_[static_cast<size_t>(lane)];
  if (l.limits.max_concurrency > 0 && l.in_flight >= l.limits.max_concurrency) return false;
  const int engine = l.limits.engine;
  const int slots = engines_[static_cast<size_t>(engine)].slots;
  return slots <= 0 || engine_in_flight_[static_cast<size_t>(engine)] < slots;
}

void AdmissionController::Grant(uint64_t id, int lane) {
  LaneState& l = lanes_[static_cast<size_t>(lane)];
  ++l.in_flight;
  ++engine_in_flight_[static_cast<size_t>(l.limits.engine)];
  tickets_[id].granted = true;
}

AdmissionController::Decision AdmissionController::Arrive(uint64_t id, int lane,
                                                          const std::string& client,
                                                          Clock::time_point now) {
  LaneState& l = lanes_[static_cast<size_t>(lane)];
  // Requests already waiting go first: a newcomer may not overtake them.
  if (l.queued == 0 && HasRoom(lane)) {
    tickets_[id] = {lane, client, false};
    Grant(id, lane);
    return Decision::kGranted;
  }
  if (l.queued >= l.limits.queue) return Decision::kRejected;
  tickets_[id] = {lane, client, false};
  auto& fifo = l.by_client[client];
  if (fifo.empty()) l.order.push_back(client);
  fifo.push_back({id, now});
  ++l.queued;
  return Decision::kQueued;
}

Clock::time_point AdmissionController::OldestWaiting(const LaneState& lane) const {
  Clock::time_point oldest = Clock::time_point::max();
  for (const auto& [client, fifo] : lane.by_client) {
    if (!fifo.empty()) oldest = std::min(oldest, fifo.front().since);
  }
  return oldest;
}

void AdmissionController::Drain(int engine, std::vector<uint64_t>* granted) {
  for (;;) {
    // Among lanes of this engine with waiters and room: interactive first, then the one whose
    // head has waited longest.
    int best = -1;
    for (size_t i = 0; i < lanes_.size(); ++i) {
      const LaneState& l = lanes_[i];
      if (l.limits.engine != engine || l.queued == 0 || !HasRoom(static_cast<int>(i))) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const LaneState& b = lanes_[static_cast<size_t>(best)];
      if (l.limits.interactive != b.limits.interactive) {
        if (l.limits.interactive) best = static_cast<int>(i);
      } else if (OldestWaiting(l) < OldestWaiting(b)) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return;
    LaneState& l = lanes_[static_cast<size_t>(best)];
    // Next client in turn.
    const std::string client = l.order.front();
    l.order.pop_front();
    auto& fifo = l.by_client[client];
    const uint64_t id = fifo.front().id;
    fifo.pop_front();
    if (fifo.empty()) {
      l.by_client.erase(client);
    } else {
      l.order.push_back(client);
    }
    --l.queued;
    Grant(id, best);
    granted->push_back(id);
  }
}

void AdmissionController::RemoveWaiter(uint64_t id, const Ticket& t) {
  LaneState& l = lanes_[static_cast<size_t>(t.lane)];
  auto it = l.by_client.find(t.client);
  if (it == l.by_client.end()) return;
  auto& fifo = it->second;
  auto w = std::find_if(fifo.begin(), fifo.end(), [&](const Waiter& x) { return x.id == id; });
  if (w == fifo.end()) return;
  fifo.erase(w);
  --l.queued;
  if (fifo.empty()) {
    l.by_client.erase(it);
    l.order.erase(std::remove(l.order.begin(), l.order.end(), t.client), l.order.end());
  }
}

std::vector<uint64_t> AdmissionController::Leave(uint64_t id) {
  std::vector<uint64_t> granted;
  auto it = tickets_.find(id);
  if (it == tickets_.end()) return granted;
  const Ticket t = it->second;
  tickets_.erase(it);
  LaneState& l = lanes_[static_cast<size_t>(t.lane)];
  if (!t.granted) {
    RemoveWaiter(id, t);
    return granted;
  }
  --l.in_flight;
  --engine_in_flight_[static_cast<size_t>(l.limits.engine)];
  Drain(l.limits.engine, &granted);
  return granted;
}

std::vector<uint64_t> AdmissionController::Expire(Clock::time_point now) {
  std::vector<uint64_t> expired;
  for (const LaneState& l : lanes_) {
    for (const auto& [client, fifo] : l.by_client) {
      for (const Waiter& w : fifo) {
        if (now - w.since >= l.limits.max_wait) expired.push_back(w.id);
      }
    }
  }
  for (uint64_t id : expired)
    Leave(id);
  return expired;
}

std::vector<uint64_t> AdmissionController::SetEngineSlots(int engine, int slots) {
  engines_[static_cast<size_t>(engine)].slots = slots;
  std::vector<uint64_t> granted;
  Drain(engine, &granted);
  return granted;
}

int AdmissionController::in_flight(int lane) const {
  return lanes_[static_cast<size_t>(lane)].in_flight;
}
int AdmissionController::queued(int lane) const {
  return lanes_[static_cast<size_t>(lane)].queued;
}
int AdmissionController::engine_in_flight(int engine) const {
  return engine_in_flight_[static_cast<size_t>(engine)];
}

Clock::time_point AdmissionController::NextExpiry() const {
  Clock::time_point next = Clock::time_point::max();
  for (const LaneState& l : lanes_) {
    const Clock::time_point oldest = OldestWaiting(l);
    if (oldest != Clock::time_point::max()) next = std::min(next, oldest + l.limits.max_wait);
  }
  return next;
}

}  // namespace cortex::gateway
