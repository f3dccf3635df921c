// StreamRelay: the copy of an engine's server-sent events back to the client, with the tap.
//
// Fed the engine's bytes piece by piece, it hands back what the client gets: whole events
// only (a torn event waits for its end), the usage-only chunk the gateway asked for dropped
// when the client did not ask for usage, an engine's own error event rewritten into OpenAI's
// shape. On the way it notes what the metrics need: when each content token arrived, the
// usage, whether [DONE] came and whether the engine reported an error. Finish() says how the
// stream must end: an engine that stopped without [DONE] leaves the client one error event, so
// no client mistakes a cut stream for a complete answer.
//
// Pure: no I/O, the caller passes the time. Reuses its buffers from piece to piece.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/sse.h"

namespace cortex::gateway {

class StreamRelay {
 public:
  using Clock = std::chrono::steady_clock;

  StreamRelay(std::string engine, std::string lane, bool client_wants_usage)
      : engine_(std::move(engine)),
        lane_(std::move(lane)),
        client_wants_usage_(client_wants_usage) {}

  // What one piece of the engine's body added.
  struct Fed {
    std::string_view out;       // for the client now (may be empty); valid until the next Feed
    uint64_t tokens = 0;        // content events in this piece
    bool first_token = false;   // the stream's first content event is among them
    Clock::duration gap{};      // since the previous content event (first_token: since start)
    bool engine_error = false;  // the engine sent an error event
  };
  Fed Feed(std::string_view piece, Clock::time_point now);

  enum class End { kComplete, kEngineStopped, kEngineFailed };
  // How the stream ends once the engine's body is over (`read_failed`: the connection broke).
  // kComplete when [DONE] came. Otherwise `*event` is the one error event to send last.
  End Finish(bool read_failed, std::string* event) const;

  bool saw_done() const { return saw_done_; }
  const std::optional<TokenUsage>& usage() const { return usage_; }
  std::optional<Clock::time_point> first_token_at() const { return first_token_; }
  Clock::time_point last_token_at() const { return last_token_; }
  uint64_t tokens() const { return tokens_; }

 private:
  std::string engine_;
  std::string lane_;
  bool client_wants_usage_;
  std::string pending_;  // a torn event's first bytes
  std::string out_;
  std::optional<Clock::time_point> first_token_;
  Clock::time_point last_token_{};
  uint64_t tokens_ = 0;
  std::optional<TokenUsage> usage_;
  bool saw_done_ = false;
};

// Decode speed over a stream: tokens after the first over the time between first and last.
std::optional<double> TokensPerSecond(uint64_t completion_tokens,
                                      std::optional<StreamRelay::Clock::time_point> first,
                                      StreamRelay::Clock::time_point last);

}  // namespace cortex::gateway
