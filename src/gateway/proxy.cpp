// The request path of the gateway: the stages of proxy_stages.h strung together, and the ones
// that wait (residency, admission, forwarding, relaying the answer).
#include <fmt/format.h>

#include "gateway/engine_errors.h"
#include "gateway/gateway_impl.h"
#include "gateway/sse.h"
#include "gateway/stream_relay.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
constexpr auto kConnectTimeout = 5s;
constexpr auto kBodyGapTimeout = 600s;  // between pieces of a response (a long prefill)
constexpr size_t kMaxPooledPerEngine = 64;
// How often a stream waiting for a burst gets a keep-alive comment (proxies and clients
// commonly give up on a silent stream after 30-60 s).
constexpr auto kKeepAliveInterval = 5s;

// A 503 with Retry-After: the lane is coming back (loading, paused, restarting, a burst).
ProxyError Unavailable(std::string message, std::string code, int retry_after_s) {
  ProxyError e;
  e.status = http::status::service_unavailable;
  e.message = std::move(message);
  e.type = "service_unavailable_error";
  e.code = std::move(code);
  e.retry_after_s = retry_after_s;
  e.error_metric = "unavailable";
  return e;
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string ClientKey(const net::HttpRequest& req) {
  const auto auth = req[http::field::authorization];
  if (!auth.empty()) return std::string(auth);
  const auto id = req["X-Client-Id"];
  return id.empty() ? std::string("anonymous") : std::string(id);
}

}  // namespace

asio::awaitable<StatusOr<std::shared_ptr<net::HttpConnection>>> Gateway::Impl::Acquire(
    int engine, bool* reused) {
  EngineRuntime& rt = engines[static_cast<size_t>(engine)];
  if (!rt.idle.empty()) {
    auto conn = std::move(rt.idle.back());
    rt.idle.pop_back();
    *reused = true;
    co_return conn;
  }
  *reused = false;
  const EngineEntry& e = table.engines()[static_cast<size_t>(engine)];
  auto fresh =
      co_await net::HttpConnection::Connect(io.get_executor(), e.host, e.port, kConnectTimeout);
  if (!fresh.ok()) co_return fresh.status();
  co_return std::shared_ptr<net::HttpConnection>(std::move(*fresh));
}

void Gateway::Impl::Release(int engine, std::shared_ptr<net::HttpConnection> conn) {
  EngineRuntime& rt = engines[static_cast<size_t>(engine)];
  if (conn && conn->reusable() && rt.idle.size() < kMaxPooledPerEngine && !stopped) {
    rt.idle.push_back(std::move(conn));
  }
}

asio::awaitable<std::optional<uint64_t>> Gateway::Impl::CountTokens(int engine,
                                                                    const std::string& text) {
  const EngineEntry& e = table.engines()[static_cast<size_t>(engine)];
  bool reused = false;
  auto conn = co_await Acquire(engine, &reused);
  if (!conn.ok()) co_return std::nullopt;
  net::HttpRequest req{http::verb::post, "/tokenize", 11};
  req.set(http::field::host, e.host);
  req.set(http::field::content_type, "application/json");
  req.body() = json::serialize(e.vllm_wire ? json::object{{"prompt", text}}
                                           : json::object{{"content", text}});
  if (!(co_await (*conn)->Write(req, 3s)).ok() || !(co_await (*conn)->ReadHeader(3s)).ok() ||
      (*conn)->status() != 200) {
    co_return std::nullopt;
  }
  auto body = co_await (*conn)->ReadToEnd(3s);
  Release(engine, *conn);
  if (!body.ok()) co_return std::nullopt;
  json::error_code ec;
  const json::value v = json::parse(*body, ec);
  if (ec || !v.is_object()) co_return std::nullopt;
  if (const auto* count = v.as_object().if_contains("count"); count && count->is_number()) {
    co_return count->to_number<uint64_t>();
  }
  if (const auto* tokens = v.as_object().if_contains("tokens"); tokens && tokens->is_array()) {
    co_return tokens->as_array().size();
  }
  co_return std::nullopt;
}

// Waits (bounded) until a supervised engine is resident and ready. False when it did not
// become ready: the client got a 503 with Retry-After, or has left.
asio::awaitable<bool> Gateway::Impl::EnterEngine(const LaneEntry& l, const EngineEntry& e,
                                                 Clock::time_point enter_deadline,
                                                 net::Responder& res) {
  // An engine paused for an ingest job's burst comes back when the job ends: say so now, with
  // the job's remaining time, instead of holding the client for load_wait.
  if (ingest != nullptr && residency->Unavailable(e.name)) {
    if (const int eta = ingest->BurstRetryAfterSeconds(); eta > 0) {
      ProxyError refusal =
          Unavailable(fmt::format("engine {} is paused while an ingest job runs a burst; "
                                  "it should be back in about {} s",
                                  e.name, eta),
                      "lane_paused", eta);
      co_await Fail(res, &l, std::move(refusal));
      co_return false;
    }
  }
  const ResidencyPort::Entry entry = co_await residency->Enter(e.name, enter_deadline, res);
  if (entry.access == ResidencyPort::Access::kClientGone || res.client_gone()) {
    if (entry.access == ResidencyPort::Access::kReady) residency->Leave(e.name);
    metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "client_left"}});
    co_return false;
  }
  if (entry.access != ResidencyPort::Access::kReady) {
    ProxyError refusal =
        Unavailable(entry.reason,
                    entry.access == ResidencyPort::Access::kPaused   ? "lane_paused"
                    : entry.access == ResidencyPort::Access::kFailed ? "engine_failed"
                                                                     : "lane_loading",
                    entry.retry_after_s);
    co_await Fail(res, &l, std::move(refusal));
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Gateway::Impl::Reply(net::Responder& res, net::HttpResponse response) {
  if (!res.started()) {
    co_await res.Send(std::move(response));
    co_return;
  }
  const std::string event = SseData(response.body());
  if (co_await res.WriteChunk(event)) co_await res.FinishChunked();
}

asio::awaitable<bool> Gateway::Impl::AwaitBurst(const LaneEntry& l, const EngineEntry& e,
                                                uint64_t tokens, uint64_t burst_ctx, bool stream,
                                                net::Responder& res) {
  if (stream) {
    http::response_header<> head;
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    head.set(http::field::server, "cortex");
    const bool started = co_await res.StartChunked(std::move(head), http::status::ok);
    if (!started) co_return false;
    const std::string note = fmt::format(
        ": cortex: the prompt has {} tokens; lane {} holds them only under engine {}'s burst "
        "profile ({} tokens); waiting for memory\n\n",
        tokens, l.name, e.name, burst_ctx);
    const bool written = co_await res.WriteChunk(note);
    if (!written) co_return false;
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         config.supervisor.ready_timeout_s + config.supervisor.drain_timeout_s +
                         config.supervisor.stop_timeout_s));
  auto last_note = Clock::now();
  while (!residency->BurstReady(e.name)) {
    if (Clock::now() >= deadline || stopped) {
      ProxyError refusal =
          Unavailable(fmt::format("engine {}'s burst profile, which lane {} needs for a "
                                  "prompt of {} tokens, did not come up in time; retry "
                                  "later",
                                  e.name, l.name, tokens),
                      "burst_timeout", 30);
      co_await Fail(res, &l, std::move(refusal));
      co_return false;
    }
    const bool here = co_await res.Sleep(100ms);
    if (!here) co_return false;
    if (stream && Clock::now() - last_note >= kKeepAliveInterval) {
      last_note = Clock::now();
      const std::string keep_alive = ": cortex: waiting for memory\n\n";
      const bool written = co_await res.WriteChunk(keep_alive);
      if (!written) co_return false;
    }
  }
  co_return true;
}

struct Gateway::Impl::BurstHold {
  Impl* impl = nullptr;
  std::string engine;
  std::string holder;
  ~BurstHold() {
    if (impl != nullptr && impl->residency != nullptr)
      impl->residency->ReleaseBurst(engine, holder);
  }
};

// A supervised engine entered (ResidencyPort::Enter) and not yet left.
struct Gateway::Impl::EngineUse {
  Impl* impl = nullptr;
  std::string engine;
  bool held() const { return impl != nullptr; }
  void Hold(Impl* i, const std::string& name) {
    impl = i;
    engine = name;
  }
  void Release() {
    // Null once cortex up is exiting and the supervisor is gone (frames still suspended in the
    // io_context are destroyed after it).
    if (impl != nullptr && impl->residency != nullptr) impl->residency->Leave(engine);
    impl = nullptr;
  }
  ~EngineUse() { Release(); }
};

// The admission slot: ours until the request ends, however it ends.
struct Gateway::Impl::AdmissionSlot {
  Impl* impl;
  uint64_t id;
  ~AdmissionSlot() { impl->Wake(impl->admission.Leave(id)); }
};

// While the exchange lasts, a client that leaves aborts the upstream connection (the server's
// disconnect watch calls back), so the engine cancels the work. End() takes the callback back
// before the connection can go to the pool and serve another request.
struct Gateway::Impl::UpstreamWatch {
  net::Responder* res = nullptr;
  void Start(net::Responder& r, std::shared_ptr<net::HttpConnection> c) {
    res = &r;
    r.OnGone([c = std::move(c)] { c->Abort(); });
  }
  void End() {
    if (res != nullptr) res->OnGone(nullptr);
    res = nullptr;
  }
  ~UpstreamWatch() { End(); }
};

asio::awaitable<void> Gateway::Impl::Fail(net::Responder& res, const LaneEntry* lane,
                                          ProxyError error) {
  if (lane != nullptr) {
    const std::string& name = lane->name;
    if (!error.error_metric.empty()) {
      metrics.Add("cortex_request_errors_total", {{"lane", name}, {"type", error.error_metric}});
    }
    metrics.Add("cortex_requests_total",
                {{"lane", name}, {"code", std::to_string(static_cast<int>(error.status))}});
  }
  net::HttpResponse response = ToResponse(error);
  co_await Reply(res, std::move(response));
}

void Gateway::Impl::Finished(int lane, int code, Clock::time_point start) {
  LaneMeters& m = meters[static_cast<size_t>(lane)];
  if (code == 200) {
    m.ok.Add();
  } else {
    metrics.Add("cortex_requests_total", {{"lane", table.lanes()[static_cast<size_t>(lane)].name},
                                          {"code", std::to_string(code)}});
  }
  m.duration.Observe(Seconds(Clock::now() - start));
}

asio::awaitable<int> Gateway::Impl::CheckContext(int lane, ChatRequest& request, BurstHold& burst,
                                                 net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  if (!rt.ctx_per_request) co_return lane;  // not learned yet: the engine will judge
  const uint64_t ctx = *rt.ctx_per_request;
  const std::string text = PromptText(request.body.get_object());
  uint64_t tokens = EstimateTokens(text);
  if (NeedsExactCount(tokens, ctx)) {
    if (auto exact = co_await CountTokens(l.engine, text)) tokens = *exact;
  }
  // Held only by the engine's burst profile: with `ingest.burst: auto`, the burst comes on for
  // this request (as for an ingest job) and the request is served, not refused.
  const std::string& engine_name = table.engines()[static_cast<size_t>(l.engine)].name;
  std::optional<uint64_t> burst_ctx;
  if (tokens > ctx && l.fallback_on_context < 0 && residency != nullptr && rt.managed &&
      config.ingest.burst != "never") {
    burst_ctx = residency->BurstContext(engine_name);
  }
  const ContextDecision decision = DecideContext(tokens, ctx, l.fallback_on_context, burst_ctx);
  switch (decision.kind) {
    case ContextDecision::Kind::kFits:
      co_return lane;
    case ContextDecision::Kind::kFallback:
      metrics.Add("cortex_fallbacks_total",
                  {{"lane", l.name},
                   {"to", table.lanes()[static_cast<size_t>(decision.lane)].name},
                   {"reason", "context"}});
      co_return decision.lane;
    case ContextDecision::Kind::kRefuse: {
      ProxyError refusal = ContextTooLong(tokens, l.name, ctx);
      co_await Fail(res, &l, std::move(refusal));
      co_return -1;
    }
    case ContextDecision::Kind::kBurst:
      break;
  }
  const std::string holder =
      fmt::format("request {} on lane {} ({} tokens)", next_id++, l.name, tokens);
  if (const Status held = residency->HoldBurst(engine_name, holder); !held.ok()) {
    ProxyError refusal =
        Unavailable(fmt::format("the prompt has {} tokens, which lane {} holds only "
                                "under engine {}'s burst profile ({} tokens), and the "
                                "burst cannot start now: {}",
                                tokens, l.name, engine_name, *burst_ctx, held.message()),
                    "burst_unavailable", 30);
    co_await Fail(res, &l, std::move(refusal));
    co_return -1;
  }
  burst.impl = this;
  burst.engine = engine_name;
  burst.holder = holder;
  const bool ready = co_await AwaitBurst(l, table.engines()[static_cast<size_t>(l.engine)], tokens,
                                         *burst_ctx, request.stream, res);
  co_return ready ? lane : -1;
}

asio::awaitable<int> Gateway::Impl::PickServingLane(int lane, net::Responder& res) {
  int serving = ServingLane(lane);
  const LaneEntry& asked = table.lanes()[static_cast<size_t>(lane)];
  const EngineRuntime& own = engines[static_cast<size_t>(asked.engine)];
  // A supervised engine paused for a burst, with no usable fallback: the request waits for it
  // (bounded, in EnterEngine) rather than failing at once.
  if (serving < 0 && own.managed) serving = lane;
  if (serving < 0 && own.health.state() == EngineState::kLoading) {
    const auto deadline = Clock::now() + std::min<Clock::duration>(asked.limits.max_wait, 15s);
    while (serving < 0 && Clock::now() < deadline && !res.client_gone()) {
      co_await res.Sleep(200ms);
      serving = ServingLane(lane);
    }
    if (res.client_gone()) co_return -1;
  }
  if (serving < 0) {
    const bool loading = own.health.state() == EngineState::kLoading;
    ProxyError refusal = Unavailable(
        loading ? fmt::format("lane {} is loading its model; retry shortly", asked.name)
                : fmt::format("lane {} is down (engine {}) and has no healthy fallback", asked.name,
                              table.engines()[static_cast<size_t>(asked.engine)].name),
        loading ? "lane_loading" : "lane_unavailable", loading ? 5 : 10);
    co_await Fail(res, &asked, std::move(refusal));
    co_return -1;
  }
  if (serving != lane) {
    metrics.Add("cortex_fallbacks_total", {{"lane", asked.name},
                                           {"to", table.lanes()[static_cast<size_t>(serving)].name},
                                           {"reason", "down"}});
  }
  co_return serving;
}

asio::awaitable<bool> Gateway::Impl::Admit(int lane, uint64_t id, std::string client,
                                           Clock::time_point start, net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const auto decision = admission.Arrive(id, lane, std::move(client), Clock::now());
  if (decision == AdmissionController::Decision::kRejected) {
    metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "queue_full"}});
    ProxyError e;
    e.status = http::status::too_many_requests;
    e.message = fmt::format("lane {} is full: {} requests in flight and {} waiting; retry shortly",
                            l.name, admission.in_flight(lane), admission.queued(lane));
    e.type = "rate_limit_error";
    e.code = "queue_full";
    e.retry_after_s = 1;
    co_await Fail(res, &l, std::move(e));
    co_return false;
  }
  if (decision == AdmissionController::Decision::kQueued) {
    auto waiter = std::make_shared<QueueWaiter>(io.get_executor());
    waiters[id] = waiter;
    ArmExpiry();
    while (!waiter->granted && !waiter->expired && !res.client_gone() && !stopped) {
      co_await res.Wait(waiter->timer);
      if (!waiter->granted && !waiter->expired) {
        waiter->timer.expires_at(asio::steady_timer::time_point::max());
      }
    }
    waiters.erase(id);
    if (!waiter->granted) {
      Wake(admission.Leave(id));  // out of the queue (no-op if Expire already removed it)
      if (res.client_gone() || stopped) {
        metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "client_left"}});
        co_return false;
      }
      metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "queue_timeout"}});
      ProxyError e;
      e.status = http::status::too_many_requests;
      e.message = fmt::format("waited {:.0f} s for lane {} without a free slot; retry later",
                              Seconds(Clock::now() - start), l.name);
      e.type = "rate_limit_error";
      e.code = "queue_timeout";
      e.retry_after_s = 5;
      co_await Fail(res, &l, std::move(e));
      co_return false;
    }
  }
  meters[static_cast<size_t>(lane)].queue_wait.Observe(Seconds(Clock::now() - start));
  co_return true;
}

asio::awaitable<std::shared_ptr<net::HttpConnection>> Gateway::Impl::Forward(
    int lane, const net::RawRequest& up, EngineUse& use, Clock::time_point deadline,
    UpstreamWatch& watch, net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
  EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  const auto header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      l.limits.max_wait + std::chrono::seconds(600));
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(kBodyGapTimeout);
  // A pooled connection the engine has closed meanwhile is retried once on a fresh one (nothing
  // reached the engine). A supervised engine that refuses the connection or drops it before
  // answering is crashing or restarting: nothing was answered yet, so the request waits for it
  // again, within the same deadline, instead of failing.
  Status failure;
  for (;;) {
    if (rt.managed && !use.held()) {
      if (!co_await EnterEngine(l, e, deadline, res)) co_return nullptr;
      use.Hold(this, e.name);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = false;
      auto c = co_await Acquire(l.engine, &reused);
      if (!c.ok()) {
        failure = c.status();
        break;
      }
      std::shared_ptr<net::HttpConnection> candidate = std::move(*c);
      watch.End();
      watch.Start(res, candidate);
      failure = co_await candidate->Write(up, gap);
      if (failure.ok()) {
        failure = co_await candidate->ReadHeader(header_timeout);
        if (failure.ok()) co_return candidate;
      }
      if (res.client_gone()) co_return nullptr;
      if (!reused) break;
    }
    if (failure.code() == Status::Code::kExhausted) break;
    if (!rt.managed || res.client_gone() || Clock::now() >= deadline) break;
    use.Release();
    co_await res.Sleep(std::chrono::milliseconds(100));
    if (res.client_gone()) co_return nullptr;
  }
  if (res.client_gone()) co_return nullptr;
  if (failure.code() == Status::Code::kExhausted) {
    // Out of descriptors here: the engine was never asked and its health stands.
    ProxyError err;
    err.status = http::status::service_unavailable;
    err.message = fmt::format("cortex has no descriptor free to reach engine {}: {}", e.name,
                              failure.message());
    err.type = "server_error";
    err.code = "gateway_overloaded";
    err.retry_after_s = 1;
    err.error_metric = "gateway_overloaded";
    co_await Fail(res, &l, std::move(err));
    co_return nullptr;
  }
  rt.health.OnRequest(false, Clock::now());
  // A supervised engine that stays unreachable is being restarted: a 503 tells the client to
  // come back, as for a loading engine.
  ProxyError err;
  err.status = rt.managed ? http::status::service_unavailable : http::status::bad_gateway;
  err.message =
      fmt::format("engine {} of lane {} did not answer: {}", e.name, l.name, failure.message());
  err.type = "server_error";
  err.code = "engine_unreachable";
  err.retry_after_s = 5;
  err.error_metric = "engine_unreachable";
  co_await Fail(res, &l, std::move(err));
  co_return nullptr;
}

asio::awaitable<void> Gateway::Impl::RelayEngineError(int lane,
                                                      std::shared_ptr<net::HttpConnection> conn,
                                                      UpstreamWatch& watch, Clock::time_point start,
                                                      net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
  EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  const int status = conn->status();
  auto body = co_await conn->ReadToEnd(
      std::chrono::duration_cast<std::chrono::milliseconds>(kBodyGapTimeout));
  if (res.client_gone()) co_return;
  const std::string raw = body.ok() ? *body : std::string();
  // An engine's 4xx is about the request, not the engine's health.
  if (status >= 500) {
    if (status == 503 && raw.find("Loading model") != std::string::npos) {
      rt.health.OnProbe(EngineHealth::Probe::kLoading, Clock::now());
    } else {
      rt.health.OnRequest(false, Clock::now());
    }
  }
  metrics.Add("cortex_request_errors_total",
              {{"lane", l.name}, {"type", "engine_" + std::to_string(status)}});
  Finished(lane, status, start);
  // Its body, normalised, with its status (a 503 or 429 keeps a Retry-After).
  net::HttpResponse r =
      JsonResponse(static_cast<http::status>(status), NormalizeEngineError(status, raw, e.name));
  if (status == 503 || status == 429) r.set(http::field::retry_after, "5");
  watch.End();
  if (body.ok()) Release(l.engine, std::move(conn));
  co_await Reply(res, std::move(r));
}

asio::awaitable<void> Gateway::Impl::RelayWhole(int lane, std::shared_ptr<net::HttpConnection> conn,
                                                UpstreamWatch& watch, Clock::time_point start,
                                                net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
  EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  auto whole = co_await conn->ReadToEnd(
      std::chrono::duration_cast<std::chrono::milliseconds>(kBodyGapTimeout));
  if (res.client_gone()) co_return;
  if (!whole.ok()) {
    rt.health.OnRequest(false, Clock::now());
    metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "engine_dropped"}});
    Finished(lane, 502, start);
    net::HttpResponse failed = ErrorResponse(
        http::status::bad_gateway,
        fmt::format("engine {} failed while answering: {}", e.name, whole.status().message()),
        "server_error", "engine_failed");
    co_await Reply(res, std::move(failed));
    co_return;
  }
  rt.health.OnRequest(true, Clock::now());
  if (const std::optional<TokenUsage> usage = UsageOfBody(*whole)) {
    meters[static_cast<size_t>(lane)].prompt_tokens.Add(static_cast<double>(usage->prompt_tokens));
    meters[static_cast<size_t>(lane)].completion_tokens.Add(
        static_cast<double>(usage->completion_tokens));
  }
  Finished(lane, 200, start);
  watch.End();
  Release(l.engine, std::move(conn));
  const std::string_view json_type = "application/json";
  co_await res.SendBody(http::status::ok, json_type, std::move(*whole));
}

asio::awaitable<void> Gateway::Impl::RelayStream(int lane,
                                                 std::shared_ptr<net::HttpConnection> conn,
                                                 bool client_wants_usage, UpstreamWatch& watch,
                                                 Clock::time_point start, net::Responder& res) {
  const LaneEntry& l = table.lanes()[static_cast<size_t>(lane)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
  EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  LaneMeters& m = meters[static_cast<size_t>(lane)];
  rt.health.OnRequest(true, Clock::now());
  if (!res.started()) {  // else started while a burst came up
    http::response_header<> head;
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    head.set(http::field::server, "cortex");
    const bool started = co_await res.StartChunked(std::move(head), http::status::ok);
    if (!started) co_return;
  }
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(kBodyGapTimeout);
  StreamRelay relay(e.name, l.name, client_wants_usage);
  bool read_failed = false;
  for (;;) {
    auto piece = co_await conn->ReadSome(gap);
    if (res.client_gone()) co_return;
    if (!piece.ok()) {
      read_failed = true;
      break;
    }
    if (piece->empty()) break;  // the engine ended the body
    const auto now = Clock::now();
    const StreamRelay::Fed fed = relay.Feed(*piece, now);
    uint64_t gaps = fed.tokens;
    if (fed.first_token) {
      m.ttft.Observe(Seconds(now - start));
      --gaps;
    }
    for (uint64_t i = 0; i < gaps; ++i)
      m.itl.Observe(i == 0 ? Seconds(fed.gap) : 0.0);
    if (fed.engine_error) rt.health.OnRequest(false, now);
    if (!fed.out.empty() && !co_await res.WriteChunk(fed.out)) co_return;  // client left
  }
  std::string last_event;
  const StreamRelay::End end = relay.Finish(read_failed, &last_event);
  if (end != StreamRelay::End::kComplete) {
    // The engine went away mid-stream, or ended it without [DONE]: one error event, then the
    // end.
    rt.health.OnRequest(false, Clock::now());
    metrics.Add("cortex_request_errors_total",
                {{"lane", l.name},
                 {"type", end == StreamRelay::End::kEngineFailed ? "engine_dropped"
                                                                 : "engine_stream_incomplete"}});
    co_await res.WriteChunk(last_event);
  }
  co_await res.FinishChunked();
  watch.End();
  if (!read_failed && relay.saw_done()) Release(l.engine, std::move(conn));
  if (const auto& usage = relay.usage()) {
    m.prompt_tokens.Add(static_cast<double>(usage->prompt_tokens));
    m.completion_tokens.Add(static_cast<double>(usage->completion_tokens));
    if (auto tps = TokensPerSecond(usage->completion_tokens, relay.first_token_at(),
                                   relay.last_token_at())) {
      metrics.Set("cortex_lane_tokens_per_second", {{"lane", l.name}}, *tps);
    }
  }
  Finished(lane, end == StreamRelay::End::kComplete ? 200 : 502, start);
}

asio::awaitable<void> Gateway::Impl::Proxy(net::HttpRequest& req, net::Responder& res,
                                           Endpoint endpoint) {
  auto self = shared_from_this();
  const auto start = Clock::now();

  // 1-2. Parse and validate; resolve the lane.
  auto parsed = ParseChatRequest(req.body(), req["X-Cortex-Lane"]);
  if (auto* error = std::get_if<ProxyError>(&parsed)) {
    co_await Fail(res, nullptr, std::move(*error));
    co_return;
  }
  ChatRequest& request = std::get<ChatRequest>(parsed);
  auto resolved = ResolveLane(table, request);
  if (auto* error = std::get_if<ProxyError>(&resolved)) {
    co_await Fail(res, nullptr, std::move(*error));
    co_return;
  }
  int lane = std::get<int>(resolved);

  // 3. Context (not for embeddings: their input is the engine's to check).
  BurstHold burst;  // declared first: let go after the engine use below
  if (endpoint != Endpoint::kEmbeddings) {
    lane = co_await CheckContext(lane, request, burst, res);
    if (lane < 0) co_return;
  }

  // Health: the lane, or its first usable fallback.
  const int serving = co_await PickServingLane(lane, res);
  if (serving < 0) co_return;
  const LaneEntry& l = table.lanes()[static_cast<size_t>(serving)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
  const EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];

  // 4. Residency: a supervised engine is entered before admission, so requests queued for a
  // slot count as its demand and the scheduler does not swap it out under them.
  EngineUse use;
  const auto enter_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config.supervisor.load_wait_s));
  if (rt.managed) {
    if (!co_await EnterEngine(l, e, enter_deadline, res)) co_return;
    use.Hold(this, e.name);
  }

  // 5. Admission.
  const uint64_t id = next_id++;
  std::string client = ClientKey(req);
  if (!co_await Admit(serving, id, std::move(client), start, res)) co_return;
  AdmissionSlot slot{this, id};

  // 6. The engine's request. A supervised engine answers to the name its launch gave it; one
  // given by url to the configured name, else to what its /v1/models said.
  std::string served = rt.managed ? residency->ServedName(e.name) : std::string();
  if (served.empty()) served = !e.served_name.empty() ? e.served_name : rt.served_name;
  const net::RawRequest up =
      BuildUpstreamRequest(request, endpoint, rt.host_header, served, req["X-Request-Id"]);

  // 7. Forward.
  UpstreamWatch watch;
  auto conn = co_await Forward(serving, up, use, enter_deadline, watch, res);
  if (!conn) co_return;

  // 8-9. The answer back; metrics and releases on the way out.
  if (conn->status() != 200) {
    co_await RelayEngineError(serving, std::move(conn), watch, start, res);
  } else if (!request.stream) {
    co_await RelayWhole(serving, std::move(conn), watch, start, res);
  } else {
    co_await RelayStream(serving, std::move(conn), request.client_wants_usage, watch, start, res);
  }
}

}  // namespace cortex::gateway
