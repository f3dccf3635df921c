// llama-server's bodies and stream framing: JSON text in llama-server's field order.
//
// Every body the llama.cpp flavor sends is built here, from the model and the request alone,
// so the wire format can be read (and checked against D-engine-apis.md 1.5-1.7 and the real
// server) in one place, apart from the routing and waiting in llama_flavor.cpp:
//   - errors: {"error":{"code","message","type"}} from handlers, {"error":{"message","type",
//     "code"}} from the HTTP middleware (loading, API key, unknown route), context overflow with
//     n_prompt_tokens and n_ctx;
//   - /v1/models (Ollama "models" + OpenAI "data" with meta), /props, /slots;
//   - completions: non-streamed bodies with usage and timings; streamed chunks (role delta with
//     the first token, content deltas, the final chunk with an empty delta, the usage chunk with
//     include_usage, [DONE]); OpenAI completions carry usage on their final chunk; the native
//     /completion ends with "stop":true and no [DONE]; prompt_progress chunks before the first
//     token with "return_progress".
// Build strings are the simulator's own (kFingerprint).
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
#include "sim/llama_flavor.h"
#include "sim/sim_engine.h"

namespace cortex::sim::llama_wire {

// llama-server prints "b<build>-<commit>"; the simulator says what it is.
inline constexpr std::string_view kFingerprint = "b0-cortexsim";

// Which completion API a request came through: OpenAI chat, OpenAI completions, native.
enum class Api { kChat, kCompletion, kNative };

// One completion request, parsed.
struct CompletionCall {
  Api api = Api::kChat;
  std::string prompt;
  uint64_t n_prompt_tokens = 0;
  int64_t n_predict = -1;  // as requested; -1 = not set
  bool stream = false;
  bool include_usage = false;
  bool return_progress = false;  // "return_progress": prompt_progress chunks (streams only)
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  std::optional<int64_t> ping_s;
};

// The error type llama-server gives an HTTP status (1.5): invalid_request_error for 400,
// server_error for 500 and anything unlisted, ...
std::string_view ErrorType(int status);
// {"error":{"code","message","type"}}: errors raised while handling a request.
std::string HandlerError(int code, std::string_view message, std::string_view type);
// {"error":{"message","type","code"}}: errors from the HTTP middleware (loading, API key,
// unknown route).
std::string MiddlewareError(int code, std::string_view message, std::string_view type);
// 400 exceed_context_size_error with llama-server's message and the two counts (1.5).
std::string ContextOverflowError(uint64_t n_prompt_tokens, uint32_t n_ctx_slot);

// /v1/models.
std::string ModelsBody(const LlamaCppModel& model);
// /props.
std::string PropsBody(const LlamaCppModel& model, size_t total_slots, bool slots_endpoint,
                      bool metrics);
// /slots: one object per slot.
std::string SlotsBody(const std::vector<SlotActivity>& activity, uint32_t n_ctx_slot);

// A non-streamed completion's body.
std::string FinalBody(const std::string& alias, const CompletionCall& call,
                      const GenerationOutcome& out, const std::string& id, int64_t created);
// The events that end a stream after its last token, [DONE] included where llama-server sends it.
std::string FinalEvents(const std::string& alias, const CompletionCall& call,
                        const GenerationOutcome& out, const std::string& id, int64_t created);

// One `prompt_progress` event (return_progress, 1.6): for chat a chunk with "choices":[] and the
// chunk's id/object/created/model fields; for /completion the native chunk with empty content;
// for /v1/completions a text_completion chunk with empty text. Each carries
// "prompt_progress":{"total","cache","processed","time_ms"}.
std::string ProgressEvent(Api api, const std::string& alias, const std::string& id, int64_t created,
                          const PromptProgress& progress);

// Writes each token as llama-server frames it. The event text around the token is built once
// per request, so a token costs one escape and one write, without allocating once the buffer
// has grown.
class StreamSink : public TokenSink {
 public:
  StreamSink(net::Responder& res, Api api, const std::string& id, int64_t created,
             const std::string& model);
  boost::asio::awaitable<bool> Token(std::string_view piece, uint64_t index,
                                     std::string_view finish) override;
  // The keep-alive comment `:` (1.6 step 7).
  boost::asio::awaitable<bool> Ping() override;
  // A prompt_progress event (ProgressEvent).
  boost::asio::awaitable<bool> Progress(const PromptProgress& progress) override;

 private:
  net::Responder& res_;
  Api api_;
  std::string id_;
  int64_t created_;
  std::string model_;
  std::string role_;  // the role delta, sent with the first token (chat only)
  std::string before_;
  std::string after_;
  std::string buffer_;
};

}  // namespace cortex::sim::llama_wire
