// Server-sent events as the gateway sees them passing through.
//
// SseSplitter cuts a byte stream into whole events (each ends with a blank line, "\n\n" or
// "\r\n\r\n"), keeping a partial event until its end arrives, so the gateway forwards event by
// event and never a torn one. InspectEvent reads what the gateway needs from one event without
// changing it: whether it is the [DONE] terminator, a keep-alive comment, an error, a chunk that
// carries generated content, or the usage-only chunk (`"choices":[]` with `usage`) that the
// gateway asks engines for and drops when the client did not.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cortex::gateway {

// Position just past the first blank line of `s` at or after `from` (the end of an event), or
// npos.
size_t SseEventEnd(std::string_view s, size_t from);

class SseSplitter {
 public:
  // Appends `data`; moves every completed event (with its terminating blank line) to `events`.
  void Feed(std::string_view data, std::vector<std::string>* events);
  // Bytes of an event not yet complete.
  const std::string& pending() const { return pending_; }

 private:
  std::string pending_;
};

struct TokenUsage {
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
};
// The counts of an OpenAI `usage` object; a count that is missing, negative or not a whole
// number reads as 0 (an engine's odd answer is not worth a failed request).
TokenUsage UsageOf(const boost::json::object& usage);

struct SseEventInfo {
  bool done = false;         // data: [DONE]
  bool comment = false;      // only comment lines (": ..."), e.g. keep-alive
  bool error = false;        // a JSON object with an "error" member
  bool usage_only = false;   // "choices": [] with a usage object
  bool has_content = false;  // a delta or text with at least one character
  std::optional<TokenUsage> usage;
  std::optional<double> predicted_per_second;  // llama.cpp timings
};

SseEventInfo InspectEvent(std::string_view event);

// The `event:` name and the `data:` lines (joined with "\n", as the SSE spec does) of one
// event; a line's one leading space after the colon is not part of its value.
struct SseFields {
  std::string event;
  std::string data;
};
SseFields ParseEventFields(std::string_view event);

// "data: <json>\n\n".
std::string SseData(std::string_view json);

}  // namespace cortex::gateway
