#include "sim/vllm_flavor.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "model/hf_config.h"
#include "model/known_models.h"
#include "sim/generation.h"
#include "sim/json_writer.h"
#include "sim/startup_log.h"
#include "sim/text_source.h"
#include "sim/vllm_wire.h"
#include "util/bytes.h"

namespace cortex::sim {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
namespace json = boost::json;

constexpr std::string_view kVersion = "0.11.0";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kFallbackModel = "Qwen/Qwen2.5-0.5B-Instruct";
// vLLM's default gpu_memory_utilization (the planner's value, D-engine-apis.md 2.8).
constexpr double kDefaultUtilization = 0.92;

void LogApi(std::string_view where, std::string_view message, std::string_view level = "INFO") {
  LogVllm("APIServer", level, where, message);
}

void LogEngine(std::string_view where, std::string_view message, std::string_view level = "INFO") {
  LogVllm("EngineCore_0", level, where, message);
}

using vllm_wire::Api;
using vllm_wire::CompletionCall;
using vllm_wire::ErrorBody;
using vllm_wire::ErrorType;
using vllm_wire::ValidationMessage;

bool DirectoryExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class VllmFlavor : public Flavor {
 public:
  VllmFlavor(SimEngine& engine, VllmModel model)
      : engine_(engine), options_(engine.options()), model_(std::move(model)), dev_mode_([] {
          const char* v = std::getenv("VLLM_SERVER_DEV_MODE");
          return v != nullptr && std::string_view(v) == "1";
        }()) {}

  bool listens_while_loading() const override { return false; }
  uint64_t planned_bytes() const override { return model_.plan.memory.total_bytes(); }

  net::HttpResponse Reject(http::status status, std::string_view message) const override {
    const int code = static_cast<int>(status);
    return Json(status, ErrorBody(code, message, ErrorType(code)));
  }

  void LogIgnoredFlag(const std::string& flag) override {
    // On stderr, like every simulator note about its argv.
    std::fputs(fmt::format("{}sim: ignoring unknown flag {}\n",
                           VllmPrefix("APIServer", "WARNING", "arg_utils.py:1"), flag)
                   .c_str(),
               stderr);
  }

  void LogLoading() override {
    LogApi("api_server.py:1885", fmt::format("vLLM API server version {}", kVersion));
    LogApi("utils.py:326",
           fmt::format("non-default args: {{'model': '{}', 'max_model_len': {}, "
                       "'max_num_seqs': {}, 'enable_sleep_mode': {}}}",
                       model_.model, model_.plan.max_model_len, model_.plan.max_num_seqs,
                       options_.vllm.enable_sleep_mode ? "True" : "False"));
    if (model_.shape_assumed) {
      LogApi("model.py:1",
             fmt::format("sim: '{}' is neither a model directory nor a known repo id; sizes "
                         "assume the shape of {}",
                         model_.model, kFallbackModel),
             "WARNING");
    }
    LogApi("model.py:1510", fmt::format("Using max model len {}", model_.plan.max_model_len));
  }

  void LogHold(uint64_t held) override {
    LogEngine("gpu_worker.py:1",
              fmt::format("sim: holding {:.2f} GiB ({:.0f}% of the planned {:.2f} GiB)",
                          static_cast<double>(held) / kGiB, options_.hold_memory * 100,
                          static_cast<double>(planned_bytes()) / kGiB));
  }

  void LogReady(const std::string& host, uint16_t port) override {
    for (const auto& [where, message] :
         VllmLoadLines(model_.info, model_.plan, options_.load_seconds)) {
      LogEngine(where, message);
    }
    LogApi("api_server.py:1600", "Supported tasks: ['generate']");
    LogApi("api_server.py:1971", fmt::format("Starting vLLM server on http://{}:{}", host, port));
    LogApi("launcher.py:29", "Available routes are:");
    for (const char* route :
         {"/health, Methods: GET", "/load, Methods: GET", "/ping, Methods: GET, POST",
          "/tokenize, Methods: POST", "/detokenize, Methods: POST", "/v1/models, Methods: GET",
          "/version, Methods: GET", "/v1/chat/completions, Methods: POST",
          "/v1/completions, Methods: POST", "/metrics, Methods: GET"}) {
      LogApi("launcher.py:37", fmt::format("Route: {}", route));
    }
    if (SleepRoutes()) {
      for (const char* route :
           {"/sleep, Methods: POST", "/wake_up, Methods: POST", "/is_sleeping, Methods: GET"}) {
        LogApi("launcher.py:37", fmt::format("Route: {}", route));
      }
    }
    LogUvicorn(fmt::format("Started server process [{}]", ::getpid()));
    LogUvicorn("Waiting for application startup.");
    LogUvicorn("Application startup complete.");
  }

  void LogBindFailure(const std::string& host, uint16_t port, const std::string& why) override {
    LogApi("api_server.py:1",
           fmt::format("OSError: [Errno 98] Address already in use ({}:{}: {})", host, port, why),
           "ERROR");
  }

  void LogShutdown() override {
    LogUvicorn("Shutting down");
    LogUvicorn("Waiting for application shutdown.");
    LogUvicorn("Application shutdown complete.");
    LogUvicorn(fmt::format("Finished server process [{}]", ::getpid()));
  }

  void LogCrash(uint64_t answered) override {
    // An engine-core death as vLLM reports it (2.1, 2.3).
    LogEngine("core.py:710",
              fmt::format("EngineCore encountered a fatal error. sim: simulated crash after {} "
                          "requests (--sim-crash-after)",
                          answered),
              "ERROR");
    LogApi("async_llm.py:420", "AsyncLLM output_handler failed.", "ERROR");
    LogApi("async_llm.py:420",
           "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered "
           "an issue. See stack trace (above) for the root cause.",
           "ERROR");
  }

  asio::awaitable<void> Handle(net::HttpRequest& req, net::Responder& res) override {
    const auto [path, query] = SplitTarget(req.target());
    if (engine_.hung()) {
      co_await res.WaitGone();  // --sim-hang-after: nothing, the socket stays open
      co_return;
    }
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    if (engine_.state() == EngineState::kDead) {
      // EngineDeadError: /health 503 empty, every other request 500 (2.3).
      if (path == "/health") {
        co_await res.Send(Empty(http::status::service_unavailable));
      } else {
        co_await res.Send(Json(http::status::internal_server_error,
                               ErrorBody(500,
                                         "EngineCore encountered an issue. See stack trace "
                                         "(above) for the root cause.",
                                         "InternalServerError")));
      }
      co_return;
    }
    // The API key guards /v1 paths only; the failure body is a bare string (2.2).
    if (!options_.vllm.api_keys.empty() && path.substr(0, 3) == "/v1" && !KeyAccepted(req)) {
      co_await res.Send(Json(http::status::unauthorized, R"({"error":"Unauthorized"})"));
      co_return;
    }
    if (path == "/health" && get) {
      co_await res.Send(Empty(http::status::ok));  // 200, empty body (2.3)
    } else if (path == "/ping" && (get || post)) {
      co_await res.Send(Empty(http::status::ok));
    } else if (path == "/load" && get) {
      JsonWriter w;
      w.BeginObject().Key("server_load").Uint(engine_.Gauges().running + engine_.Gauges().waiting);
      w.EndObject();
      co_await res.Send(Json(http::status::ok, w.Take()));
    } else if (path == "/version" && get) {
      co_await res.Send(Json(http::status::ok, fmt::format(R"({{"version":"{}"}})", kVersion)));
    } else if (path == "/metrics" && get) {
      net::HttpResponse r{http::status::ok, 11};
      r.set(http::field::server, "uvicorn");
      r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      VllmCacheInfo cache;
      cache.block_size = model_.plan.settings.block_size;
      cache.num_gpu_blocks = model_.plan.num_blocks;
      cache.cache_dtype = model_.plan.settings.kv_cache_dtype;
      cache.gpu_memory_utilization =
          model_.plan.settings.gpu_memory_utilization.value_or(kDefaultUtilization);
      r.body() = engine_.metrics().RenderVllm(engine_.Gauges(), ServedName(), cache);
      co_await res.Send(std::move(r));
    } else if (path == "/v1/models" && get) {
      co_await res.Send(Json(http::status::ok, vllm_wire::ModelsBody(model_, options_.seed)));
    } else if (path == "/v1/chat/completions" && post) {
      co_await Completion(req, res, Api::kChat);
    } else if (path == "/v1/completions" && post) {
      co_await Completion(req, res, Api::kCompletion);
    } else if (path == "/tokenize" && post) {
      co_await Tokenize(req, res);
    } else if (path == "/detokenize" && post) {
      co_await Detokenize(req, res);
    } else if (SleepRoutes() && path == "/sleep" && post) {
      const int level = QueryValue(query, "level").value_or("1") == "2" ? 2 : 1;
      Sleep(level);
      co_await res.Send(Empty(http::status::ok));
    } else if (SleepRoutes() && path == "/wake_up" && post) {
      WakeUp();
      co_await res.Send(Empty(http::status::ok));
    } else if (SleepRoutes() && path == "/is_sleeping" && get) {
      co_await res.Send(
          Json(http::status::ok,
               fmt::format(R"({{"is_sleeping":{}}})", engine_.state() == EngineState::kSleeping)));
    } else if (KnownPath(path)) {
      co_await res.Send(
          Json(http::status::method_not_allowed, R"({"detail":"Method Not Allowed"})"));
    } else {
      // Starlette's default for an unknown route (2.2, 3.7).
      co_await res.Send(Json(http::status::not_found, R"({"detail":"Not Found"})"));
    }
  }

 private:
  // The sleep routes exist only in dev mode, and work only with sleep mode on (2.2).
  bool SleepRoutes() const { return dev_mode_ && options_.vllm.enable_sleep_mode; }

  bool KnownPath(std::string_view path) const {
    for (std::string_view p :
         {"/health", "/ping", "/load", "/version", "/metrics", "/v1/models", "/v1/chat/completions",
          "/v1/completions", "/tokenize", "/detokenize"}) {
      if (p == path) return true;
    }
    return SleepRoutes() && (path == "/sleep" || path == "/wake_up" || path == "/is_sleeping");
  }

  bool KeyAccepted(const net::HttpRequest& req) const {
    const std::string_view auth = req[http::field::authorization];
    for (const std::string& key : options_.vllm.api_keys) {
      if (auth == "Bearer " + key) return true;
    }
    return false;
  }

  const std::string& ServedName() const { return model_.served_names.front(); }

  static net::HttpResponse Json(http::status status, std::string body) {
    net::HttpResponse r{status, 11};
    r.set(http::field::server, "uvicorn");
    r.set(http::field::content_type, "application/json");
    r.body() = std::move(body);
    return r;
  }

  static net::HttpResponse Empty(http::status status) {
    net::HttpResponse r{status, 11};
    r.set(http::field::server, "uvicorn");
    return r;
  }

  void Sleep(int level) {
    if (engine_.state() == EngineState::kSleeping && engine_.sleep_level() >= level) return;
    LogApi("api_server.py:1", fmt::format("sleep the engine with level {}", level));
    engine_.set_state(EngineState::kSleeping);
    engine_.slots().Pause();
    engine_.SetSleepLevel(level);
    LogEngine("gpu_worker.py:1", "It took 0.01 seconds to fall asleep.");
  }

  void WakeUp() {
    if (engine_.state() != EngineState::kSleeping) return;
    LogApi("api_server.py:1", "wake up the engine with tags: None");
    engine_.SetSleepLevel(0);
    engine_.set_state(EngineState::kReady);
    engine_.slots().Resume();
  }

  // Validates a completion body. Returns {status, body} to send instead when it is invalid.
  std::optional<std::pair<int, std::string>> ParseCall(const net::HttpRequest& req, Api api,
                                                       CompletionCall* call) const {
    auto invalid = [](std::string message) {
      return std::pair{400, ErrorBody(400, message, "BadRequestError")};
    };
    const ParsedJson parsed = ParseJsonBody(req.body());
    if (!parsed.value) {
      return invalid(ValidationMessage("json_invalid", std::to_string(parsed.error_offset),
                                       "JSON decode error",
                                       ", 'ctx': {'error': 'Expecting value'}"));
    }
    if (!parsed.value->is_object()) {
      return invalid(ValidationMessage("model_attributes_type", "",
                                       "Input should be a valid dictionary or object to extract "
                                       "fields from"));
    }
    const json::object& body = parsed.value->get_object();
    call->api = api;
    // The model must be a served name; an empty or absent model means the base model (3.6).
    if (const json::value* m = body.if_contains("model"); m != nullptr && m->is_string()) {
      const std::string name(m->get_string());
      const auto& names = model_.served_names;
      if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
        return std::pair{404, ErrorBody(404, fmt::format("The model `{}` does not exist.", name),
                                        "NotFoundError")};
      }
    }
    std::string prompt;
    if (api == Api::kChat) {
      const json::value* messages = body.if_contains("messages");
      if (messages == nullptr)
        return invalid(ValidationMessage("missing", "'messages'", "Field required"));
      if (!messages->is_array()) {
        return invalid(
            ValidationMessage("list_type", "'messages'", "Input should be a valid list"));
      }
      std::vector<std::pair<std::string, std::string>> turns;
      for (const json::value& m : messages->get_array()) {
        if (!m.is_object()) continue;
        const json::object& o = m.get_object();
        turns.emplace_back(o.contains("role") && o.at("role").is_string()
                               ? std::string(o.at("role").get_string())
                               : std::string("user"),
                           o.contains("content") ? MessageContent(o.at("content")) : "");
      }
      prompt = RenderChatPrompt(turns);
    } else {
      const json::value* p = body.if_contains("prompt");
      if (p == nullptr) return invalid(ValidationMessage("missing", "'prompt'", "Field required"));
      prompt = MessageContent(*p);
      if (p->is_array() && prompt.empty()) call->n_prompt_tokens = p->get_array().size();
    }
    if (call->n_prompt_tokens == 0) call->n_prompt_tokens = engine_.tokenizer().CountTokens(prompt);
    for (std::string_view key : {"max_tokens", "max_completion_tokens"}) {
      const json::value* v = body.if_contains(key);
      if (v == nullptr || v->is_null()) continue;
      if (!v->is_int64() && !v->is_uint64()) {
        return invalid(ValidationMessage("int_parsing", fmt::format("'{}'", key),
                                         "Input should be a valid integer"));
      }
      const int64_t n = v->is_int64() ? v->get_int64() : INT64_MAX;
      if (n < 1) {
        return invalid(fmt::format("{} must be at least 1, got {}.", key, n));
      }
      call->max_tokens = n;
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
    if (const json::value* seed = body.if_contains("seed"); seed != nullptr && seed->is_int64()) {
      call->seed = static_cast<uint64_t>(seed->get_int64());
    }
    call->stop = StopStrings(body);
    // The context check happens before generation, as an ordinary error (2.4, 2.5).
    const uint64_t max_len = model_.plan.max_model_len;
    const char* where = api == Api::kChat ? "messages" : "prompt";
    if (call->max_tokens &&
        call->n_prompt_tokens + static_cast<uint64_t>(*call->max_tokens) > max_len) {
      return invalid(fmt::format(
          "This model's maximum context length is {} tokens. However, you requested {} tokens "
          "({} in the {}, {} in the completion). Please reduce the length of the {} or "
          "completion.",
          max_len, call->n_prompt_tokens + *call->max_tokens, call->n_prompt_tokens, where,
          *call->max_tokens, where));
    }
    if (call->n_prompt_tokens >= max_len) {
      return invalid(fmt::format(
          "This model's maximum context length is {} tokens. However, your request has {} input "
          "tokens. Please reduce the length of the input {}.",
          max_len, call->n_prompt_tokens, where));
    }
    return std::nullopt;
  }

  asio::awaitable<void> Completion(net::HttpRequest& req, net::Responder& res, Api api) {
    CompletionCall call;
    if (auto err = ParseCall(req, api, &call)) {
      co_await res.Send(Json(static_cast<http::status>(err->first), std::move(err->second)));
      co_return;
    }
    const uint64_t task_id = engine_.NextTaskId();
    const uint64_t index = engine_.NextGenerationIndex();
    const bool fail = engine_.ShouldFail(index);
    const int fail_status = options_.fail_status;
    const std::string fail_body =
        ErrorBody(fail_status, "sim: simulated failure (--sim-fail-rate)", ErrorType(fail_status));
    if (fail && !(call.stream && options_.fail_after_tokens)) {
      co_await res.Send(Json(static_cast<http::status>(fail_status), fail_body));
      engine_.OnAnswered();
      co_return;
    }
    const std::string id =
        (api == Api::kChat ? "chatcmpl-" : "cmpl-") + RandomId(options_.seed, task_id, 32, kHex);
    const int64_t created = UnixNow();
    GenerationRequest gen;
    gen.task_id = task_id;
    gen.seed =
        call.seed ? Mix64(options_.seed ^ Mix64(*call.seed)) : Mix64(options_.seed + task_id);
    gen.n_prompt_tokens = call.n_prompt_tokens;
    // Chunked prefill: at most --max-num-batched-tokens prompt tokens per engine step.
    gen.prefill_batch = model_.plan.max_num_batched_tokens;
    gen.max_tokens = call.max_tokens
                         ? static_cast<uint64_t>(*call.max_tokens)
                         : std::min<uint64_t>(options_.default_max_tokens,
                                              model_.plan.max_model_len - call.n_prompt_tokens);
    gen.stop = call.stop;
    gen.stream = call.stream;
    if (fail && call.stream) gen.fail_after_tokens = options_.fail_after_tokens;

    if (call.stream) {
      // Headers go out at once; then nothing until the first token (2.5).
      http::response_header<> header;
      header.set(http::field::server, "uvicorn");
      header.set(http::field::content_type, "text/event-stream; charset=utf-8");
      if (!co_await res.StartChunked(std::move(header), http::status::ok)) co_return;
    }
    std::optional<size_t> slot = co_await engine_.slots().Acquire(res);
    if (!slot) {
      LogApi("async_llm.py:1", fmt::format("Aborted request {}.", id));
      co_return;
    }
    struct Lease {
      SlotGate& gate;
      size_t slot;
      ~Lease() { gate.Release(slot); }
    } lease{engine_.slots(), *slot};
    if (res.client_gone()) co_return;

    if (call.stream) {
      vllm_wire::StreamSink sink(res, api, id, created, ServedName());
      const GenerationOutcome out = co_await Generate(engine_, res, gen, *slot, &sink);
      if (out.end == GenerationEnd::kCancelled) {
        LogApi("async_llm.py:1", fmt::format("Aborted request {}.", id));
        co_return;
      }
      std::string tail;
      if (out.end == GenerationEnd::kFailed) {
        // A mid-stream error is one event, and the stream still ends with [DONE] (2.4).
        tail = "data: " +
               (engine_.state() == EngineState::kDead
                    ? ErrorBody(500,
                                "EngineCore encountered an issue. See stack trace "
                                "(above) for the root cause.",
                                "InternalServerError")
                    : fail_body) +
               "\n\n";
      } else if (call.include_usage) {
        tail = "data: " + vllm_wire::UsageChunk(ServedName(), call, out, id, created) + "\n\n";
      }
      tail += "data: [DONE]\n\n";
      if (co_await res.WriteChunk(tail)) co_await res.FinishChunked();
      if (engine_.state() != EngineState::kDead) engine_.OnAnswered();
      co_return;
    }
    const GenerationOutcome out = co_await Generate(engine_, res, gen, *slot, nullptr);
    if (out.end == GenerationEnd::kCancelled) {
      LogApi("async_llm.py:1", fmt::format("Aborted request {}.", id));
      co_return;
    }
    if (out.end == GenerationEnd::kFailed) {
      co_await res.Send(
          Json(http::status::internal_server_error,
               ErrorBody(500, "EngineCore encountered an issue.", "InternalServerError")));
      co_return;
    }
    co_await res.Send(
        Json(http::status::ok, vllm_wire::FinalBody(ServedName(), call, out, id, created)));
    engine_.OnAnswered();
  }

  asio::awaitable<void> Tokenize(net::HttpRequest& req, net::Responder& res) {
    const ParsedJson parsed = ParseJsonBody(req.body());
    std::string text;
    if (parsed.value && parsed.value->is_object()) {
      const json::object& o = parsed.value->get_object();
      if (o.contains("prompt")) {
        text = MessageContent(o.at("prompt"));
      } else if (o.contains("messages") && o.at("messages").is_array()) {
        std::vector<std::pair<std::string, std::string>> turns;
        for (const json::value& m : o.at("messages").get_array()) {
          if (!m.is_object() || !m.get_object().contains("content")) continue;
          const json::object& mo = m.get_object();
          turns.emplace_back(mo.contains("role") && mo.at("role").is_string()
                                 ? std::string(mo.at("role").get_string())
                                 : "user",
                             MessageContent(mo.at("content")));
        }
        text = RenderChatPrompt(turns);
      }
    } else {
      co_await res.Send(
          Json(http::status::bad_request,
               ErrorBody(400,
                         ValidationMessage("json_invalid", std::to_string(parsed.error_offset),
                                           "JSON decode error"),
                         "BadRequestError")));
      co_return;
    }
    const std::vector<int32_t> tokens = engine_.tokenizer().Tokenize(text);
    JsonWriter w;
    w.BeginObject().Key("count").Uint(tokens.size());
    w.Key("max_model_len").Uint(model_.plan.max_model_len).Key("tokens").BeginArray();
    for (int32_t t : tokens)
      w.Int(t);
    w.EndArray().Key("token_strs").Null().EndObject();
    co_await res.Send(Json(http::status::ok, w.Take()));
  }

  asio::awaitable<void> Detokenize(net::HttpRequest& req, net::Responder& res) {
    const std::vector<int32_t> tokens = DetokenizeIds(ParseJsonBody(req.body()));
    JsonWriter w;
    w.BeginObject().Key("prompt").String(engine_.tokenizer().Detokenize(tokens)).EndObject();
    co_await res.Send(Json(http::status::ok, w.Take()));
  }

  SimEngine& engine_;
  const SimOptions& options_;
  VllmModel model_;
  const bool dev_mode_;
};

}  // namespace

StatusOr<VllmModel> LoadVllmModel(const SimOptions& options) {
  VllmModel m;
  m.model = options.vllm.model;
  if (m.model.empty()) {
    std::fputs("vllm serve: error: the following arguments are required: model_tag\n", stderr);
    return Status::InvalidArgument("no model: pass MODEL or --model");
  }
  StatusOr<ModelInfo> info = Status::NotFound("unresolved");
  if (DirectoryExists(m.model)) {
    info = ReadHfModelDir(m.model);
    if (!info.ok()) {
      LogApi("model.py:1", fmt::format("ValueError: {}", info.status().message()), "ERROR");
      return info.status();
    }
  } else {
    info = LookupKnownModel(m.model, "bf16");
    if (!info.ok()) {
      // A repo id the table does not know: sizes from a small known shape (logged).
      info = LookupKnownModel(kFallbackModel, "bf16");
      if (!info.ok()) return info.status();
      info->name = m.model;
      m.shape_assumed = true;
    }
  }
  m.info = std::move(*info);
  m.served_names = options.vllm.served_model_names;
  if (m.served_names.empty()) m.served_names.push_back(m.model);
  const uint64_t pool = options.gpu_memory_bytes;
  const auto budget = static_cast<uint64_t>(kDefaultUtilization * static_cast<double>(pool));
  auto plan = PlanVllm(m.info, options.vllm.settings, budget, pool, 512 * kMiB);
  if (!plan.ok()) {
    LogEngine("core.py:1", fmt::format("ValueError: {}", plan.status().message()), "ERROR");
    LogApi("api_server.py:1",
           "RuntimeError: Engine core initialization failed. See root cause above.", "ERROR");
    return plan.status();
  }
  const VllmPlan& p = *plan;
  const uint64_t block = p.settings.block_size;
  const uint64_t blocks_per_request = (p.max_model_len + block - 1) / block;
  if (p.kv_bytes_per_token > 0 && p.num_blocks < blocks_per_request) {
    // vLLM's startup check (2.1): one request of max-model-len must fit in the pool.
    LogEngine(
        "core.py:1",
        fmt::format("ValueError: To serve at least one request with the model's max seq "
                    "len ({}), ({:.2f} GiB KV cache is needed, which is larger than the "
                    "available KV cache memory ({:.2f} GiB). Based on the available memory, "
                    "the estimated maximum model length is {}. Try increasing "
                    "`gpu_memory_utilization` or decreasing `max_model_len` when "
                    "initializing the engine.",
                    p.max_model_len,
                    static_cast<double>(blocks_per_request * block * p.kv_bytes_per_token) / kGiB,
                    static_cast<double>(p.kv_pool_bytes) / kGiB, p.kv_tokens),
        "ERROR");
    LogApi("api_server.py:1",
           "RuntimeError: Engine core initialization failed. See root cause above.", "ERROR");
    return Status::InvalidArgument("the KV cache cannot hold one request of max-model-len");
  }
  m.plan = std::move(*plan);
  return m;
}

std::unique_ptr<Flavor> NewVllmFlavor(SimEngine& engine, VllmModel model) {
  return std::make_unique<VllmFlavor>(engine, std::move(model));
}

}  // namespace cortex::sim
