// StreamingPost: one HTTP request whose response is read piece by piece, from a plain thread,
// that can be abandoned at any moment. The job runner's engine calls last minutes or hours and
// are often silent for long stretches (an engine prefilling a long prompt without progress
// chunks); `should_stop` is polled every 200 ms and, when it turns true, the connection is
// closed at once instead of waiting for the next byte.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex::ingest {

struct StreamingPostResult {
  int status = 0;
  std::string retry_after;  // the Retry-After header, when sent
  std::string body;         // the body of a non-200 answer (200 bodies go to on_piece)
  bool stopped = false;     // should_stop or on_piece ended it
};

// POSTs `body` to host:port `target` with `headers`. A 200 answer's body goes to `on_piece` as
// it arrives (returning false ends the call: stopped). `header_timeout`: time allowed until the
// response header; `gap_timeout`: between two body pieces. IoError on connect or read failures
// and timeouts.
StatusOr<StreamingPostResult> StreamingPost(const std::string& host, uint16_t port,
                                            const std::string& target,
                                            const std::map<std::string, std::string>& headers,
                                            std::string body,
                                            std::chrono::milliseconds header_timeout,
                                            std::chrono::milliseconds gap_timeout,
                                            const std::function<bool()>& should_stop,
                                            const std::function<bool(std::string_view)>& on_piece);

}  // namespace cortex::ingest
