// The request path of the gateway: parse, route, admit, exchange, stream back.
#include <fmt/format.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "gateway/engine_errors.h"
#include "gateway/gateway_impl.h"
#include "gateway/sse.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kConnectTimeout = 5s;
constexpr auto kBodyGapTimeout = 600s;  // between pieces of a response (a long prefill)
constexpr size_t kMaxPooledPerEngine = 64;
// How often a stream waiting for a burst gets a keep-alive comment (proxies and clients
// commonly give up on a silent stream after 30-60 s).
constexpr auto kKeepAliveInterval = 5s;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The text of a chat or completion request, for context estimation.
std::string PromptText(const json::object& body) {
  std::string text;
  auto append = [&](const json::value& v) {
    if (v.is_string()) {
      text.append(v.as_string().data(), v.as_string().size());
      text.push_back('\n');
    } else if (v.is_array()) {
      for (const auto& part : v.as_array()) {
        if (part.is_string()) {
          text.append(part.as_string().data(), part.as_string().size());
        } else if (part.is_object()) {
          if (const auto* t = part.as_object().if_contains("text"); t && t->is_string()) {
            text.append(t->as_string().data(), t->as_string().size());
          }
        }
        text.push_back('\n');
      }
    }
  };
  if (const auto* messages = body.if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->as_array()) {
      if (m.is_object()) {
        if (const auto* c = m.as_object().if_contains("content")) append(*c);
      }
    }
  }
  if (const auto* prompt = body.if_contains("prompt")) append(*prompt);
  if (const auto* input = body.if_contains("input")) append(*input);
  return text;
}

std::string ClientKey(const net::HttpRequest& req) {
  const auto auth = req[http::field::authorization];
  if (!auth.empty()) return std::string(auth);
  const auto id = req["X-Client-Id"];
  return id.empty() ? std::string("anonymous") : std::string(id);
}

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

// Reads the rest of a response body.
asio::awaitable<StatusOr<std::string>> ReadAll(net::HttpConnection& conn) {
  std::string body;
  for (;;) {
    auto piece = co_await conn.ReadSome(kBodyGapTimeout);
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) co_return body;
    body += *piece;
  }
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
  auto body = co_await ReadAll(**conn);
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
      metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "unavailable"}});
      metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "503"}});
      net::HttpResponse r = ErrorResponse(
          http::status::service_unavailable,
          fmt::format("engine {} is paused while an ingest job runs a burst; it should be back in "
                      "about {} s",
                      e.name, eta),
          "service_unavailable_error", "lane_paused");
      r.set(http::field::retry_after, std::to_string(eta));
      co_await Reply(res, std::move(r));
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
    metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "unavailable"}});
    metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "503"}});
    net::HttpResponse r =
        ErrorResponse(http::status::service_unavailable, entry.reason, "service_unavailable_error",
                      entry.access == ResidencyPort::Access::kPaused   ? "lane_paused"
                      : entry.access == ResidencyPort::Access::kFailed ? "engine_failed"
                                                                       : "lane_loading");
    r.set(http::field::retry_after, std::to_string(entry.retry_after_s));
    co_await Reply(res, std::move(r));
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
      metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "unavailable"}});
      metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "503"}});
      net::HttpResponse r = ErrorResponse(
          http::status::service_unavailable,
          fmt::format("engine {}'s burst profile, which lane {} needs for a prompt of {} tokens, "
                      "did not come up in time; retry later",
                      e.name, l.name, tokens),
          "service_unavailable_error", "burst_timeout");
      r.set(http::field::retry_after, "30");
      co_await Reply(res, std::move(r));
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

asio::awaitable<void> Gateway::Impl::Proxy(net::HttpRequest& req, net::Responder& res,
                                           Endpoint endpoint) {
  using namespace asio::experimental::awaitable_operators;
  auto self = shared_from_this();
  const auto start = Clock::now();

  // The body: our 400 for anything that is not a JSON object.
  json::error_code ec;
  json::value body = json::parse(req.body(), ec);
  if (ec || !body.is_object()) {
    net::HttpResponse response_1 =
        ErrorResponse(http::status::bad_request,
                      ec ? fmt::format("request body is not valid JSON: {}", ec.message())
                         : std::string("request body must be a JSON object"),
                      "invalid_request_error", "invalid_json");
    co_await Reply(res, std::move(response_1));
    co_return;
  }
  json::object& obj = body.as_object();
  std::string model;
  if (const auto* m = obj.if_contains("model"); m && m->is_string()) model = m->as_string();
  const std::string header_lane(req["X-Cortex-Lane"]);
  int lane = table.Find(model, header_lane);
  if (lane < 0) {
    const std::string names = fmt::format("{}", fmt::join(table.LaneNames(), ", "));
    const std::string message =
        model.empty() && header_lane.empty()
            ? fmt::format(
                  "the request names no lane: set `model` or the X-Cortex-Lane header; "
                  "lanes are: {}",
                  names)
            : fmt::format("no lane named \"{}\"; lanes are: {}",
                          header_lane.empty() ? model : header_lane, names);
    net::HttpResponse response_2 = ErrorResponse(
        http::status::not_found, message, "invalid_request_error", "model_not_found", "model");
    co_await Reply(res, std::move(response_2));
    co_return;
  }
  const bool stream = obj.contains("stream") && obj["stream"].is_bool() && obj["stream"].as_bool();
  bool client_wants_usage = false;
  if (const auto* so = obj.if_contains("stream_options"); so && so->is_object()) {
    const auto* iu = so->as_object().if_contains("include_usage");
    client_wants_usage = iu && iu->is_bool() && iu->as_bool();
  }

  // A burst this request brought on, let go however the request ends (after Leave below, which
  // is declared later and so runs first).
  struct BurstHold {
    Impl* impl = nullptr;
    std::string engine;
    std::string holder;
    ~BurstHold() {
      if (impl != nullptr && impl->residency != nullptr) {
        impl->residency->ReleaseBurst(engine, holder);
      }
    }
  } burst_hold;

  // Context: a prompt longer than the lane's context goes to its context fallback, or to its
  // engine's burst profile, or is refused here, with both numbers, instead of by the engine
  // after a queue wait.
  if (endpoint != Endpoint::kEmbeddings) {
    const auto& l = table.lanes()[static_cast<size_t>(lane)];
    const auto ctx = engines[static_cast<size_t>(l.engine)].ctx_per_request;
    if (ctx) {
      const std::string text = PromptText(obj);
      // About four bytes per token; only a prompt that could be near the limit is counted by
      // the engine's own tokenizer.
      uint64_t tokens = text.size() / 4;
      if (tokens * 2 >= *ctx) {
        if (auto exact = co_await CountTokens(l.engine, text)) tokens = *exact;
      }
      // Held only by the engine's burst profile: with `ingest.burst: auto`, the burst comes on
      // for this request (as for an ingest job) and the request is served, not refused.
      std::optional<uint64_t> burst_ctx;
      if (tokens > *ctx && l.fallback_on_context < 0 && residency != nullptr &&
          engines[static_cast<size_t>(l.engine)].managed && config.ingest.burst != "never") {
        burst_ctx = residency->BurstContext(table.engines()[static_cast<size_t>(l.engine)].name);
        if (burst_ctx && tokens > *burst_ctx) burst_ctx.reset();
      }
      if (burst_ctx) {
        const std::string& engine_name = table.engines()[static_cast<size_t>(l.engine)].name;
        const std::string holder =
            fmt::format("request {} on lane {} ({} tokens)", next_id++, l.name, tokens);
        const Status held = residency->HoldBurst(engine_name, holder);
        if (!held.ok()) {
          metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "unavailable"}});
          metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "503"}});
          net::HttpResponse r = ErrorResponse(
              http::status::service_unavailable,
              fmt::format("the prompt has {} tokens, which lane {} holds only under engine {}'s "
                          "burst profile ({} tokens), and the burst cannot start now: {}",
                          tokens, l.name, engine_name, *burst_ctx, held.message()),
              "service_unavailable_error", "burst_unavailable");
          r.set(http::field::retry_after, "30");
          co_await Reply(res, std::move(r));
          co_return;
        }
        burst_hold.impl = this;
        burst_hold.engine = engine_name;
        burst_hold.holder = holder;
        if (!co_await AwaitBurst(l, table.engines()[static_cast<size_t>(l.engine)], tokens,
                                 *burst_ctx, stream, res)) {
          co_return;
        }
      } else if (tokens > *ctx) {
        if (l.fallback_on_context >= 0) {
          metrics.Add("cortex_fallbacks_total",
                      {{"lane", l.name},
                       {"to", table.lanes()[static_cast<size_t>(l.fallback_on_context)].name},
                       {"reason", "context"}});
          lane = l.fallback_on_context;
        } else {
          metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "context"}});
          net::HttpResponse response_3 = ErrorResponse(
              http::status::bad_request,
              fmt::format("the prompt has about {} tokens, more than lane {} holds ({} tokens); "
                          "shorten it or use a lane with a longer context",
                          tokens, l.name, *ctx),
              "invalid_request_error", "context_length_exceeded", "messages");
          co_await Reply(res, std::move(response_3));
          co_return;
        }
      }
    }
  }

  // Health: the lane's engine, or the first healthy fallback. A loading engine gets a short
  // bounded wait, since it is expected back.
  int serving = ServingLane(lane);
  const LaneEntry& asked = table.lanes()[static_cast<size_t>(lane)];
  // A supervised engine paused for a burst, with no usable fallback: the request waits for it
  // (bounded, in Enter below) rather than failing at once.
  if (serving < 0 && engines[static_cast<size_t>(asked.engine)].managed) serving = lane;
  if (serving < 0) {
    const EngineState own = engines[static_cast<size_t>(asked.engine)].health.state();
    if (own == EngineState::kLoading) {
      const auto deadline = Clock::now() + std::min<Clock::duration>(asked.limits.max_wait, 15s);
      while (serving < 0 && Clock::now() < deadline && !res.client_gone()) {
        co_await res.Sleep(200ms);
        serving = ServingLane(lane);
      }
      if (res.client_gone()) co_return;
    }
    if (serving < 0) {
      const bool loading =
          engines[static_cast<size_t>(asked.engine)].health.state() == EngineState::kLoading;
      net::HttpResponse r = ErrorResponse(
          http::status::service_unavailable,
          loading
              ? fmt::format("lane {} is loading its model; retry shortly", asked.name)
              : fmt::format("lane {} is down (engine {}) and has no healthy fallback", asked.name,
                            table.engines()[static_cast<size_t>(asked.engine)].name),
          "service_unavailable_error", loading ? "lane_loading" : "lane_unavailable");
      r.set(http::field::retry_after, loading ? "5" : "10");
      metrics.Add("cortex_request_errors_total", {{"lane", asked.name}, {"type", "unavailable"}});
      metrics.Add("cortex_requests_total", {{"lane", asked.name}, {"code", "503"}});
      co_await Reply(res, std::move(r));
      co_return;
    }
  }
  if (serving != lane) {
    metrics.Add("cortex_fallbacks_total", {{"lane", asked.name},
                                           {"to", table.lanes()[static_cast<size_t>(serving)].name},
                                           {"reason", "down"}});
  }
  const LaneEntry& l = table.lanes()[static_cast<size_t>(serving)];
  const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];

  // A supervised engine: wait (bounded) until it is resident and ready, loading it on demand.
  // If it then refuses the connection or drops it before answering, it is crashing or
  // restarting: nothing was answered yet, so the request waits for it again, within the same
  // deadline, instead of failing.
  struct Use {
    Impl* impl = nullptr;
    std::string engine;
    ~Use() {
      // Null once cortex up is exiting and the supervisor is gone (frames still suspended in
      // the io_context are destroyed after it).
      if (impl != nullptr && impl->residency != nullptr) impl->residency->Leave(engine);
    }
  } use;
  const bool managed = engines[static_cast<size_t>(l.engine)].managed;
  const auto enter_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config.supervisor.load_wait_s));
  // Entering before admission: requests queued for a slot count as the engine's demand, so the
  // scheduler does not swap it out while work for it is still waiting here.
  if (managed) {
    if (!co_await EnterEngine(l, e, enter_deadline, res)) co_return;
    use.impl = this;
    use.engine = e.name;
  }

  // Admission.
  const uint64_t id = next_id++;
  const auto decision = admission.Arrive(id, serving, ClientKey(req), Clock::now());
  if (decision == AdmissionController::Decision::kRejected) {
    metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "queue_full"}});
    metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "429"}});
    net::HttpResponse r = ErrorResponse(
        http::status::too_many_requests,
        fmt::format("lane {} is full: {} requests in flight and {} waiting; retry shortly", l.name,
                    admission.in_flight(serving), admission.queued(serving)),
        "rate_limit_error", "queue_full");
    r.set(http::field::retry_after, "1");
    co_await Reply(res, std::move(r));
    co_return;
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
        co_return;
      }
      metrics.Add("cortex_rejections_total", {{"lane", l.name}, {"reason", "queue_timeout"}});
      metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", "429"}});
      net::HttpResponse r =
          ErrorResponse(http::status::too_many_requests,
                        fmt::format("waited {:.0f} s for lane {} without a free slot; retry later",
                                    Seconds(Clock::now() - start), l.name),
                        "rate_limit_error", "queue_timeout");
      r.set(http::field::retry_after, "5");
      co_await Reply(res, std::move(r));
      co_return;
    }
  }
  metrics.Observe("cortex_queue_wait_seconds", {{"lane", l.name}}, Seconds(Clock::now() - start));
  // The slot is ours until this frame ends, however it ends.
  struct Slot {
    Impl* impl;
    uint64_t id;
    ~Slot() { impl->Wake(impl->admission.Leave(id)); }
  } slot{this, id};

  // What the engine expects: its own model name, and usage in streams (for our metrics).
  // A supervised engine answers to the name its launch gave it (--alias, --served-model-name);
  // one given by url to the configured name, else to what its /v1/models said.
  std::string served = managed ? residency->ServedName(e.name) : std::string();
  if (served.empty()) {
    served =
        !e.served_name.empty() ? e.served_name : engines[static_cast<size_t>(l.engine)].served_name;
  }
  if (!served.empty()) obj["model"] = served;
  if (stream) {
    json::object so;
    if (const auto* old = obj.if_contains("stream_options"); old && old->is_object()) {
      so = old->as_object();
    }
    so["include_usage"] = true;
    obj["stream_options"] = std::move(so);
  }
  net::HttpRequest up{http::verb::post, std::string(UpstreamPath(endpoint)), 11};
  up.set(http::field::host, fmt::format("{}:{}", e.host, e.port));
  up.set(http::field::content_type, "application/json");
  up.set(http::field::accept, stream ? "text/event-stream" : "application/json");
  if (const auto rid = req["X-Request-Id"]; !rid.empty()) up.set("X-Request-Id", rid);
  up.body() = json::serialize(body);
  up.keep_alive(true);

  // Connect and send; a pooled connection the engine has closed meanwhile is retried once on a
  // fresh one (nothing reached the engine). While the exchange lasts, a client that disconnects
  // closes the upstream connection at once, so the engine cancels the work.
  EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
  const auto header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      l.limits.max_wait + std::chrono::seconds(600));
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(kBodyGapTimeout);
  // While the exchange lasts, a client that leaves aborts the upstream connection (the server's
  // disconnect watch calls back). End() takes the callback back before the connection can go
  // to the pool and serve another request.
  struct Watch {
    net::Responder* res = nullptr;
    void Start(net::Responder& r, std::shared_ptr<net::HttpConnection> c) {
      res = &r;
      r.OnGone([c = std::move(c)] { c->Abort(); });
    }
    void End() {
      if (res != nullptr) res->OnGone(nullptr);
      res = nullptr;
    }
    ~Watch() { End(); }
  } watch;
  std::shared_ptr<net::HttpConnection> conn;
  Status failure;
  for (;;) {
    if (managed && use.impl == nullptr) {
      if (!co_await EnterEngine(l, e, enter_deadline, res)) co_return;
      use.impl = this;
      use.engine = e.name;
    }

    for (int attempt = 0; attempt < 2 && !conn; ++attempt) {
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
        auto header = co_await candidate->ReadHeader(header_timeout);
        if (header.ok()) {
          conn = candidate;
          break;
        }
        failure = header.status();
      }
      if (res.client_gone()) co_return;
      if (!reused) break;
    }
    if (conn || !managed || res.client_gone() || Clock::now() >= enter_deadline) break;
    residency->Leave(e.name);
    use.impl = nullptr;
    co_await res.Sleep(std::chrono::milliseconds(100));
    if (res.client_gone()) co_return;
  }
  if (!conn) {
    rt.health.OnRequest(false, Clock::now());
    metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "engine_unreachable"}});
    metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", managed ? "503" : "502"}});
    // A supervised engine that stays unreachable is being restarted: a 503 tells the client to
    // come back, as for a loading engine.
    net::HttpResponse r = ErrorResponse(
        managed ? http::status::service_unavailable : http::status::bad_gateway,
        fmt::format("engine {} of lane {} did not answer: {}", e.name, l.name, failure.message()),
        "server_error", "engine_unreachable");
    r.set(http::field::retry_after, "5");
    co_await Reply(res, std::move(r));
    co_return;
  }

  const int status = conn->status();
  auto finish_metrics = [&](int code) {
    metrics.Add("cortex_requests_total", {{"lane", l.name}, {"code", std::to_string(code)}});
    metrics.Observe("cortex_request_duration_seconds", {{"lane", l.name}},
                    Seconds(Clock::now() - start));
  };

  // An engine error: its body, normalised, with its status (a 503 keeps a Retry-After).
  if (status != 200) {
    auto err = co_await ReadAll(*conn);
    if (res.client_gone()) co_return;
    const std::string raw = err.ok() ? *err : std::string();
    if (status >= 500) {
      if (status == 503 && raw.find("Loading model") != std::string::npos) {
        rt.health.OnProbe(EngineHealth::Probe::kLoading, Clock::now());
      } else {
        rt.health.OnRequest(false, Clock::now());
      }
    }
    metrics.Add("cortex_request_errors_total",
                {{"lane", l.name}, {"type", "engine_" + std::to_string(status)}});
    finish_metrics(status);
    net::HttpResponse r =
        JsonResponse(static_cast<http::status>(status), NormalizeEngineError(status, raw, e.name));
    if (status == 503 || status == 429) r.set(http::field::retry_after, "5");
    watch.End();
    if (err.ok()) Release(l.engine, conn);
    co_await Reply(res, std::move(r));
    co_return;
  }
  rt.health.OnRequest(true, Clock::now());

  if (!stream) {
    auto whole = co_await ReadAll(*conn);
    if (res.client_gone()) co_return;
    if (!whole.ok()) {
      rt.health.OnRequest(false, Clock::now());
      metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "engine_dropped"}});
      finish_metrics(502);
      net::HttpResponse response_4 = ErrorResponse(
          http::status::bad_gateway,
          fmt::format("engine {} failed while answering: {}", e.name, whole.status().message()),
          "server_error", "engine_failed");
      co_await Reply(res, std::move(response_4));
      co_return;
    }
    json::error_code jec;
    const json::value v = json::parse(*whole, jec);
    if (!jec && v.is_object()) {
      if (const auto* usage = v.as_object().if_contains("usage"); usage && usage->is_object()) {
        const auto& u = usage->as_object();
        if (const auto* p = u.if_contains("prompt_tokens"); p && p->is_number()) {
          metrics.Add("cortex_tokens_total", {{"lane", l.name}, {"direction", "prompt"}},
                      p->to_number<double>());
        }
        if (const auto* c = u.if_contains("completion_tokens"); c && c->is_number()) {
          metrics.Add("cortex_tokens_total", {{"lane", l.name}, {"direction", "completion"}},
                      c->to_number<double>());
        }
      }
    }
    finish_metrics(200);
    watch.End();
    Release(l.engine, conn);
    net::HttpResponse response_5 = JsonResponse(http::status::ok, std::move(*whole));
    co_await Reply(res, std::move(response_5));
    co_return;
  }

  // A stream: forward event by event.
  http::response_header<> head;
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  head.set(http::field::server, "cortex");
  if (!res.started()) {  // else started while a burst came up
    const bool started = co_await res.StartChunked(std::move(head), http::status::ok);
    if (!started) co_return;
  }
  SseSplitter splitter;
  std::vector<std::string> events;
  std::optional<Clock::time_point> first_token;
  Clock::time_point last_token{};
  uint64_t content_events = 0;
  std::optional<TokenUsage> usage;
  bool saw_done = false;
  bool failed = false;
  for (;;) {
    auto piece = co_await conn->ReadSome(gap);
    if (res.client_gone()) co_return;
    if (!piece.ok()) {
      failed = true;
      break;
    }
    if (piece->empty()) break;  // the engine ended the body
    events.clear();
    splitter.Feed(*piece, &events);
    std::string out;
    for (std::string& ev : events) {
      const SseEventInfo info = InspectEvent(ev);
      if (info.usage) usage = info.usage;
      if (info.usage_only && !client_wants_usage) continue;  // we asked for it, not the client
      if (info.has_content) {
        const auto now = Clock::now();
        if (!first_token) {
          first_token = now;
          metrics.Observe("cortex_time_to_first_token_seconds", {{"lane", l.name}},
                          Seconds(now - start));
        } else {
          metrics.Observe("cortex_inter_token_latency_seconds", {{"lane", l.name}},
                          Seconds(now - last_token));
        }
        last_token = now;
        ++content_events;
      }
      if (info.done) saw_done = true;
      if (info.error) {
        // The engine's own mid-stream error, in our shape.
        const size_t json_at = ev.find('{');
        const size_t json_end = ev.rfind('}');
        if (json_at != std::string::npos && json_end != std::string::npos) {
          const std::string inner = ev.substr(json_at, json_end - json_at + 1);
          ev = SseData(NormalizeEngineError(500, inner, e.name));
        }
        rt.health.OnRequest(false, Clock::now());
      }
      out += ev;
    }
    if (!out.empty() && !co_await res.WriteChunk(out)) co_return;  // client left
  }
  if (failed || !saw_done) {
    // The engine went away mid-stream: one error event, then the end.
    if (failed) rt.health.OnRequest(false, Clock::now());
    if (failed) {
      metrics.Add("cortex_request_errors_total", {{"lane", l.name}, {"type", "engine_dropped"}});
      co_await res.WriteChunk(SseData(ErrorBody(
          fmt::format("engine {} of lane {} stopped in the middle of the stream", e.name, l.name),
          "server_error", "engine_failed")));
    }
  }
  co_await res.FinishChunked();
  watch.End();
  if (!failed && saw_done) Release(l.engine, conn);
  if (usage) {
    metrics.Add("cortex_tokens_total", {{"lane", l.name}, {"direction", "prompt"}},
                static_cast<double>(usage->prompt_tokens));
    metrics.Add("cortex_tokens_total", {{"lane", l.name}, {"direction", "completion"}},
                static_cast<double>(usage->completion_tokens));
    if (first_token && usage->completion_tokens > 1 && last_token > *first_token) {
      metrics.Set(
          "cortex_lane_tokens_per_second", {{"lane", l.name}},
          static_cast<double>(usage->completion_tokens - 1) / Seconds(last_token - *first_token));
    }
  }
  finish_metrics(failed ? 502 : 200);
  (void)content_events;
}

}  // namespace cortex::gateway
