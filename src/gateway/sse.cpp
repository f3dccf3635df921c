#include "gateway/sse.h"

#include <boost/json.hpp>

namespace cortex::gateway {
namespace {

// Position just past the first blank line in `s` from `from`, or npos.
size_t EventEnd(std::string_view s, size_t from) {
  for (size_t i = from; i + 1 < s.size(); ++i) {
    if (s[i] != '\n') continue;
    if (s[i + 1] == '\n') return i + 2;
    if (s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

bool HasText(const boost::json::value* v) {
  return v != nullptr && v->is_string() && !v->as_string().empty();
}

}  // namespace

void SseSplitter::Feed(std::string_view data, std::vector<std::string>* events) {
  // A terminator may straddle the pieces ("\r\n\r" + "\n"), so look back a few bytes.
  const size_t scan_from = pending_.size() > 3 ? pending_.size() - 3 : 0;
  pending_.append(data);
  size_t start = 0;
  size_t from = scan_from;
  for (;;) {
    const size_t end = EventEnd(pending_, std::max(from, start));
    if (end == std::string::npos) break;
    events->push_back(pending_.substr(start, end - start));
    start = end;
    from = end;
  }
  pending_.erase(0, start);
}

SseEventInfo InspectEvent(std::string_view event) {
  SseEventInfo info;
  std::string data;
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
      if (any_data) data.push_back('\n');
      data.append(payload);
      any_data = true;
    }
  }
  info.comment = only_comments;
  if (!any_data) return info;
  if (data == "[DONE]") {
    info.done = true;
    return info;
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(data, ec);
  if (ec || !v.is_object()) return info;
  const auto& o = v.as_object();
  info.error = o.contains("error");
  if (const auto* usage = o.if_contains("usage"); usage != nullptr && usage->is_object()) {
    TokenUsage u;
    const auto& uo = usage->as_object();
    if (const auto* p = uo.if_contains("prompt_tokens"); p && p->is_number()) {
      u.prompt_tokens = p->to_number<uint64_t>();
    }
    if (const auto* c = uo.if_contains("completion_tokens"); c && c->is_number()) {
      u.completion_tokens = c->to_number<uint64_t>();
    }
    info.usage = u;
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
      info.predicted_per_second = pps->to_number<double>();
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
