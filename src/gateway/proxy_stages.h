// The pure stages of the gateway's request path, in the order Gateway::Impl::Proxy runs them:
//
//   1. ParseChatRequest      the body: a JSON object, `model` a string, every number finite
//   2. ResolveLane           `model` or X-Cortex-Lane → a lane, or 404 naming the lanes
//   3. DecideContext         a prompt longer than the lane holds: its context fallback, its
//                            engine's burst profile, or a 400 with both numbers
//   4. (residency)           a supervised engine is entered: loaded on demand, held while used
//   5. (admission)           AdmissionController: a slot, a place in the queue, or a 429
//   6. BuildUpstreamRequest  the engine's own model name, usage asked for in streams
//   7. (forward)             a pooled connection, retried once on a fresh one
//   8. StreamRelay / UsageOfBody   the answer copied back, its tokens counted on the way
//   9. (finish)              metrics, the slot and the engine let go
//
// The stages in parentheses wait on sockets, timers or the supervisor and live in proxy.cpp;
// everything here is a plain function of its inputs, tested on its own
// (tests/gateway/proxy_stages_test.cpp). A stage that refuses the request returns a ProxyError:
// what the client gets and what the metrics count.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/lane_table.h"
#include "gateway/sse.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace cortex::gateway {

enum class Endpoint { kChat, kCompletions, kEmbeddings };
std::string_view UpstreamPath(Endpoint endpoint);

// A refusal, as the client sees it (an OpenAI error body with this status) and as
// cortex_request_errors_total counts it (`error_metric`, empty: not counted as an error).
struct ProxyError {
  net::http::status status = net::http::status::internal_server_error;
  std::string message;
  std::string type;
  std::string code;
  std::string param;
  int retry_after_s = 0;  // 0: no Retry-After header
  std::string error_metric;
};
net::HttpResponse ToResponse(const ProxyError& error);

// 1. What the gateway reads from a client's request. `body` is the parsed object, kept to be
// rewritten for the engine; its storage is one arena per request (few allocations).
struct ChatRequest {
  std::unique_ptr<boost::json::monotonic_resource> arena;
  boost::json::value body;  // an object
  std::string model;        // empty when absent
  std::string lane_header;  // X-Cortex-Lane
  bool stream = false;
  bool client_wants_usage = false;  // stream_options.include_usage
};
std::variant<ChatRequest, ProxyError> ParseChatRequest(std::string_view body,
                                                       std::string_view lane_header);

// 2. The lane the request names, or a 404 that lists the lanes.
std::variant<int, ProxyError> ResolveLane(const LaneTable& table, const ChatRequest& request);

// 3. The text of a chat, completion or embedding request (messages' contents, prompt, input).
std::string PromptText(const boost::json::object& body);
// About four bytes per token: a cheap estimate. Only an estimate that could be near the limit
// is worth the engine's own count (a /tokenize round trip).
uint64_t EstimateTokens(std::string_view text);
bool NeedsExactCount(uint64_t estimate, uint64_t context);

struct ContextDecision {
  enum class Kind { kFits, kFallback, kBurst, kRefuse };
  Kind kind = Kind::kFits;
  int lane = -1;  // kFallback: the lane that takes it
};
// `burst_context`: what the lane's engine holds under its burst profile, when a burst may be
// started for this request (unset otherwise).
ContextDecision DecideContext(uint64_t tokens, uint64_t context, int fallback_on_context,
                              std::optional<uint64_t> burst_context);
ProxyError ContextTooLong(uint64_t tokens, std::string_view lane, uint64_t context);

// 6. The request the engine gets: the client's body with `model` set to what the engine
// answers to (unchanged when `served_name` is empty) and, for a stream, usage asked for (so
// the gateway can count tokens; StreamRelay drops it again when the client did not ask).
net::RawRequest BuildUpstreamRequest(ChatRequest& request, Endpoint endpoint,
                                     std::string_view host_header, std::string_view served_name,
                                     std::string_view request_id);

// 8. The usage object of a whole (non-streamed) answer.
std::optional<TokenUsage> UsageOfBody(std::string_view body);

}  // namespace cortex::gateway
