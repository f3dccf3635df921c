#include "sim/flavor.h"

#include <chrono>

#include "sim/text_source.h"

namespace cortex::sim {

namespace json = boost::json;

std::vector<int32_t> DetokenizeIds(const ParsedJson& body) {
  std::vector<int32_t> tokens;
  if (!body.value || !body.value->is_object()) return tokens;
  const boost::json::value* t = body.value->get_object().if_contains("tokens");
  if (t == nullptr || !t->is_array()) return tokens;
  for (const boost::json::value& id : t->get_array()) {
    if (id.is_int64()) tokens.push_back(static_cast<int32_t>(id.get_int64()));
  }
  return tokens;
}

ParsedJson ParseJsonBody(std::string_view body) {
  ParsedJson out;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    out.empty_input = true;
    out.error = "attempting to parse an empty input";
    return out;
  }
  json::stream_parser parser;
  boost::system::error_code ec;
  const size_t consumed = parser.write_some(body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) {
    // write_some stops after one complete value; anything else but whitespace is an error.
    const size_t rest = body.find_first_not_of(" \t\r\n", consumed);
    if (rest != std::string_view::npos) {
      out.error_offset = rest;
      out.error = "syntax error while parsing value - unexpected trailing input";
      return out;
    }
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    out.error_offset = consumed;
    // nlohmann's wording for the common case, since llama-server's message quotes it (1.5).
    out.error = ec == json::error::incomplete ? "unexpected end of input" : ec.message();
    return out;
  }
  out.value = parser.release();
  return out;
}

std::pair<size_t, size_t> LineColumn(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

std::string MessageContent(const json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (content.is_array()) {
    for (const json::value& part : content.get_array()) {
      if (!part.is_object()) continue;
      if (const json::value* text = part.get_object().if_contains("text");
          text != nullptr && text->is_string()) {
        out += text->get_string();
      }
    }
  }
  return out;
}

std::vector<std::string> StopStrings(const json::object& body) {
  std::vector<std::string> out;
  const json::value* stop = body.if_contains("stop");
  if (stop == nullptr) return out;
  if (stop->is_string()) out.emplace_back(stop->get_string());
  if (stop->is_array()) {
    for (const json::value& s : stop->get_array()) {
      if (s.is_string()) out.emplace_back(s.get_string());
    }
  }
  return out;
}

std::string RandomId(uint64_t seed, uint64_t index, size_t n, std::string_view alphabet) {
  std::string out;
  out.reserve(n);
  uint64_t state = Mix64(seed ^ Mix64(index ^ 0x1d1d1d1dull));
  for (size_t i = 0; i < n; ++i) {
    state = Mix64(state);
    out.push_back(alphabet[state % alphabet.size()]);
  }
  return out;
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string> QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return std::string(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cortex::sim
