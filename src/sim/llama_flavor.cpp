#include "sim/llama_flavor.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "model/gguf_file.h"
#include "model/gguf_model.h"
#include "sim/generation.h"
#include "sim/json_writer.h"
#include "sim/llama_wire.h"
#include "sim/startup_log.h"
#include "sim/text_source.h"
#include "util/bytes.h"

namespace cortex::sim {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
namespace json = boost::json;

constexpr std::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// llama_model_ftype_name for general.file_type.
std::string FtypeName(const GgufFile& file) {
  static const std::map<uint64_t, std::string> names = {
      {0, "all F32"},        {1, "F16"},
      {2, "Q4_0"},           {3, "Q4_1"},
      {7, "Q8_0"},           {8, "Q5_0"},
      {9, "Q5_1"},           {10, "Q2_K - Medium"},
      {11, "Q3_K - Small"},  {12, "Q3_K - Medium"},
      {13, "Q3_K - Large"},  {14, "Q4_K - Small"},
      {15, "Q4_K - Medium"}, {16, "Q5_K - Small"},
      {17, "Q5_K - Medium"}, {18, "Q6_K"},
      {32, "BF16"}};
  if (auto ft = file.GetUint("general.file_type")) {
    if (auto it = names.find(*ft); it != names.end()) return it->second;
  }
  // Without the key llama.cpp guesses from the tensors: the most common type of the matrices.
  std::map<GgmlType, uint64_t> counts;
  for (const GgufTensorInfo& t : file.tensors) {
    if (t.n_dims >= 2) ++counts[t.type];
  }
  GgmlType best = GgmlType::kF32;
  uint64_t most = 0;
  for (auto [type, n] : counts) {
    if (n > most) {
      best = type;
      most = n;
    }
  }
  std::string name(GgmlTypeName(best));
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  return name;
}

// llama-server's failure lines for a model it cannot load (D-engine-apis.md 1.1 step 5, 1.10).
void LogLoadFailure(const std::string& path, const std::string& why) {
  LogLlamaCpp('E', fmt::format("llama_model_load: error loading model: {}", why));
  LogLlamaCpp('E', "llama_model_load_from_file_impl: failed to load model");
  LogLlamaCpp('E', fmt::format("srv    load_model: failed to load model, '{}'", path));
  LogLlamaCpp('I', "srv    operator(): operator(): cleaning up before exit...");
  LogLlamaCpp('E', "srv  llama_server: exiting due to model loading error");
}

using llama_wire::Api;
using llama_wire::CompletionCall;
using llama_wire::ErrorType;
using llama_wire::HandlerError;
using llama_wire::MiddlewareError;

class LlamaCppFlavor : public Flavor {
 public:
  LlamaCppFlavor(SimEngine& engine, LlamaCppModel model)
      : engine_(engine), options_(engine.options()), model_(std::move(model)) {}

  bool listens_while_loading() const override { return true; }
  uint64_t planned_bytes() const override { return model_.plan.memory.total_bytes(); }

  net::HttpResponse Reject(http::status status, std::string_view message) const override {
    const int code = static_cast<int>(status);
    return Json(std::string_view(), status, HandlerError(code, message, ErrorType(code)));
  }

  void LogIgnoredFlag(const std::string& flag) override {
    LogLlamaCpp('W', fmt::format("cmn  common_param: ignoring unknown flag {}", flag));
  }

  void LogLoading() override {
    // D-engine-apis.md 1.1: the HTTP server is up before the model loads.
    LogLlamaCpp('I', "srv         start: binding port with default address family");
    LogLlamaCpp('I', fmt::format("srv    load_model: loading model '{}'", model_.path));
  }

  void LogHold(uint64_t held) override {
    LogLlamaCpp('I', fmt::format("srv    load_model: sim: holding {:.2f} MiB ({:.0f}% of the "
                                 "planned {:.2f} MiB)",
                                 static_cast<double>(held) / kMiB, options_.hold_memory * 100,
                                 static_cast<double>(planned_bytes()) / kMiB));
  }

  void LogReady(const std::string& host, uint16_t port) override {
    for (const LevelledLine& line : LlamaCppLoadLines(model_.info, model_.plan))
      LogLlamaCpp(line.level, line.message);
    LogLlamaCpp('I', "srv  llama_server: model loaded");
    LogLlamaCpp('I', fmt::format("srv  llama_server: listening on http://{}:{}", host, port));
    LogLlamaCpp('I', "srv  update_slots: all slots are idle");
  }

  void LogBindFailure(const std::string& host, uint16_t port, const std::string& why) override {
    LogLlamaCpp('E', fmt::format("srv         start: couldn't bind HTTP server socket, hostname: "
                                 "{}, port: {} ({})",
                                 host, port, why));
    LogLlamaCpp('E', "srv  llama_server: exiting due to HTTP server error");
  }

  void LogShutdown() override {
    // 1.1: graceful shutdown, then the memory breakdown table.
    LogLlamaCpp('I', "srv    operator(): operator(): cleaning up before exit...");
    const EngineMemory& m = model_.plan.memory;
    LogLlamaCpp('I',
                "common_memory_breakdown_print: | memory breakdown [MiB] | total   free    "
                "self   model   context   compute    unaccounted |");
    LogLlamaCpp('I',
                fmt::format("common_memory_breakdown_print: |   - Host               |   "
                            "{:>15} = {:5} + {:7} + {:7}                |",
                            (m.weights_bytes + m.kv_bytes + m.compute_bytes) / kMiB,
                            m.weights_bytes / kMiB, m.kv_bytes / kMiB, m.compute_bytes / kMiB));
  }

  void LogCrash(uint64_t answered) override {
    LogLlamaCpp('E', fmt::format("srv  update_slots: sim: simulated crash after {} requests "
                                 "(--sim-crash-after)",
                                 answered));
    std::fputs("GGML_ASSERT(sim crash) failed\n", stderr);
  }

  asio::awaitable<void> Handle(net::HttpRequest& req, net::Responder& res) override {
    const auto [path, query] = SplitTarget(req.target());
    // Pre-routing (server-http.cpp middlewares, 1.2/1.4): CORS preflight, then the loading
    // state, then the API key.
    if (req.method() == http::verb::options) {
      net::HttpResponse r{http::status::ok, req.version()};
      SetCommonHeaders(req[http::field::origin], r);
      r.set("Access-Control-Allow-Credentials", "true");
      r.set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      r.set("Access-Control-Allow-Headers", "*");
      r.set(http::field::content_type, "text/html");
      co_await res.Send(std::move(r));
      co_return;
    }
    if (engine_.hung()) {
      // --sim-hang-after: the engine answers nothing; the socket stays open.
      co_await res.WaitGone();
      co_return;
    }
    if (engine_.state() == EngineState::kLoading) {
      co_await SendError(req, res, 503, MiddlewareError(503, "Loading model", "unavailable_error"));
      co_return;
    }
    if (!options_.llama.api_keys.empty() && !IsPublic(path) && !KeyAccepted(req)) {
      LogLlamaCpp('W', "srv  operator(): unauthorized: Invalid API Key");
      co_await SendError(req, res, 401,
                         MiddlewareError(401, "Invalid API Key", "authentication_error"));
      co_return;
    }
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    if (get && (path == "/health" || path == "/v1/health")) {
      co_await res.Send(Json(req, http::status::ok, R"({"status":"ok"})"));
    } else if (get && (path == "/models" || path == "/v1/models")) {
      co_await res.Send(Json(req, http::status::ok, llama_wire::ModelsBody(model_)));
    } else if (get && path == "/props") {
      co_await res.Send(
          Json(req, http::status::ok,
               llama_wire::PropsBody(model_, engine_.slots().pool().size(),
                                     options_.llama.slots_endpoint, options_.llama.metrics)));
    } else if (post && path == "/props") {
      co_await SendError(req, res, 501,
                         HandlerError(501,
                                      "This server does not support changing global properties. "
                                      "Start it with `--props`",
                                      "not_supported_error"));
    } else if (get && path == "/slots") {
      if (!options_.llama.slots_endpoint) {
        co_await SendError(req, res, 501,
                           HandlerError(501,
                                        "This server does not support slots endpoint. Start it "
                                        "with `--slots`",
                                        "not_supported_error"));
      } else {
        co_await res.Send(Json(req, http::status::ok,
                               llama_wire::SlotsBody(engine_.activity(), model_.n_ctx_slot)));
      }
    } else if (get && path == "/metrics") {
      co_await Metrics(req, res);
    } else if (post && (path == "/chat/completions" || path == "/v1/chat/completions")) {
      co_await Completion(req, res, Api::kChat);
    } else if (post && path == "/v1/completions") {
      co_await Completion(req, res, Api::kCompletion);
    } else if (post && (path == "/completion" || path == "/completions")) {
      co_await Completion(req, res, Api::kNative);
    } else if (post && path == "/tokenize") {
      co_await Tokenize(req, res);
    } else if (post && path == "/detokenize") {
      co_await Detokenize(req, res);
    } else if (post && path == "/apply-template") {
      co_await ApplyTemplate(req, res);
    } else if (post &&
               (path == "/embedding" || path == "/embeddings" || path == "/v1/embeddings")) {
      co_await SendError(req, res, 501,
                         HandlerError(501,
                                      "This server does not support embeddings. Start it with "
                                      "`--embeddings`",
                                      "not_supported_error"));
    } else if (post && (path == "/rerank" || path == "/reranking" || path == "/v1/rerank" ||
                        path == "/v1/reranking")) {
      co_await SendError(req, res, 501,
                         HandlerError(501,
                                      "This server does not support reranking. Start it with "
                                      "`--reranking`",
                                      "not_supported_error"));
    } else {
      // Unknown route or method: 404 from the HTTP library's error handler (1.2).
      co_await SendError(req, res, 404, MiddlewareError(404, "File Not Found", "not_found_error"));
    }
  }

 private:
  static bool IsPublic(std::string_view path) {
    return path == "/health" || path == "/v1/health" || path == "/models" || path == "/v1/models";
  }

  bool KeyAccepted(const net::HttpRequest& req) const {
    // Authorization first (with or without "Bearer "), else X-Api-Key (1.2).
    std::string key(req[http::field::authorization]);
    if (key.empty()) key = std::string(req["X-Api-Key"]);
    if (key.rfind("Bearer ", 0) == 0) key = key.substr(7);
    const auto& keys = options_.llama.api_keys;
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }

  // CORS: llama-server echoes the request's Origin (empty without one, as observed).
  static void SetCommonHeaders(std::string_view origin, net::HttpResponse& r) {
    r.set(http::field::server, "llama.cpp");
    r.set(http::field::access_control_allow_origin, origin);
  }

  static net::HttpResponse Json(const net::HttpRequest& req, http::status status,
                                std::string body) {
    return Json(req[http::field::origin], status, std::move(body));
  }

  static net::HttpResponse Json(std::string_view origin, http::status status, std::string body) {
    net::HttpResponse r{status, 11};
    SetCommonHeaders(origin, r);
    r.set(http::field::content_type, "application/json; charset=utf-8");
    r.body() = std::move(body);
    return r;
  }

  // Errors close the connection, as cpp-httplib does for every status >= 400 (observed on
  // llama-server: "Connection: close" on 400, 401, 404, 500, 501, 503).
  static asio::awaitable<void> SendError(const net::HttpRequest& req, net::Responder& res,
                                         int status, std::string body) {
    res.CloseAfterResponse();
    co_await res.Send(Json(req, static_cast<http::status>(status), std::move(body)));
  }

  asio::awaitable<void> Metrics(const net::HttpRequest& req, net::Responder& res) {
    if (!options_.llama.metrics) {
      co_await SendError(req, res, 501,
                         HandlerError(501,
                                      "This server does not support metrics endpoint. Start it "
                                      "with `--metrics`",
                                      "not_supported_error"));
      co_return;
    }
    net::HttpResponse r{http::status::ok, 11};
    SetCommonHeaders(req[http::field::origin], r);
    r.set("Process-Start-Time-Unix", std::to_string(start_unix_));
    r.set(http::field::content_type, "text/plain; version=0.0.4");
    r.body() = engine_.metrics().RenderLlamaCpp(engine_.Gauges());
    co_await res.Send(std::move(r));
  }

  // Reads a number field; llama-server's messages for a wrong type (observed:
  // "Field 'max_tokens': [json.exception.type_error.302] type must be number, but is string").
  static std::optional<std::string> ReadNumber(const json::object& body, std::string_view key,
                                               std::optional<int64_t>* out) {
    const json::value* v = body.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (v->is_int64()) {
      *out = v->get_int64();
    } else if (v->is_uint64()) {
      *out = static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
    } else if (v->is_double()) {
      *out = static_cast<int64_t>(v->get_double());
    } else {
      const char* kind = v->is_string()  ? "string"
                         : v->is_bool()  ? "boolean"
                         : v->is_array() ? "array"
                                         : "object";
      return fmt::format(
          "Field '{}': [json.exception.type_error.302] type must be number, but is {}", key, kind);
    }
    return std::nullopt;
  }

  // Parses a completion body. Returns the error response to send instead, if any.
  std::optional<std::pair<int, std::string>> ParseCall(const net::HttpRequest& req, Api api,
                                                       CompletionCall* call) const {
    const ParsedJson parsed = ParseJsonBody(req.body());
    if (!parsed.value) {
      // Malformed JSON is nlohmann's parse_error, not invalid_argument: 500 (1.5).
      const auto [line, column] = LineColumn(req.body(), parsed.error_offset);
      const std::string message =
          parsed.empty_input
              ? "[json.exception.parse_error.101] parse error at line 1, column 1: attempting to "
                "parse an empty input; check that your input string or stream contains the "
                "expected JSON"
              : fmt::format(
                    "[json.exception.parse_error.101] parse error at line {}, column {}: "
                    "syntax error while parsing value - {}",
                    line, column, parsed.error);
      return std::pair{500, HandlerError(500, message, "server_error")};
    }
    static const json::object kEmpty;
    const json::object& body = parsed.value->is_object() ? parsed.value->get_object() : kEmpty;
    call->api = api;
    if (api == Api::kChat) {
      const json::value* messages = body.if_contains("messages");
      if (messages == nullptr) {
        return std::pair{400, HandlerError(400, "'messages' is required", "invalid_request_error")};
      }
      if (!messages->is_array()) {
        return std::pair{
            400, HandlerError(400, "Expected 'messages' to be an array", "invalid_request_error")};
      }
      std::vector<std::pair<std::string, std::string>> turns;
      for (const json::value& m : messages->get_array()) {
        if (!m.is_object()) continue;
        const json::object& o = m.get_object();
        std::string role = o.contains("role") && o.at("role").is_string()
                               ? std::string(o.at("role").get_string())
                               : std::string("user");
        turns.emplace_back(std::move(role),
                           o.contains("content") ? MessageContent(o.at("content")) : "");
      }
      call->prompt = RenderChatPrompt(turns);
    } else {
      const json::value* prompt = body.if_contains("prompt");
      if (prompt == nullptr) {
        return std::pair{400, HandlerError(400,
                                           "[json.exception.out_of_range.403] key 'prompt' not "
                                           "found",
                                           "invalid_request_error")};
      }
      call->prompt = MessageContent(*prompt);
      if (prompt->is_array() && call->prompt.empty()) {
        // An array of token ids: each id is one token.
        call->n_prompt_tokens = prompt->get_array().size();
      }
    }
    if (call->n_prompt_tokens == 0) {
      call->n_prompt_tokens = 1 + engine_.tokenizer().CountTokens(call->prompt);  // + BOS
    }
    // n_predict, else max_tokens, else max_completion_tokens (n_predict wins when both are
    // given, as observed).
    for (std::string_view key : {"max_completion_tokens", "max_tokens", "n_predict"}) {
      std::optional<int64_t> v;
      if (auto err = ReadNumber(body, key, &v)) {
        return std::pair{400, HandlerError(400, *err, "invalid_request_error")};
      }
      if (v) call->n_predict = *v;
    }
    if (const json::value* s = body.if_contains("stream"); s != nullptr && s->is_bool()) {
      call->stream = s->get_bool();
    }
    if (const json::value* so = body.if_contains("stream_options");
        so != nullptr && so->is_object()) {
      if (const json::value* iu = so->get_object().if_contains("include_usage");
          iu != nullptr && iu->is_bool()) {
        call->include_usage = iu->get_bool();
      }
    }
    if (const json::value* rp = body.if_contains("return_progress");
        rp != nullptr && rp->is_bool()) {
      call->return_progress = rp->get_bool();
    }
    std::optional<int64_t> seed;
    ReadNumber(body, "seed", &seed);
    if (seed && *seed >= 0) call->seed = static_cast<uint64_t>(*seed);
    std::optional<int64_t> ping;
    ReadNumber(body, "sse_ping_interval", &ping);
    call->ping_s = ping;
    call->stop = StopStrings(body);
    return std::nullopt;
  }

  asio::awaitable<void> Completion(net::HttpRequest& req, net::Responder& res, Api api) {
    CompletionCall call;
    if (auto err = ParseCall(req, api, &call)) {
      co_await SendError(req, res, err->first, std::move(err->second));
      co_return;
    }
    const uint64_t task_id = engine_.NextTaskId();
    const uint64_t index = engine_.NextGenerationIndex();
    const bool fail = engine_.ShouldFail(index);
    const int fail_status = options_.fail_status;
    if (fail && !(call.stream && options_.fail_after_tokens)) {
      LogLlamaCpp('E', fmt::format("srv    send_error: task id = {}, error: sim: simulated "
                                   "failure (--sim-fail-rate)",
                                   task_id));
      co_await SendError(req, res, fail_status,
                         HandlerError(fail_status, "sim: simulated failure (--sim-fail-rate)",
                                      ErrorType(fail_status)));
      engine_.OnAnswered();
      co_return;
    }
    // Deferred until a slot is free; nothing at all is sent meanwhile (1.6 step 1, 1.11).
    std::optional<size_t> slot = co_await engine_.slots().Acquire(res);
    if (!slot) {
      LogLlamaCpp('W', fmt::format("srv  cancel_tasks: cancel task, id_task = {}", task_id));
      co_return;
    }
    struct Lease {
      SlotGate& gate;
      size_t slot;
      ~Lease() { gate.Release(slot); }
    } lease{engine_.slots(), *slot};
    if (res.client_gone()) co_return;
    if (engine_.hung()) {
      co_await res.WaitGone();
      co_return;
    }
    // The context check runs when the slot starts the task; the error is an ordinary JSON
    // response because no header was sent yet (1.5, 1.6 step 1).
    if (call.n_prompt_tokens >= model_.n_ctx_slot) {
      LogLlamaCpp('E', fmt::format("srv    send_error: task id = {}, error: request ({} tokens) "
                                   "exceeds the available context size ({} tokens), try "
                                   "increasing it",
                                   task_id, call.n_prompt_tokens, model_.n_ctx_slot));
      co_await SendError(req, res, 400,
                         llama_wire::ContextOverflowError(call.n_prompt_tokens, model_.n_ctx_slot));
      co_return;
    }
    GenerationRequest gen;
    gen.task_id = task_id;
    gen.seed =
        call.seed ? Mix64(options_.seed ^ Mix64(*call.seed)) : Mix64(options_.seed + task_id);
    gen.n_prompt_tokens = call.n_prompt_tokens;
    // The prompt goes through in -ub batches; the simulator keeps no prompt cache, so nothing of
    // it is cached. Progress chunks only in a stream, as llama-server sends them.
    gen.n_prompt_cached = 0;
    gen.prefill_batch = model_.plan.n_ubatch;
    gen.return_progress = call.stream && call.return_progress;
    // Unset or negative: the simulator's default length (llama-server would run to the context).
    // 0 still yields one token, as llama-server does.
    const uint64_t requested =
        call.n_predict < 0 ? options_.default_max_tokens : std::max<int64_t>(call.n_predict, 1);
    const uint64_t room = model_.n_ctx_slot - call.n_prompt_tokens;
    gen.max_tokens = std::min(requested, room);
    gen.stop = call.stop;
    gen.stream = call.stream;
    const int64_t ping_s = call.ping_s.value_or(options_.llama.sse_ping_interval_s);
    gen.ping_interval = std::chrono::milliseconds(ping_s > 0 ? ping_s * 1000 : 0);
    if (fail && call.stream) gen.fail_after_tokens = options_.fail_after_tokens;
    const std::string id = "chatcmpl-" + RandomId(options_.seed, task_id, 32, kIdAlphabet);
    const int64_t created = UnixNow();
    LogLlamaCpp(
        'I', fmt::format("slot launch_slot_: id {:2} | task {} | processing task", *slot, task_id));

    GenerationOutcome out;
    if (call.stream) {
      net::http::response_header<> header;
      SetStreamHeaders(req, header);
      if (!co_await res.StartChunked(std::move(header), http::status::ok)) co_return;
      llama_wire::StreamSink sink(res, call.api, id, created, model_.alias);
      out = co_await Generate(engine_, res, gen, *slot, &sink);
      if (out.end == GenerationEnd::kCancelled) {
        LogLlamaCpp('W', fmt::format("srv  cancel_tasks: cancel task, id_task = {}", task_id));
        co_return;
      }
      if (out.end == GenerationEnd::kFailed) {
        // After the headers an error is one event, and the stream ends without [DONE] (1.6).
        std::string event = "data: ";
        event += HandlerError(fail_status, "sim: simulated failure (--sim-fail-rate)",
                              ErrorType(fail_status));
        event += "\n\n";
        res.CloseAfterResponse();
        if (co_await res.WriteChunk(event)) co_await res.FinishChunked();
        engine_.OnAnswered();
        co_return;
      }
      const std::string tail = llama_wire::FinalEvents(model_.alias, call, out, id, created);
      if (co_await res.WriteChunk(tail)) co_await res.FinishChunked();
    } else {
      out = co_await Generate(engine_, res, gen, *slot, nullptr);
      if (out.end == GenerationEnd::kCancelled) {
        LogLlamaCpp('W', fmt::format("srv  cancel_tasks: cancel task, id_task = {}", task_id));
        co_return;
      }
      co_await res.Send(
          Json(req, http::status::ok, llama_wire::FinalBody(model_.alias, call, out, id, created)));
    }
    LogLlamaCpp('I', fmt::format("slot      release: id {:2} | task {} | stop processing: "
                                 "n_tokens = {}, truncated = {}",
                                 *slot, task_id, call.n_prompt_tokens + out.n_tokens,
                                 requested > room ? 1 : 0));
    engine_.OnAnswered();
  }

  static void SetStreamHeaders(const net::HttpRequest& req, net::http::response_header<>& h) {
    h.set(http::field::server, "llama.cpp");
    h.set(http::field::access_control_allow_origin, req[http::field::origin]);
    h.set("X-Accel-Buffering", "no");  // added to every streamed response (1.2)
    h.set(http::field::content_type, "text/event-stream");
  }

  asio::awaitable<void> Tokenize(net::HttpRequest& req, net::Responder& res) {
    const ParsedJson parsed = ParseJsonBody(req.body());
    std::string content;
    bool with_pieces = false;
    if (parsed.value && parsed.value->is_object()) {
      const json::object& o = parsed.value->get_object();
      if (o.contains("content")) content = MessageContent(o.at("content"));
      if (o.contains("with_pieces") && o.at("with_pieces").is_bool()) {
        with_pieces = o.at("with_pieces").get_bool();
      }
    }
    JsonWriter w;
    w.BeginObject().Key("tokens").BeginArray();
    for (int32_t t : engine_.tokenizer().Tokenize(content)) {
      if (with_pieces) {
        w.BeginObject().Key("id").Int(t).Key("piece").String(engine_.tokenizer().Piece(t));
        w.EndObject();
      } else {
        w.Int(t);
      }
    }
    w.EndArray().EndObject();
    co_await res.Send(Json(req, http::status::ok, w.Take()));
  }

  asio::awaitable<void> Detokenize(net::HttpRequest& req, net::Responder& res) {
    const std::vector<int32_t> tokens = DetokenizeIds(ParseJsonBody(req.body()));
    JsonWriter w;
    w.BeginObject().Key("content").String(engine_.tokenizer().Detokenize(tokens)).EndObject();
    co_await res.Send(Json(req, http::status::ok, w.Take()));
  }

  asio::awaitable<void> ApplyTemplate(net::HttpRequest& req, net::Responder& res) {
    CompletionCall call;
    if (auto err = ParseCall(req, Api::kChat, &call)) {
      co_await SendError(req, res, err->first, std::move(err->second));
      co_return;
    }
    JsonWriter w;
    w.BeginObject().Key("prompt").String(call.prompt).EndObject();
    co_await res.Send(Json(req, http::status::ok, w.Take()));
  }

  SimEngine& engine_;
  const SimOptions& options_;
  LlamaCppModel model_;
  const int64_t start_unix_ = UnixNow();
};

}  // namespace

StatusOr<LlamaCppModel> LoadLlamaCppModel(const SimOptions& options) {
  const std::string& path = options.llama.model;
  if (path.empty()) {
    // llama-server without -m becomes a router (1.3), which the simulator does not model.
    LogLlamaCpp('E',
                "srv  llama_server: sim: -m/--model is required (router mode is not "
                "simulated)");
    return Status::InvalidArgument("-m/--model is required");
  }
  auto file = ReadGgufFile(path);
  if (!file.ok()) {
    LogLoadFailure(path, file.status().message());
    return file.status();
  }
  auto info = ModelInfoFromGguf(*file, path);
  if (!info.ok()) {
    LogLoadFailure(path, info.status().message());
    return info.status();
  }
  LlamaCppSettings settings = options.llama.settings;
  // The simulator presents itself as a CPU build: nothing is offloaded, as with -ngl 0.
  settings.n_gpu_layers = 0;
  auto plan = PlanLlamaCpp(*info, settings, 0);
  if (!plan.ok()) {
    LogLlamaCpp('E', fmt::format("llama_init_from_model: failed to initialize the context: {}",
                                 plan.status().message()));
    LogLlamaCpp('E',
                fmt::format("srv    load_model: failed to create context with model '{}'", path));
    LogLlamaCpp('E', "srv  llama_server: exiting due to model loading error");
    return plan.status();
  }
  LlamaCppModel m;
  m.path = path;
  m.info = std::move(*info);
  m.plan = std::move(*plan);
  for (const GgufTensorInfo& t : file->tensors)
    m.n_params += t.n_elements;
  m.ftype = FtypeName(*file);
  if (auto tok = file->GetString("tokenizer.ggml.model")) m.vocab_type = *tok == "gpt2" ? 2 : 1;
  m.chat_template = file->GetString("tokenizer.chat_template").value_or("");
  m.aliases = options.llama.aliases;
  std::sort(m.aliases.begin(), m.aliases.end());
  if (m.aliases.empty()) m.aliases.push_back(path);
  m.alias = m.aliases.front();
  m.n_ctx_slot = m.plan.ctx_per_slot(m.info);
  return m;
}

std::unique_ptr<Flavor> NewLlamaCppFlavor(SimEngine& engine, LlamaCppModel model) {
  return std::make_unique<LlamaCppFlavor>(engine, std::move(model));
}

}  // namespace cortex::sim
