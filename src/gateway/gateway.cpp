#include "gateway/gateway.h"

#include <fmt/format.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "gateway/dashboard_page.h"
#include "gateway/engine_errors.h"
#include "gateway/gateway_impl.h"
#include "gateway/route_table.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::vector<LaneLimits> LimitsOf(const LaneTable& t) {
  std::vector<LaneLimits> out;
  for (const LaneEntry& l : t.lanes())
    out.push_back(l.limits);
  return out;
}

std::vector<EngineLimits> SlotsOf(const LaneTable& t) {
  std::vector<EngineLimits> out;
  for (const EngineEntry& e : t.engines())
    out.push_back({e.slots});
  return out;
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::pair<std::string, uint16_t> SplitListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  return {listen.substr(0, colon), static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)))};
}

// Constant-time comparison, so a key cannot be guessed byte by byte from response times.
bool SameKey(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string BearerToken(const net::HttpRequest& req) {
  const auto auth = req[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
    return std::string(auth.substr(kBearer.size()));
  }
  return {};
}

}  // namespace

net::HttpResponse JsonResponse(net::http::status status, std::string body) {
  net::HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::server, "cortex");
  r.body() = std::move(body);
  return r;
}

net::HttpResponse ErrorResponse(net::http::status status, std::string_view message,
                                std::string_view type, std::string_view code,
                                std::string_view param) {
  return JsonResponse(status, ErrorBody(message, type, code, param));
}

Gateway::Impl::Impl(asio::io_context& io, const Config& config)
    : io(io),
      config(config),
      table(LaneTable::FromConfig(config)),
      admission(LimitsOf(table), SlotsOf(table)),
      engines(table.engines().size()),
      expiry_timer(io) {
  for (size_t i = 0; i < engines.size(); ++i) {
    engines[i].host_header = fmt::format("{}:{}", table.engines()[i].host, table.engines()[i].port);
  }
  metrics.DeclareCounter("cortex_requests_total", "Requests answered, by lane and HTTP status.");
  metrics.DeclareCounter("cortex_request_errors_total", "Failed requests, by lane and error type.");
  metrics.DeclareCounter("cortex_rejections_total",
                         "Requests turned away by admission, by lane and reason.");
  metrics.DeclareCounter("cortex_fallbacks_total", "Requests served by a fallback lane.");
  metrics.DeclareCounter("cortex_tokens_total",
                         "Tokens by lane and direction (prompt, completion).");
  metrics.DeclareGauge("cortex_client_connections",
                       "Client connections open, and the cap they are held to (limit=\"cap\").");
  metrics.DeclareCounter("cortex_client_connections_shed_total",
                         "Client connections shed under pressure: idle ones closed at the cap, "
                         "busy-cap refusals (503), and accepts that found no descriptor.");
  metrics.DeclareGauge("cortex_queue_depth", "Requests waiting for admission, by lane.");
  metrics.DeclareGauge("cortex_in_flight", "Requests being served, by lane.");
  metrics.DeclareGauge("cortex_lane_state",
                       "1 for the lane's current state (up, degraded, "
                       "loading, down).");
  metrics.DeclareGauge("cortex_lane_tokens_per_second",
                       "Decode speed of the lane's last completed request.");
  metrics.DeclareGauge("cortex_lane_tokens_per_second_target",
                       "The lane's tokens/s target (minimum).");
  const std::vector<double> latency = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1,      2.5,   5,    10,    30,   60,  300};
  metrics.DeclareHistogram("cortex_queue_wait_seconds", "Time spent waiting for admission.",
                           latency);
  metrics.DeclareHistogram("cortex_time_to_first_token_seconds",
                           "From the request to the first generated token.", latency);
  metrics.DeclareHistogram("cortex_inter_token_latency_seconds",
                           "Between generated tokens of a stream.", latency);
  metrics.DeclareHistogram("cortex_request_duration_seconds", "Whole request, end to end.",
                           latency);
  for (const LaneEntry& l : table.lanes()) {
    meters.push_back(LaneMeters{
        metrics.Counter("cortex_requests_total", {{"lane", l.name}, {"code", "200"}}),
        metrics.Counter("cortex_tokens_total", {{"lane", l.name}, {"direction", "prompt"}}),
        metrics.Counter("cortex_tokens_total", {{"lane", l.name}, {"direction", "completion"}}),
        metrics.Histogram("cortex_request_duration_seconds", {{"lane", l.name}}),
        metrics.Histogram("cortex_queue_wait_seconds", {{"lane", l.name}}),
        metrics.Histogram("cortex_time_to_first_token_seconds", {{"lane", l.name}}),
        metrics.Histogram("cortex_inter_token_latency_seconds", {{"lane", l.name}}),
    });
    if (l.tokens_per_s_target) {
      metrics.Set("cortex_lane_tokens_per_second_target", {{"lane", l.name}},
                  l.tokens_per_s_target->min);
    }
  }
  UpdateGauges();
}

std::string Gateway::Impl::LaneState(int lane) const {
  const int serving = ServingLane(lane);
  const int engine = table.lanes()[lane].engine;
  const EngineState own = engines[static_cast<size_t>(engine)].health.state();
  if (engines[static_cast<size_t>(engine)].managed) {
    // A supervised engine that is not up is loading, or will be loaded on demand; only paused,
    // failed or stopped-by-admin make its lane degraded (a fallback serves) or down.
    if (residency->Unavailable(table.engines()[static_cast<size_t>(engine)].name)) {
      return serving >= 0 ? "degraded" : "down";
    }
    return own == EngineState::kUp ? "up" : "loading";
  }
  if (own == EngineState::kUp) return "up";
  if (own == EngineState::kLoading) return "loading";
  if (serving >= 0) return "degraded";  // its own engine is not up, but it can be served
  return "down";
}

bool Gateway::Impl::Usable(int engine) const {
  const EngineRuntime& rt = engines[static_cast<size_t>(engine)];
  if (rt.managed) return !residency->Unavailable(table.engines()[static_cast<size_t>(engine)].name);
  const EngineState s = rt.health.state();
  return s == EngineState::kUp || s == EngineState::kDegraded || s == EngineState::kUnknown;
}

void Gateway::Impl::OnEngineEvent(const std::string& name, bool ready) {
  for (size_t i = 0; i < engines.size(); ++i) {
    if (table.engines()[i].name != name) continue;
    EngineRuntime& rt = engines[i];
    // A new process: what was learned from the old one (context, slots, served name, pooled
    // connections) no longer holds.
    rt.ctx_per_request.reset();
    rt.served_name.clear();
    rt.idle.clear();
    if (ready) {
      rt.health.OnProbe(EngineHealth::Probe::kOk, Clock::now());
    } else {
      rt.health.MarkDown(Clock::now());
    }
    if (rt.probe_timer) rt.probe_timer->cancel();
  }
}

int Gateway::Impl::ServingLane(int lane) const {
  auto usable = [&](int l) { return Usable(table.lanes()[l].engine); };
  if (usable(lane)) return lane;
  for (int f : table.lanes()[lane].fallback) {
    if (usable(f)) return f;
  }
  return -1;
}

void Gateway::Impl::UpdateGauges() {
  if (server) {
    metrics.Set("cortex_client_connections", {{"limit", "open"}},
                static_cast<double>(server->open_connections()));
    metrics.Set("cortex_client_connections", {{"limit", "cap"}},
                static_cast<double>(server->max_connections()));
    const net::HttpServerStats now = server->stats();
    const auto add = [&](const char* reason, uint64_t total, uint64_t& seen) {
      metrics.Add("cortex_client_connections_shed_total", {{"reason", reason}},
                  static_cast<double>(total - seen));
      seen = total;
    };
    add("idle_closed", now.evicted_idle, shed_seen.evicted_idle);
    add("refused", now.refused, shed_seen.refused);
    add("no_descriptor", now.accept_failures, shed_seen.accept_failures);
  }
  for (size_t i = 0; i < table.lanes().size(); ++i) {
    const std::string& name = table.lanes()[i].name;
    metrics.Set("cortex_queue_depth", {{"lane", name}}, admission.queued(static_cast<int>(i)));
    metrics.Set("cortex_in_flight", {{"lane", name}}, admission.in_flight(static_cast<int>(i)));
    const std::string state = LaneState(static_cast<int>(i));
    for (const char* s : {"up", "degraded", "loading", "down"}) {
      metrics.Set("cortex_lane_state", {{"lane", name}, {"state", s}}, state == s ? 1 : 0);
    }
  }
}

void Gateway::Impl::Wake(const std::vector<uint64_t>& granted) {
  for (uint64_t id : granted) {
    auto it = waiters.find(id);
    if (it == waiters.end()) continue;
    it->second->granted = true;
    it->second->timer.cancel();
  }
}

void Gateway::Impl::ArmExpiry() {
  const auto next = admission.NextExpiry();
  if (next == Clock::time_point::max()) return;
  if (expiry_timer.expiry() <= next && expiry_timer.expiry() > Clock::now()) return;
  expiry_timer.expires_at(next);
  expiry_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped) return;
    for (uint64_t id : self->admission.Expire(Clock::now())) {
      auto it = self->waiters.find(id);
      if (it == self->waiters.end()) continue;
      it->second->expired = true;
      it->second->timer.cancel();
    }
    self->ArmExpiry();
  });
}

asio::awaitable<void> Gateway::Impl::ProbeLoop(int engine) {
  auto self = shared_from_this();
  const EngineEntry& e = table.engines()[static_cast<size_t>(engine)];
  auto timer_ptr = std::make_shared<asio::steady_timer>(io);
  engines[static_cast<size_t>(engine)].probe_timer = timer_ptr;
  asio::steady_timer& timer = *timer_ptr;
  const auto interval = Millis(config.gateway.probe_interval_s);
  const auto timeout = std::max(interval, std::chrono::milliseconds(2000));
  // An engine that is not up yet (starting, loading, restarting) is probed sooner, so a lane
  // comes back within a fraction of a second of its engine rather than a whole interval later.
  const auto first_retry = std::min(interval, std::chrono::milliseconds(250));
  auto retry = first_retry;
  while (!stopped) {
    EngineRuntime& rt = engines[static_cast<size_t>(engine)];
    EngineHealth::Probe result = EngineHealth::Probe::kFailed;
    auto conn = co_await net::HttpConnection::Connect(io.get_executor(), e.host, e.port, timeout);
    if (conn.ok()) {
      net::HttpRequest req{http::verb::get, "/health", 11};
      req.set(http::field::host, e.host);
      std::string body;
      int status = 0;
      if ((co_await (*conn)->Write(req, timeout)).ok() &&
          (co_await (*conn)->ReadHeader(timeout)).ok()) {
        status = (*conn)->status();
        for (;;) {
          auto piece = co_await (*conn)->ReadSome(timeout);
          if (!piece.ok() || piece->empty()) break;
          body += *piece;
        }
      }
      if (status == 200) {
        result = EngineHealth::Probe::kOk;
      } else if (status == 503 && body.find("Loading model") != std::string::npos) {
        result = EngineHealth::Probe::kLoading;
      }
      // Learn the per-request context and the slots from the engine itself.
      if (result == EngineHealth::Probe::kOk && !rt.ctx_per_request) {
        net::HttpRequest info{http::verb::get, e.vllm_wire ? "/v1/models" : "/props", 11};
        info.set(http::field::host, e.host);
        std::string info_body;
        if ((co_await (*conn)->Write(info, timeout)).ok() &&
            (co_await (*conn)->ReadHeader(timeout)).ok() && (*conn)->status() == 200) {
          for (;;) {
            auto piece = co_await (*conn)->ReadSome(timeout);
            if (!piece.ok() || piece->empty()) break;
            info_body += *piece;
          }
          json::error_code ec;
          const json::value v = json::parse(info_body, ec);
          if (!ec && v.is_object()) {
            const auto& o = v.as_object();
            if (e.vllm_wire) {
              const auto* data = o.if_contains("data");
              if (data && data->is_array() && !data->as_array().empty() &&
                  data->as_array()[0].is_object()) {
                const auto& first = data->as_array()[0].as_object();
                const auto* len = first.if_contains("max_model_len");
                if (len && len->is_number()) rt.ctx_per_request = len->to_number<uint64_t>();
                // vLLM answers 404 for any other model name; learn it when nobody told us.
                const auto* id = first.if_contains("id");
                if (id && id->is_string() && e.served_name.empty()) {
                  rt.served_name = std::string(id->as_string());
                }
              }
            } else {
              const auto* dgs = o.if_contains("default_generation_settings");
              if (dgs && dgs->is_object()) {
                const auto* n_ctx = dgs->as_object().if_contains("n_ctx");
                if (n_ctx && n_ctx->is_number()) rt.ctx_per_request = n_ctx->to_number<uint64_t>();
              }
              const auto* slots = o.if_contains("total_slots");
              if (slots && slots->is_number() && e.slots == 0) {
                Wake(admission.SetEngineSlots(engine, slots->to_number<int>()));
              }
            }
          }
        }
      }
    }
    // With no descriptor to probe with, the engine was never asked: its health stands.
    const bool asked = conn.ok() || conn.status().code() != Status::Code::kExhausted;
    if (asked) rt.health.OnProbe(result, Clock::now());
    if (result == EngineHealth::Probe::kOk) {
      retry = first_retry;
      timer.expires_after(interval);
    } else {
      timer.expires_after(retry);
      retry = std::min(interval, retry * 2);
    }
    co_await timer.async_wait(kNoThrow);
  }
}

void Gateway::SetResidency(ResidencyPort* port) {
  impl_->residency = port;
}

void Gateway::SetIngest(IngestPort* port) {
  impl_->ingest = port;
}

Status Gateway::Impl::Start() {
  const auto [host, port] = SplitListen(config.gateway.listen);
  net::HttpServerOptions options;
  options.max_body_bytes = config.gateway.max_body_bytes;
  options.max_header_bytes = config.gateway.max_header_bytes;
  options.header_timeout = Millis(config.gateway.header_timeout_s);
  options.idle_timeout = Millis(config.gateway.idle_timeout_s);
  if (ingest != nullptr) options.stream_body = IsIngestUpload;
  std::weak_ptr<Impl> weak = shared_from_this();
  server = std::make_unique<net::HttpServer>(
      io, options,
      [weak](net::HttpRequest& req, net::Responder& res) -> asio::awaitable<void> {
        auto self = weak.lock();
        if (!self) co_return;
        co_await self->Handle(req, res);
      },
      [](http::status status, std::string_view message) {
        const std::string type = status == http::status::bad_request ||
                                         status == http::status::payload_too_large ||
                                         status == http::status::request_header_fields_too_large
                                     ? "invalid_request_error"
                                     : "server_error";
        return ErrorResponse(status, message, type);
      });
  if (residency != nullptr) {
    for (size_t i = 0; i < engines.size(); ++i) {
      engines[i].managed = residency->Manages(table.engines()[i].name);
    }
    residency->SetEngineListener([weak](const std::string& engine, bool ready) {
      if (auto self = weak.lock()) self->OnEngineEvent(engine, ready);
    });
    residency->SetChangeListener([weak] {
      if (auto self = weak.lock()) self->SnapshotChanged();
    });
  }
  if (Status s = server->Listen(host, port); !s.ok()) return s;
  server->Start();
  for (size_t i = 0; i < engines.size(); ++i) {
    asio::co_spawn(io, ProbeLoop(static_cast<int>(i)), asio::detached);
  }
  return Status::Ok();
}

void Gateway::Impl::Stop() {
  stopped = true;
  expiry_timer.cancel();
  SnapshotChanged();  // the event streams end
  if (server) server->Stop();
  for (auto& [id, w] : waiters)
    w->timer.cancel();
  for (EngineRuntime& rt : engines) {
    rt.idle.clear();
    if (rt.probe_timer) rt.probe_timer->cancel();
  }
}

asio::awaitable<void> Gateway::Impl::Handle(net::HttpRequest& req, net::Responder& res) {
  auto self = shared_from_this();
  struct Handling {
    int* n;
    explicit Handling(int& count) : n(&count) { ++*n; }
    ~Handling() { Forget(); }
    void Forget() {
      if (n != nullptr) --*n;
      n = nullptr;
    }
  } handling_guard(handling);
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const RouteMatch match = GatewayRoutes().Match(req.method(), path);
  if (match.result != RouteMatch::Result::kFound) {
    const bool wrong_method = match.result == RouteMatch::Result::kWrongMethod;
    net::HttpResponse r = ErrorResponse(
        wrong_method ? http::status::method_not_allowed : http::status::not_found,
        wrong_method ? fmt::format("{} {} is not a route; it takes {}",
                                   std::string(req.method_string()), path, match.allow)
                     : fmt::format("no route {} {}", std::string(req.method_string()), path),
        wrong_method ? "invalid_request_error" : "not_found_error",
        wrong_method ? "method_not_allowed" : "route_not_found");
    if (wrong_method) r.set(http::field::allow, match.allow);
    co_await res.Send(std::move(r));
    co_return;
  }
  if (std::optional<net::HttpResponse> refused = CheckAccess(match.access, req)) {
    co_await res.Send(std::move(*refused));
    co_return;
  }
  switch (match.route) {
    case Route::kHealth: {
      net::HttpResponse ok = JsonResponse(http::status::ok, R"({"status":"ok"})");
      co_await res.Send(std::move(ok));
      co_return;
    }
    case Route::kMetrics: {
      UpdateGauges();
      net::HttpResponse r{http::status::ok, 11};
      r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      r.body() = metrics.Render();
      if (residency != nullptr) r.body() += residency->MetricsText();
      co_await res.Send(std::move(r));
      co_return;
    }
    case Route::kLanesHealth:
    case Route::kLaneHealth: {
      net::HttpResponse r = LanesHealth(match.route == Route::kLaneHealth
                                            ? std::optional<std::string_view>(match.param)
                                            : std::nullopt);
      co_await res.Send(std::move(r));
      co_return;
    }
    case Route::kDashboard: {
      net::HttpResponse r{http::status::ok, 11};
      r.set(http::field::content_type, "text/html; charset=utf-8");
      r.set(http::field::cache_control, "no-cache");
      r.set("Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:");
      r.body() = std::string(DashboardPage());
      r.prepare_payload();
      co_await res.Send(std::move(r));
      co_return;
    }
    case Route::kAdminEvents:
      handling_guard.Forget();  // a dashboard's stream is not a request to drain at shutdown
      co_await StreamEvents(res);
      co_return;
    case Route::kAdmin: {
      if (residency == nullptr) {
        net::HttpResponse r = ErrorResponse(
            http::status::not_found, "no supervisor: this gateway proxies to engines given by url",
            "not_found_error", "no_supervisor");
        co_await res.Send(std::move(r));
        co_return;
      }
      co_await residency->HandleAdmin(req, res);
      co_return;
    }
    case Route::kIngest: {
      if (ingest == nullptr) {
        net::HttpResponse r =
            ErrorResponse(http::status::not_found, "ingest is not enabled on this gateway",
                          "not_found_error", "ingest_disabled");
        co_await res.Send(std::move(r));
        co_return;
      }
      co_await ingest->HandleIngest(req, res);
      co_return;
    }
    case Route::kModels: {
      net::HttpResponse r = Models();
      co_await res.Send(std::move(r));
      co_return;
    }
    case Route::kChat:
      co_await Proxy(req, res, Endpoint::kChat);
      co_return;
    case Route::kCompletions:
      co_await Proxy(req, res, Endpoint::kCompletions);
      co_return;
    case Route::kEmbeddings:
      co_await Proxy(req, res, Endpoint::kEmbeddings);
      co_return;
  }
}

std::optional<net::HttpResponse> Gateway::Impl::CheckAccess(Access access,
                                                            const net::HttpRequest& req) const {
  if (access == Access::kAdminKey && !config.gateway.admin_key.empty() &&
      !SameKey(BearerToken(req), config.gateway.admin_key)) {
    return ErrorResponse(http::status::unauthorized,
                         "admin routes need the admin key (Authorization: Bearer ...)",
                         "authentication_error", "invalid_admin_key");
  }
  if (access == Access::kApiKey && !config.gateway.api_keys.empty()) {
    const std::string token = BearerToken(req);
    bool ok = false;
    for (const std::string& k : config.gateway.api_keys)
      ok |= SameKey(token, k);
    if (!ok) {
      return ErrorResponse(http::status::unauthorized,
                           "missing or invalid API key (Authorization: Bearer ...)",
                           "authentication_error", "invalid_api_key");
    }
  }
  return std::nullopt;
}

net::HttpResponse Gateway::Impl::LanesHealth(std::optional<std::string_view> lane) const {
  int wanted = -1;
  if (lane) {
    wanted = table.Find(*lane, "");
    if (wanted < 0) {
      return ErrorResponse(http::status::not_found,
                           fmt::format("no lane named \"{}\"; lanes are: {}", *lane,
                                       fmt::join(table.LaneNames(), ", ")),
                           "not_found_error", "lane_not_found");
    }
  }
  json::object lanes;
  bool all_up = true;
  for (size_t i = 0; i < table.lanes().size(); ++i) {
    if (wanted >= 0 && static_cast<int>(i) != wanted) continue;
    const LaneEntry& l = table.lanes()[i];
    const EngineEntry& e = table.engines()[static_cast<size_t>(l.engine)];
    const EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
    const std::string state = LaneState(static_cast<int>(i));
    all_up &= state == "up";
    json::object o;
    o["state"] = state;
    o["engine"] = e.name;
    o["engine_state"] = std::string(EngineStateName(rt.health.state()));
    o["context"] = rt.ctx_per_request ? json::value(*rt.ctx_per_request) : json::value(nullptr);
    o["in_flight"] = admission.in_flight(static_cast<int>(i));
    o["queue_depth"] = admission.queued(static_cast<int>(i));
    lanes[l.name] = std::move(o);
  }
  json::value body = wanted >= 0 ? json::value(lanes.begin()->value())
                                 : json::value(json::object{{"lanes", std::move(lanes)}});
  net::HttpResponse r = JsonResponse(all_up ? http::status::ok : http::status::service_unavailable,
                                     json::serialize(body));
  if (!all_up) r.set(http::field::retry_after, "5");
  return r;
}

net::HttpResponse Gateway::Impl::Models() const {
  json::array data;
  for (size_t i = 0; i < table.lanes().size(); ++i) {
    const LaneEntry& l = table.lanes()[i];
    const EngineRuntime& rt = engines[static_cast<size_t>(l.engine)];
    json::object o;
    o["id"] = l.name;
    o["object"] = "model";
    o["created"] = 0;
    o["owned_by"] = "cortex";
    json::array aliases;
    for (const auto& a : l.aliases)
      aliases.push_back(json::value(a));
    o["aliases"] = std::move(aliases);
    o["engine"] = table.engines()[static_cast<size_t>(l.engine)].name;
    o["context"] = rt.ctx_per_request ? json::value(*rt.ctx_per_request) : json::value(nullptr);
    o["state"] = LaneState(static_cast<int>(i));
    data.push_back(std::move(o));
  }
  return JsonResponse(http::status::ok,
                      json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}}));
}

Gateway::Gateway(asio::io_context& io, const Config& config)
    : impl_(std::make_shared<Impl>(io, config)) {}
Gateway::~Gateway() {
  impl_->Stop();
}
Status Gateway::Start() {
  return impl_->Start();
}
void Gateway::Stop() {
  impl_->Stop();
}

void Gateway::StopAfterRequests(std::chrono::milliseconds grace, std::function<void()> done) {
  auto impl = impl_;
  auto timer = std::make_shared<asio::steady_timer>(impl->io);
  auto check = std::make_shared<std::function<void()>>();
  const auto until = std::chrono::steady_clock::now() + grace;
  *check = [impl, timer, check, done, until]() {
    if (impl->handling == 0 || std::chrono::steady_clock::now() >= until) {
      impl->Stop();
      done();
      *check = nullptr;  // breaks the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(10));
    timer->async_wait([check](const boost::system::error_code&) {
      if (*check) (*check)();
    });
  };
  (*check)();
}
uint16_t Gateway::port() const {
  return impl_->server ? impl_->server->port() : 0;
}

}  // namespace cortex::gateway
