#include "gateway/engine_health.h"

namespace cortex::gateway {
namespace {
constexpr int kDownAfter = 3;
}  // namespace

std::string_view EngineStateName(EngineState state) {
  switch (state) {
    case EngineState::kUnknown:
      return "unknown";
    case EngineState::kLoading:
      return "loading";
    case EngineState::kUp:
      return "up";
    case EngineState::kDegraded:
      return "degraded";
    case EngineState::kDown:
      return "down";
  }
  return "unknown";
}

void EngineHealth::SetState(EngineState s, TimePoint now) {
  if (s != state_) since_ = now;
  state_ = s;
}

void EngineHealth::OnProbe(Probe result, TimePoint now) {
  switch (result) {
    case Probe::kOk:
      failures_ = 0;
      SetState(EngineState::kUp, now);
      break;
    case Probe::kLoading:
      failures_ = 0;
      SetState(EngineState::kLoading, now);
      break;
    case Probe::kFailed:
      ++failures_;
      SetState(
          failures_ >= kDownAfter || state_ == EngineState::kUnknown || state_ == EngineState::kDown
              ? EngineState::kDown
              : EngineState::kDegraded,
          now);
      break;
  }
}

void EngineHealth::OnRequest(bool ok, TimePoint now) {
  if (ok) {
    failures_ = 0;
    if (state_ != EngineState::kLoading) SetState(EngineState::kUp, now);
    return;
  }
  ++failures_;
  SetState(failures_ >= kDownAfter ? EngineState::kDown : EngineState::kDegraded, now);
}

void EngineHealth::MarkDown(TimePoint now) {
  failures_ = kDownAfter;
  SetState(EngineState::kDown, now);
}

}  // namespace cortex::gateway
