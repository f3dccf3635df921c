#include "gateway/proxy_stages.h"

#include <fmt/format.h>

#include <cmath>

#include "gateway/engine_errors.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;
namespace http = net::http;

// A request body of a few KiB parses into one block; longer prompts take a few more.
constexpr size_t kArenaFirstBlock = 4096;

// Whether `v` holds a number that is not finite (1e999 parses as infinity, and the engine would
// be sent JSON it cannot read). If so, `*where` gets its path after `v`'s, as `.max_tokens` or
// `.messages[2].weight`: built only on the way out, so a valid body costs no allocation.
bool FindNonFinite(const json::value& v, std::string* where) {
  switch (v.kind()) {
    case json::kind::double_:
      return !std::isfinite(v.get_double());
    case json::kind::object:
      for (const auto& [key, member] : v.get_object()) {
        if (FindNonFinite(member, where)) {
          where->insert(0, fmt::format(".{}", std::string_view(key)));
          return true;
        }
      }
      return false;
    case json::kind::array: {
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        if (FindNonFinite(arr[i], where)) {
          where->insert(0, fmt::format("[{}]", i));
          return true;
        }
      }
      return false;
    }
    default:
      return false;
  }
}

// The path of the first number that is not finite, as `max_tokens` or `messages[2].weight`;
// empty if none.
std::string NonFiniteAt(const json::value& v) {
  std::string where;
  if (!FindNonFinite(v, &where)) return {};
  if (!where.empty() && where.front() == '.') where.erase(0, 1);
  return where;
}

ProxyError BadRequest(std::string message, std::string code, std::string param = {}) {
  ProxyError e;
  e.status = http::status::bad_request;
  e.message = std::move(message);
  e.type = "invalid_request_error";
  e.code = std::move(code);
  e.param = std::move(param);
  return e;
}

}  // namespace

std::string_view UpstreamPath(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChat:
      return "/v1/chat/completions";
    case Endpoint::kCompletions:
      return "/v1/completions";
    case Endpoint::kEmbeddings:
      return "/v1/embeddings";
  }
  return "/v1/chat/completions";
}

net::HttpResponse ToResponse(const ProxyError& error) {
  net::HttpResponse r{error.status, 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::server, "cortex");
  if (error.retry_after_s > 0) r.set(http::field::retry_after, std::to_string(error.retry_after_s));
  r.body() = ErrorBody(error.message, error.type, error.code, error.param);
  return r;
}

std::variant<ChatRequest, ProxyError> ParseChatRequest(std::string_view body,
                                                       std::string_view lane_header) {
  // The body is constructed on the arena, never assigned: json::value's assignment keeps the
  // target's (default) storage, which would copy the whole body onto the heap.
  auto arena = std::make_unique<json::monotonic_resource>(kArenaFirstBlock);
  json::error_code ec;
  json::value parsed = json::parse(body, ec, arena.get());
  ChatRequest out{std::move(arena), std::move(parsed), {}, {}, false, false};
  if (ec) {
    return BadRequest(fmt::format("request body is not valid JSON: {}", ec.message()),
                      "invalid_json");
  }
  if (!out.body.is_object())
    return BadRequest("request body must be a JSON object", "invalid_json");
  if (std::string at = NonFiniteAt(out.body); !at.empty()) {
    return BadRequest(
        fmt::format("`{}` is a number beyond the range of a double; send a finite number", at),
        "invalid_number", at);
  }
  const json::object& obj = out.body.get_object();
  if (const auto* m = obj.if_contains("model")) {
    if (!m->is_string()) {
      return BadRequest(fmt::format("`model` must be a string naming a lane, not {}",
                                    json::serialize(*m).substr(0, 100)),
                        "invalid_type", "model");
    }
    out.model = std::string(m->get_string());
  }
  out.lane_header = std::string(lane_header);
  if (const auto* s = obj.if_contains("stream")) out.stream = s->is_bool() && s->get_bool();
  if (const auto* so = obj.if_contains("stream_options"); so && so->is_object()) {
    const auto* iu = so->get_object().if_contains("include_usage");
    out.client_wants_usage = iu && iu->is_bool() && iu->get_bool();
  }
  return out;
}

std::variant<int, ProxyError> ResolveLane(const LaneTable& table, const ChatRequest& request) {
  const int lane = table.Find(request.model, request.lane_header);
  if (lane >= 0) return lane;
  const std::string names = fmt::format("{}", fmt::join(table.LaneNames(), ", "));
  ProxyError e;
  e.status = http::status::not_found;
  e.type = "invalid_request_error";
  e.code = "model_not_found";
  e.param = "model";
  e.message =
      request.model.empty() && request.lane_header.empty()
          ? fmt::format(
                "the request names no lane: set `model` or the X-Cortex-Lane header; lanes are: {}",
                names)
          : fmt::format("no lane named \"{}\"; lanes are: {}",
                        request.lane_header.empty() ? request.model : request.lane_header, names);
  return e;
}

std::string PromptText(const json::object& body) {
  std::string text;
  auto append = [&](const json::value& v) {
    if (v.is_string()) {
      text.append(v.get_string().data(), v.get_string().size());
      text.push_back('\n');
    } else if (v.is_array()) {
      for (const auto& part : v.get_array()) {
        if (part.is_string()) {
          text.append(part.get_string().data(), part.get_string().size());
        } else if (part.is_object()) {
          if (const auto* t = part.get_object().if_contains("text"); t && t->is_string()) {
            text.append(t->get_string().data(), t->get_string().size());
          }
        }
        text.push_back('\n');
      }
    }
  };
  if (const auto* messages = body.if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->get_array()) {
      if (m.is_object()) {
        if (const auto* c = m.get_object().if_contains("content")) append(*c);
      }
    }
  }
  if (const auto* prompt = body.if_contains("prompt")) append(*prompt);
  if (const auto* input = body.if_contains("input")) append(*input);
  return text;
}

uint64_t EstimateTokens(std::string_view text) {
  return text.size() / 4;
}

bool NeedsExactCount(uint64_t estimate, uint64_t context) {
  return estimate * 2 >= context;
}

ContextDecision DecideContext(uint64_t tokens, uint64_t context, int fallback_on_context,
                              std::optional<uint64_t> burst_context) {
  using Kind = ContextDecision::Kind;
  if (tokens <= context) return {Kind::kFits, -1};
  // A lane's own context fallback is the operator's choice for long prompts; a burst is only
  // for lanes without one, and only when the burst profile holds the prompt.
  if (fallback_on_context >= 0) return {Kind::kFallback, fallback_on_context};
  if (burst_context && tokens <= *burst_context) return {Kind::kBurst, -1};
  return {Kind::kRefuse, -1};
}

ProxyError ContextTooLong(uint64_t tokens, std::string_view lane, uint64_t context) {
  ProxyError e = BadRequest(
      fmt::format("the prompt has about {} tokens, more than lane {} holds ({} tokens); shorten "
                  "it or use a lane with a longer context",
                  tokens, lane, context),
      "context_length_exceeded", "messages");
  e.error_metric = "context";
  return e;
}

net::RawRequest BuildUpstreamRequest(ChatRequest& request, Endpoint endpoint,
                                     std::string_view host_header, std::string_view served_name,
                                     std::string_view request_id) {
  json::object& obj = request.body.get_object();
  if (!served_name.empty()) obj["model"] = served_name;
  if (request.stream) {
    json::value& so = obj["stream_options"];
    if (!so.is_object()) so.emplace_object();
    so.get_object()["include_usage"] = true;
  }
  net::RawRequest up(http::verb::post, UpstreamPath(endpoint));
  up.Header("Host", host_header);
  up.Header("Content-Type", "application/json");
  up.Header("Accept", request.stream ? "text/event-stream" : "application/json");
  if (!request_id.empty()) up.Header("X-Request-Id", request_id);
  up.body() = json::serialize(request.body);
  return up;
}

std::optional<TokenUsage> UsageOfBody(std::string_view body) {
  // An answer of a few KiB parses on the stack; a longer one takes heap blocks as it needs.
  unsigned char buffer[4096];
  json::monotonic_resource arena(buffer, sizeof buffer);
  json::error_code ec;
  const json::value v = json::parse(body, ec, &arena);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* usage = v.get_object().if_contains("usage");
  if (usage == nullptr || !usage->is_object()) return std::nullopt;
  return UsageOf(usage->get_object());
}

}  // namespace cortex::gateway
