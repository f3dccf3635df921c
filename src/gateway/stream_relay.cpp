#include "gateway/stream_relay.h"

#include <fmt/format.h>

#include "gateway/engine_errors.h"

namespace cortex::gateway {

StreamRelay::Fed StreamRelay::Feed(std::string_view piece, Clock::time_point now) {
  Fed fed;
  out_.clear();
  // Usually a piece holds whole events and nothing is pending: it is read in place.
  size_t from = 0;
  std::string_view bytes = piece;
  if (!pending_.empty()) {
    // A terminator may straddle the pieces ("\r\n\r" + "\n"), so look back a few bytes.
    from = pending_.size() > 3 ? pending_.size() - 3 : 0;
    pending_.append(piece);
    bytes = pending_;
  }
  size_t start = 0;
  for (size_t end; (end = SseEventEnd(bytes, std::max(from, start))) != std::string_view::npos;
       start = end) {
    const std::string_view event = bytes.substr(start, end - start);
    const SseEventInfo info = InspectEvent(event);
    if (info.usage) usage_ = info.usage;
    if (info.usage_only && !client_wants_usage_) continue;  // we asked for it, not the client
    if (info.has_content) {
      if (!first_token_) {
        first_token_ = now;
        fed.first_token = true;
      } else if (fed.tokens == 0 || (fed.first_token && fed.tokens == 1)) {
        fed.gap = now - last_token_;
      }
      last_token_ = now;
      ++tokens_;
      ++fed.tokens;
    }
    if (info.done) saw_done_ = true;
    if (info.error) {
      fed.engine_error = true;
      // The engine's own mid-stream error, in our shape.
      const size_t json_at = event.find('{');
      const size_t json_end = event.rfind('}');
      if (json_at != std::string_view::npos && json_end != std::string_view::npos) {
        out_ += SseData(
            NormalizeEngineError(500, event.substr(json_at, json_end - json_at + 1), engine_));
        continue;
      }
    }
    out_.append(event);
  }
  if (bytes.data() == pending_.data()) {
    pending_.erase(0, start);
  } else {
    pending_.assign(bytes.substr(start));
  }
  fed.out = out_;
  return fed;
}

StreamRelay::End StreamRelay::Finish(bool read_failed, std::string* event) const {
  if (saw_done_) return End::kComplete;  // the client has the whole answer
  if (read_failed) {
    *event = SseData(ErrorBody(
        fmt::format("engine {} of lane {} stopped in the middle of the stream", engine_, lane_),
        "server_error", "engine_failed"));
    return End::kEngineFailed;
  }
  *event = SseData(ErrorBody(fmt::format("engine {} of lane {} ended the stream without [DONE]; "
                                         "the answer may be incomplete",
                                         engine_, lane_),
                             "server_error", "engine_stream_incomplete"));
  return End::kEngineStopped;
}

std::optional<double> TokensPerSecond(uint64_t completion_tokens,
                                      std::optional<StreamRelay::Clock::time_point> first,
                                      StreamRelay::Clock::time_point last) {
  if (!first || completion_tokens <= 1 || last <= *first) return std::nullopt;
  return static_cast<double>(completion_tokens - 1) /
         std::chrono::duration<double>(last - *first).count();
}

}  // namespace cortex::gateway
