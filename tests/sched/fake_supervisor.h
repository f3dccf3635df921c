// FakeSupervisor: a discrete-event stand-in for the process supervisor and the gateway, for
// testing ResidencyScheduler without processes or clocks.
//
// It applies the scheduler's effects the way the real caller does: a kStart is answered
// `load_seconds` later by EngineReady, a kStop by EngineExited, a kSleep by EngineSlept and a
// kWake by EngineReady (each a fixed delay later); a kAdmit makes every request waiting for the
// engine call Demand again; a kReject fails them. Requests arrive at given times, run for a
// given duration once admitted, and are bounded by an optional client timeout (WaiterLeft).
// Tick is called at NextDeadline(). Time is simulated; nothing sleeps.
//
// Alongside the ledger it keeps its own count of the memory the "processes" it runs occupy, and
// CheckInvariants() fails the test if that or the ledger's log ever exceeds the pool.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "sched/residency_scheduler.h"

namespace cortex::sched::testing {

constexpr uint64_t kGiB = 1ull << 30;

// Asserts over the ledger's log that the committed sum never exceeded the pool.
inline void ExpectLedgerNeverOverPool(const MemoryLedger& ledger) {
  for (const LedgerEvent& event : ledger.events()) {
    EXPECT_LE(event.committed_after, ledger.pool_bytes())
        << "event " << event.seq << " (" << LedgerEventKindName(event.kind) << " " << event.engine
        << ")";
  }
  EXPECT_LE(ledger.committed_bytes(), ledger.pool_bytes());
}

inline EngineSpec Engine(std::string name, uint64_t normal_gib, double load_seconds = 5) {
  EngineSpec spec;
  spec.name = std::move(name);
  spec.bytes_by_profile["normal"] = normal_gib * kGiB;
  spec.load_seconds = load_seconds;
  return spec;
}

class FakeSupervisor {
 public:
  enum class Outcome {
    kPending,
    kWaiting,
    kRunning,
    kDone,
    kRejected,
    kPaused,
    kFailed,
    kUnknown,
    kTimedOut
  };
  struct Request {
    std::string engine;
    double duration = 1;
    double timeout = 1e9;  // the client's bound on waiting
    Outcome outcome = Outcome::kPending;
    int demands = 0;
    double arrived = 0;
    double started = -1;
    std::string reason;
  };

  FakeSupervisor(std::vector<EngineSpec> engines, std::vector<BurstSpec> bursts,
                 uint64_t pool_bytes, SchedulerOptions options = {})
      : sched(engines, bursts, pool_bytes, options), pool_bytes_(pool_bytes) {
    for (const EngineSpec& e : engines)
      specs_[e.name] = e;
  }

  // When false, effects are only recorded; the test answers them itself.
  bool auto_answer = true;
  double stop_seconds = 1;
  double sleep_seconds = 1;
  double wake_seconds = 2;

  ResidencyScheduler sched;
  double now = 0;
  std::vector<Effect> effects;  // everything the scheduler asked for, in order

  void Boot() { Apply(sched.Boot(now)); }

  // Schedules a request for `engine` arriving at `at`; returns its id.
  int Submit(const std::string& engine, double at, double duration = 1, double timeout = 1e9) {
    int id = static_cast<int>(requests.size());
    Request request;
    request.engine = engine;
    request.duration = duration;
    request.timeout = timeout;
    requests.push_back(request);
    At(at, [this, id] { Arrive(id); });
    return id;
  }

  // Runs events and ticks in time order up to and including `until`.
  void RunUntil(double until) {
    for (int guard = 0; guard < 1000000; ++guard) {
      double next_event = queue_.empty() ? until + 1 : queue_.top().at;
      double deadline = sched.NextDeadline();
      if (deadline <= next_event && deadline <= until) {
        ASSERT_GE(deadline, now - 1e-9) << "NextDeadline went back in time";
        now = std::max(now, deadline);
        Apply(sched.Tick(now));
        ASSERT_GT(sched.NextDeadline(), now) << "Tick left its own deadline due";
        continue;
      }
      if (next_event > until) {
        now = std::max(now, until);
        return;
      }
      Event event = queue_.top();
      queue_.pop();
      now = std::max(now, event.at);
      event.run();
    }
    FAIL() << "simulation did not settle";
  }

  void Apply(const std::vector<Effect>& list) {
    for (const Effect& effect : list)
      Apply(effect);
  }

  void Apply(const Effect& effect) {
    effects.push_back(effect);
    const std::string& name = effect.engine;
    switch (effect.kind) {
      case Effect::Kind::kStart:
        ++starts[name];
        started_profiles[name].push_back(effect.profile);
        EXPECT_EQ(sched.ledger().HeldProfile(name), effect.profile) << "started unreserved";
        EXPECT_EQ(process_bytes_.count(name), 0u) << name << " started twice";
        process_bytes_[name] = specs_[name].bytes_by_profile[effect.profile];
        CheckInvariants();
        if (auto_answer) {
          int gen = ++generation_[name];
          At(now + specs_[name].load_seconds, [this, name, gen] {
            if (generation_[name] == gen) Apply(sched.EngineReady(name, now));
          });
        }
        break;
      case Effect::Kind::kWake:
        ++wakes[name];
        process_bytes_[name] = sched.ledger().Held(name).value_or(0);
        CheckInvariants();
        if (auto_answer) {
          int gen = ++generation_[name];
          At(now + wake_seconds, [this, name, gen] {
            if (generation_[name] == gen) Apply(sched.EngineReady(name, now));
          });
        }
        break;
      case Effect::Kind::kStop:
        ++stops[name];
        if (auto_answer) {
          int gen = ++generation_[name];  // a pending ready will not come
          At(now + stop_seconds, [this, name, gen] {
            if (generation_[name] != gen) return;
            process_bytes_.erase(name);
            Apply(sched.EngineExited(name, now));
          });
        }
        break;
      case Effect::Kind::kSleep:
        ++sleeps[name];
        if (auto_answer) {
          int gen = ++generation_[name];
          At(now + sleep_seconds, [this, name, gen] {
            if (generation_[name] != gen) return;
            process_bytes_[name] = specs_[name].sleeping_bytes;
            Apply(sched.EngineSlept(name, now));
          });
        }
        break;
      case Effect::Kind::kAdmit:
        ++admits[name];
        for (size_t id = 0; id < requests.size(); ++id) {
          if (requests[id].engine == name && requests[id].outcome == Outcome::kWaiting) {
            At(now, [this, id] {
              if (requests[id].outcome == Outcome::kWaiting) Retry(static_cast<int>(id));
            });
          }
        }
        break;
      case Effect::Kind::kReject:
        ++rejects[name];
        for (Request& r : requests) {
          if (r.engine == name && r.outcome == Outcome::kWaiting) {
            r.outcome = Outcome::kRejected;
            r.reason = effect.reason;
          }
        }
        break;
    }
  }

  // The fake's own view: the bytes its processes occupy never exceed the pool either.
  void CheckInvariants() {
    uint64_t sum = 0;
    for (const auto& [name, bytes] : process_bytes_)
      sum += bytes;
    EXPECT_LE(sum, pool_bytes_) << "processes occupy more than the pool at t=" << now;
    EXPECT_LE(sched.ledger().committed_bytes(), pool_bytes_);
  }

  // The engines' process memory as the fake sees it.
  uint64_t process_bytes(const std::string& name) const {
    auto it = process_bytes_.find(name);
    return it == process_bytes_.end() ? 0 : it->second;
  }

  int Count(Outcome outcome) const {
    int n = 0;
    for (const Request& r : requests)
      n += r.outcome == outcome;
    return n;
  }

  std::vector<Request> requests;
  std::map<std::string, int> starts, stops, sleeps, wakes, admits, rejects;
  std::map<std::string, std::vector<std::string>> started_profiles;

 private:
  struct Event {
    double at;
    uint64_t seq;
    std::function<void()> run;
    bool operator>(const Event& other) const {
      return at != other.at ? at > other.at : seq > other.seq;
    }
  };

  void At(double at, std::function<void()> run) {
    queue_.push(Event{at, next_seq_++, std::move(run)});
  }

  void Arrive(int id) {
    requests[id].arrived = now;
    Retry(id);
    if (requests[id].outcome == Outcome::kWaiting && requests[id].timeout < 1e9) {
      At(now + requests[id].timeout, [this, id] {
        Request& r = requests[id];
        if (r.outcome != Outcome::kWaiting) return;
        r.outcome = Outcome::kTimedOut;
        Apply(sched.WaiterLeft(r.engine, now));
      });
    }
  }

  void Retry(int id) {
    Request& r = requests[id];
    ++r.demands;
    std::vector<Effect> out;
    DemandResult result = sched.Demand(r.engine, now, &out);
    switch (result) {
      case DemandResult::kReadyNow:
        r.outcome = Outcome::kRunning;
        r.started = now;
        sched.RequestStarted(r.engine, now);
        At(now + r.duration, [this, id] {
          requests[id].outcome = Outcome::kDone;
          Apply(sched.RequestFinished(requests[id].engine, now));
        });
        break;
      case DemandResult::kWait:
        r.outcome = Outcome::kWaiting;
        break;
      case DemandResult::kPaused:
        r.outcome = Outcome::kPaused;
        break;
      case DemandResult::kFailed:
        r.outcome = Outcome::kFailed;
        break;
      case DemandResult::kUnknown:
        r.outcome = Outcome::kUnknown;
        break;
    }
    Apply(out);
  }

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t next_seq_ = 0;
  std::map<std::string, EngineSpec> specs_;
  std::map<std::string, int> generation_;
  std::map<std::string, uint64_t> process_bytes_;
  uint64_t pool_bytes_;
};

}  // namespace cortex::sched::testing
