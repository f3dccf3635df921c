// vLLM's bodies and stream framing: JSON text in the order vLLM's pydantic models serialize.
//
// Every body the vLLM flavor sends is built here, apart from the routing and waiting in
// vllm_flavor.cpp, so the wire format can be read against D-engine-apis.md section 2 in one
// place:
//   - errors nested as {"error":{"message","type","param":null,"code"}} with PascalCase types
//     (2.4, vLLM >= 0.10.1), and FastAPI validation messages for malformed requests (3.7);
//   - /v1/models with max_model_len and the permission object (2.2);
//   - non-streamed chat and completion bodies with vLLM's extra null fields; streamed chunks with
//     the role delta {"role":"assistant","content":""}, the finish_reason and stop_reason on
//     the last content chunk, and the usage chunk with include_usage (2.5).
// Fields vLLM's serving code sets explicitly to None appear as null, as pydantic's
// exclude_unset keeps them.
//
// Thread safety: pure functions; a StreamSink belongs to one request.
#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_server.h"
#include "sim/generation.h"
#include "sim/vllm_flavor.h"

namespace cortex::sim::vllm_wire {

enum class Api { kChat, kCompletion };

// A validated completion request.
struct CompletionCall {
  Api api = Api::kChat;
  uint64_t n_prompt_tokens = 0;
  std::optional<int64_t> max_tokens;
  bool stream = false;
  bool include_usage = false;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
};

// ErrorInfo.type for an HTTP status (2.4): BadRequestError, NotFoundError, InternalServerError,
// ..., the HTTP phrase for others.
std::string_view ErrorType(int status);
// {"error":{"message","type","param":null,"code"}}.
std::string ErrorBody(int code, std::string_view message, std::string_view type);
// A FastAPI/pydantic validation error list as text, e.g.
// "[{'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required', 'input': {}}]".
// `extra` is appended inside the dict (", 'ctx': {...}").
std::string ValidationMessage(std::string_view type, std::string_view loc, std::string_view msg,
                              std::string_view extra = "");

// /v1/models: one entry per served name; `seed` makes the permission id deterministic.
std::string ModelsBody(const VllmModel& model, uint64_t seed);
// A non-streamed chat or completion body.
std::string FinalBody(const std::string& served_name, const CompletionCall& call,
                      const GenerationOutcome& out, const std::string& id, int64_t created);
// The stream_options.include_usage chunk: "choices":[] and usage.
std::string UsageChunk(const std::string& served_name, const CompletionCall& call,
                       const GenerationOutcome& out, const std::string& id, int64_t created);

// Writes each token as vLLM frames it; the text around the token is built once per request.
class StreamSink : public TokenSink {
 public:
  StreamSink(net::Responder& res, Api api, const std::string& id, int64_t created,
             const std::string& model);
  boost::asio::awaitable<bool> Token(std::string_view piece, uint64_t index,
                                     std::string_view finish) override;
  // vLLM sends no keep-alive comments (2.5); Generate never asks without a ping interval.
  boost::asio::awaitable<bool> Ping() override { co_return true; }

 private:
  net::Responder& res_;
  std::string role_;
  std::string before_;
  std::string after_;
  std::string after_last_;  // for the last token: "{}" stands for the finish reason
  std::string buffer_;
};

}  // namespace cortex::sim::vllm_wire
