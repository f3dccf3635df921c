#include "gateway/sse.h"

#include <boost/json.hpp>

namespace cortex::gateway {
namespace {

bool HasText(const boost::json::value* v) {
  return v != nullptr && v->is_string() && !v->as_string().empty();
}

uint64_t CountOf(const boost::json::value* v) {
  if (v == nullptr || !v->is_number()) return 0;
  boost::system::error_code ec;
  const auto n = v->to_number<uint64_t>(ec);
  return ec ? 0 : n;
}

}  // namespace

size_t SseEventEnd(std::string_view s, size_t from) {
  for (size_t i = s.find('\n', from); i != std::string_view::npos && i + 1 < s.size();
       i = s.find('\n', i + 1)) {
    if (s[i + 1] == '\n') return i + 2;
    if (s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

TokenUsage UsageOf(const boost::json::object& usage) {
  return {CountOf(usage.if_contains("prompt_tokens")),
          CountOf(usage.if_contains("completion_tokens"))};
}

void SseSplitter::Feed(std::string_view data, std::vector<std::string>* events) {
  // A terminator may straddle the pieces ("\r\n\r" + "\n"), so look back a few bytes.
  const size_t scan_from = pending_.size() > 3 ? pending_.size() - 3 : 0;
  pending_.append(data);
  size_t start = 0;
  size_t from = scan_from;
  for (;;) {
    const size_t end = SseEventEnd(pending_, std::max(from, start));
    if (end == std::string::npos) break;
    events->push_back(pending_.substr(start, end - start));
    start = end;
    from = end;
  }
  pending_.erase(0, start);
}

SseEventInfo InspectEvent(std::string_view event) {
  SseEventInfo info;
  // An event's data is nearly always one line: it is then read in place, not copied.
  std::string joined;
  std::string_view data;
  bool any_data = false;
  bool only_comments = true;
  size_t pos = 0;
  while (pos < event.size()) {
    size_t eol = event.find('\n', pos);
    if (eol == std::string_view::npos) eol = event.size();
    std::string_view line = event.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line.front() == ':') continue;
    only_comments = false;
    if (line.substr(0, 5) == "data:") {
      std::string_view payload = line.substr(5);
      if (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
      if (any_data) {
        if (joined.empty()) joined.assign(data);
        joined.push_back('\n');
        joined.append(payload);
        data = joined;
      } else {
        data = payload;
      }
      any_data = true;
    }
  }
  info.comment = only_comments;
  if (!any_data) return info;
  if (data == "[DONE]") {
    info.done = true;
    return info;
  }
  // One token's chunk parses on the stack; a larger event takes heap blocks as it needs.
  unsigned char buffer[4096];
  boost::json::monotonic_resource arena(buffer, sizeof buffer);
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(data, ec, &arena);
  if (ec || !v.is_object()) return info;
  const auto& o = v.as_object();
  info.error = o.contains("error");
  if (const auto* usage = o.if_contains("usage"); usage != nullptr && usage->is_object()) {
    info.usage = UsageOf(usage->as_object());
  }
  if (const auto* choices = o.if_contains("choices"); choices != nullptr && choices->is_array()) {
    const auto& arr = choices->as_array();
    info.usage_only = arr.empty() && info.usage.has_value();
    for (const auto& choice : arr) {
      if (!choice.is_object()) continue;
      const auto& c = choice.as_object();
      if (HasText(c.if_contains("text"))) info.has_content = true;
      if (const auto* delta = c.if_contains("delta"); delta && delta->is_object()) {
        const auto& d = delta->as_object();
        if (HasText(d.if_contains("content")) || HasText(d.if_contains("reasoning_content")) ||
            HasText(d.if_contains("reasoning")) || d.contains("tool_calls")) {
          info.has_content = true;
        }
      }
    }
  }
  if (const auto* t = o.if_contains("timings"); t != nullptr && t->is_object()) {
    if (const auto* pps = t->as_object().if_contains("predicted_per_second");
        pps && pps->is_number()) {
      boost::system::error_code nec;
      const double v_pps = pps->to_number<double>(nec);
      if (!nec) info.predicted_per_second = v_pps;
    }
  }
  return info;
}

SseFields ParseEventFields(std::string_view event) {
  SseFields f;
  bool any_data = false;
  while (!event.empty()) {
    const size_t nl = event.find('\n');
    std::string_view line = event.substr(0, nl);
    event = nl == std::string_view::npos ? std::string_view() : event.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) continue;  // a comment, or no value
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "event") f.event = std::string(value);
    if (name == "data") {
      if (any_data) f.data += '\n';
      f.data += value;
      any_data = true;
    }
  }
  return f;
}

std::string SseData(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out.append("data: ");
  out.append(json);
  out.append("\n\n");
  return out;
}

}  // namespace cortex::gateway
