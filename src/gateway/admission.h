// AdmissionController: who may send a request to an engine now, who waits, who is turned away.
//
// Each lane has a cap on requests in flight through the gateway (`max_concurrency`) and a
// bounded queue behind it; each engine has a cap too (its slots), shared by every lane it
// serves. A request that finds room is granted at once; otherwise it waits in its lane's queue;
// when the queue is full it is rejected (the gateway answers 429 with Retry-After). When a
// request leaves (done, failed, or its client disconnected), freed capacity goes to waiting
// requests: interactive lanes before batch lanes on the same engine, the lane that has waited
// longest first among equals, and within a lane the clients in turn, so one client with a
// hundred queued requests does not starve another with one.
//
// A pure state machine in the style of llama-swap's scheduler: events in (Arrive, Leave,
// Expire), decisions out (the ids granted), no I/O, no clock of its own (time is a parameter),
// no locks (call it from one thread). The gateway turns decisions into responses.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace cortex::gateway {

using Clock = std::chrono::steady_clock;

struct LaneLimits {
  int engine = 0;           // index of the engine serving the lane
  int max_concurrency = 0;  // 0: only the engine's cap applies
  int queue = 64;
  Clock::duration max_wait = std::chrono::seconds(300);
  bool interactive = true;
};

struct EngineLimits {
  int slots = 0;  // 0: no cap at the gateway (the engine queues by itself)
};

class AdmissionController {
 public:
  enum class Decision { kGranted, kQueued, kRejected };

  AdmissionController(std::vector<LaneLimits> lanes, std::vector<EngineLimits> engines);

  // A request for `lane` from `client` (API key or address) arrives.
  Decision Arrive(uint64_t id, int lane, const std::string& client, Clock::time_point now);
  // Request `id` is done, failed, or was abandoned by its client, whether granted or queued.
  // Returns the ids granted as a result, in grant order. Unknown ids are ignored.
  std::vector<uint64_t> Leave(uint64_t id);
  // Removes queued requests that have waited longer than their lane allows; returns them.
  std::vector<uint64_t> Expire(Clock::time_point now);

  // Sets an engine's cap once it is known (llama-server reports its slots in /props). Returns
  // the ids granted if the cap grew.
  std::vector<uint64_t> SetEngineSlots(int engine, int slots);

  int in_flight(int lane) const;
  int queued(int lane) const;
  int engine_in_flight(int engine) const;
  // When the earliest queued request times out; Clock::time_point::max() when none waits.
  Clock::time_point NextExpiry() const;

 private:
  struct Waiter {
    uint64_t id;
    Clock::time_point since;
  };
  struct LaneState {
    LaneLimits limits;
    int in_flight = 0;
    int queued = 0;
    // Per-client FIFOs served in turn (round-robin over `order`).
    std::map<std::string, std::deque<Waiter>> by_client;
    std::deque<std::string> order;
  };
  struct Ticket {
    int lane;
    std::string client;
    bool granted;
  };

  bool HasRoom(int lane) const;
  void Grant(uint64_t id, int lane);
  // Grants waiting requests of lanes on `engine` while there is room.
  void Drain(int engine, std::vector<uint64_t>* granted);
  // The oldest waiter at the head of any client queue of `lane`.
  Clock::time_point OldestWaiting(const LaneState& lane) const;
  void RemoveWaiter(uint64_t id, const Ticket& t);

  std::vector<LaneState> lanes_;
  std::vector<EngineLimits> engines_;
  std::vector<int> engine_in_flight_;
  std::map<uint64_t, Ticket> tickets_;
};

}  // namespace cortex::gateway
