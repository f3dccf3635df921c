// Internal to the gateway module: the state the gateway's coroutines share. One io_context
// thread owns all of it.
#pragma once

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/admission.h"
#include "gateway/engine_health.h"
#include "gateway/gateway.h"
#include "gateway/lane_table.h"
#include "gateway/metrics_registry.h"
#include "gateway/proxy_stages.h"
#include "gateway/route_table.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace cortex::gateway {

namespace asio = boost::asio;
namespace http = net::http;

struct EngineRuntime {
  EngineHealth health;
  std::optional<uint64_t> ctx_per_request;  // from /props or /v1/models
  std::string served_name;  // from /v1/models when the config does not say (engines by url)
  std::string host_header;  // "host:port", the Host of every request to it
  std::vector<std::shared_ptr<net::HttpConnection>> idle;  // keep-alive connections
  // Wakes the probe loop early, when the supervisor says the engine (re)started.
  std::shared_ptr<asio::steady_timer> probe_timer;
  bool managed = false;  // a supervisor owns the process (ResidencyPort)
};

// A queued request waits on its own timer; the admission decision (or expiry) wakes it.
struct QueueWaiter {
  explicit QueueWaiter(asio::any_io_executor ex) : timer(ex) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer timer;
  bool granted = false;
  bool expired = false;
};

// The series a proxied request always updates, found once per lane (no label text per
// request). Rarer outcomes (errors, rejections, fallbacks) go through MetricsRegistry::Add.
struct LaneMeters {
  MetricsRegistry::CounterRef ok;  // cortex_requests_total{code="200"}
  MetricsRegistry::CounterRef prompt_tokens;
  MetricsRegistry::CounterRef completion_tokens;
  MetricsRegistry::HistogramRef duration;
  MetricsRegistry::HistogramRef queue_wait;
  MetricsRegistry::HistogramRef ttft;
  MetricsRegistry::HistogramRef itl;
};

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  Impl(asio::io_context& io, const Config& config);

  // Lifecycle and routing (gateway.cpp).
  Status Start();
  void Stop();
  // Routes by GatewayRoutes() (route_table.h), after the route's key check.
  asio::awaitable<void> Handle(net::HttpRequest& req, net::Responder& res);
  // The 401 for a request without the key its route needs; nothing when it may pass.
  std::optional<net::HttpResponse> CheckAccess(Access access, const net::HttpRequest& req) const;
  // GET /health/lanes (every lane) and /lanes/NAME/health (`lane`): 200 when all are up.
  net::HttpResponse LanesHealth(std::optional<std::string_view> lane) const;
  net::HttpResponse Models() const;  // GET /v1/models: the lanes
  asio::awaitable<void> ProbeLoop(int engine);
  void ArmExpiry();
  void Wake(const std::vector<uint64_t>& granted);
  // Gauges are read from the admission controller and health when /metrics renders, not
  // written on every request: the hot path only touches counters and histograms.
  void UpdateGauges();
  std::string LaneState(int lane) const;
  bool Usable(int engine) const;
  void OnEngineEvent(const std::string& engine, bool ready);
  int ServingLane(int lane) const;  // the lane whose engine takes the request; -1 none

  // GET /admin/events (admin_events.cpp): server-sent whole snapshots for /ui and `cortex top`.
  asio::awaitable<void> StreamEvents(net::Responder& res);
  // The serialized snapshot: the supervisor's engines and ledger, the lanes with the gateway's
  // own counts, the ingest jobs. Built at most once per kSnapshotReuse for all streams.
  const std::string& SnapshotText();
  boost::json::object LaneStats(size_t lane) const;
  // Something a snapshot shows changed: every stream sends now.
  void SnapshotChanged();

  // Proxying (proxy.cpp): Proxy strings the stages together (proxy_stages.h has the list).
  asio::awaitable<void> Proxy(net::HttpRequest& req, net::Responder& res, Endpoint endpoint);
  // What a request holds while it is served, each let go by its destructor however the request
  // ends (declared in proxy.cpp's order: the burst outlives the engine use, which outlives the
  // admission slot).
  struct BurstHold;
  struct EngineUse;
  struct AdmissionSlot;
  struct UpstreamWatch;
  // A refusal: counted on `lane` (null: not known yet) and answered.
  asio::awaitable<void> Fail(net::Responder& res, const LaneEntry* lane, ProxyError error);
  // 3. The lane that takes the prompt (its own, its context fallback, or its own under a burst
  // this request brings on); -1 when the client was answered.
  asio::awaitable<int> CheckContext(int lane, ChatRequest& request, BurstHold& burst,
                                    net::Responder& res);
  // The lane or the first usable fallback; a loading engine gets a short bounded wait.
  asio::awaitable<int> PickServingLane(int lane, net::Responder& res);
  // 5. A slot on `lane`, waiting in its queue when need be. False: the client was answered or
  // left.
  asio::awaitable<bool> Admit(int lane, uint64_t id, std::string client, Clock::time_point start,
                              net::Responder& res);
  // 7. Sends `up` and reads the answer's header, entering a restarting engine again within
  // `deadline`; null when the client was answered or left.
  asio::awaitable<std::shared_ptr<net::HttpConnection>> Forward(int lane, const net::RawRequest& up,
                                                                EngineUse& use,
                                                                Clock::time_point deadline,
                                                                UpstreamWatch& watch,
                                                                net::Responder& res);
  // 8. The answer copied back: an engine error, a whole body, or a stream.
  asio::awaitable<void> RelayEngineError(int lane, std::shared_ptr<net::HttpConnection> conn,
                                         UpstreamWatch& watch, Clock::time_point start,
                                         net::Responder& res);
  asio::awaitable<void> RelayWhole(int lane, std::shared_ptr<net::HttpConnection> conn,
                                   UpstreamWatch& watch, Clock::time_point start,
                                   net::Responder& res);
  asio::awaitable<void> RelayStream(int lane, std::shared_ptr<net::HttpConnection> conn,
                                    bool client_wants_usage, UpstreamWatch& watch,
                                    Clock::time_point start, net::Responder& res);
  // 9. A request answered with `code`: counted, its duration observed.
  void Finished(int lane, int code, Clock::time_point start);
  asio::awaitable<StatusOr<std::shared_ptr<net::HttpConnection>>> Acquire(int engine, bool* reused);
  // Returns a connection to the engine's pool when it can carry another request.
  void Release(int engine, std::shared_ptr<net::HttpConnection> conn);
  asio::awaitable<std::optional<uint64_t>> CountTokens(int engine, const std::string& text);
  asio::awaitable<bool> EnterEngine(const LaneEntry& l, const EngineEntry& e,
                                    std::chrono::steady_clock::time_point deadline,
                                    net::Responder& res);
  // Waits (bounded) for a burst this request holds to be on and its engine ready; a streaming
  // client gets the response started and SSE keep-alive comments meanwhile. False when it did
  // not come up (the client got the error) or the client left.
  asio::awaitable<bool> AwaitBurst(const LaneEntry& l, const EngineEntry& e, uint64_t tokens,
                                   uint64_t burst_ctx, bool stream, net::Responder& res);
  // Sends an error response, or, once a stream has been started (keep-alives while a burst
  // came up), writes it as the stream's one error event and ends the stream.
  asio::awaitable<void> Reply(net::Responder& res, net::HttpResponse response);

  asio::io_context& io;
  Config config;
  LaneTable table;
  AdmissionController admission;
  std::vector<EngineRuntime> engines;
  MetricsRegistry metrics;
  std::vector<LaneMeters> meters;  // per lane
  std::unique_ptr<net::HttpServer> server;
  net::HttpServerStats shed_seen;  // the server's counts already added to the metrics
  std::map<uint64_t, std::shared_ptr<QueueWaiter>> waiters;
  asio::steady_timer expiry_timer;
  uint64_t next_id = 1;
  bool stopped = false;
  int handling = 0;  // requests inside Handle now
  ResidencyPort* residency = nullptr;
  IngestPort* ingest = nullptr;
  // /admin/events: the streams waiting for their next snapshot (SnapshotChanged cancels their
  // timers), the change counter, and the last snapshot built.
  std::set<asio::steady_timer*> event_waiters;
  uint64_t change_seq = 0;
  struct {
    uint64_t seq = ~uint64_t{0};
    std::chrono::steady_clock::time_point built;
    std::string text;
  } snapshot;
};

// A JSON response with the gateway's headers.
net::HttpResponse JsonResponse(net::http::status status, std::string body);
net::HttpResponse ErrorResponse(net::http::status status, std::string_view message,
                                std::string_view type, std::string_view code = {},
                                std::string_view param = {});

}  // namespace cortex::gateway
