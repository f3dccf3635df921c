// EngineHealth: whether an engine can take requests, from active probes and passive signals.
//
// Probes (GET /health every few seconds) say up, loading (llama-server's 503 "Loading model"),
// or failed (refused, timed out, any other answer). Requests through the gateway add passive
// signals: an engine that refuses connections, times out or answers 5xx is failing even between
// probes. The state:
//   up        last probe fine and no recent request failure
//   degraded  one or two failures in a row (probe or request): still used, reported
//   down      three or more failures in a row, or never answered; a lane with a fallback uses it
//   loading   the engine says it is loading (503 with Retry-After, or a bounded wait)
// Any success returns the engine to up.
//
// Pure: events in, state out; time is a parameter.
#pragma once

#include <chrono>
#include <string_view>

namespace cortex::gateway {

enum class EngineState { kUnknown, kLoading, kUp, kDegraded, kDown };

std::string_view EngineStateName(EngineState state);

class EngineHealth {
 public:
  enum class Probe { kOk, kLoading, kFailed };
  using TimePoint = std::chrono::steady_clock::time_point;

  void OnProbe(Probe result, TimePoint now);
  // A request reached the engine (true) or failed to (connection refused, timeout, 5xx).
  void OnRequest(bool ok, TimePoint now);
  // The engine is known to be gone or restarting (the supervisor says so).
  void MarkDown(TimePoint now);

  EngineState state() const { return state_; }
  TimePoint since() const { return since_; }
  int consecutive_failures() const { return failures_; }

 private:
  void SetState(EngineState s, TimePoint now);
  EngineState state_ = EngineState::kUnknown;
  TimePoint since_{};
  int failures_ = 0;
};

}  // namespace cortex::gateway
