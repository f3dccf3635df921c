// ResidencyPort: what the gateway asks of whoever owns the engines' processes (the supervisor).
//
// Without one (engines given by url) the gateway proxies to what is running and judges it by
// probes alone. With one, an engine that is not running is not "down": it may be loading on
// demand, restarting after a crash, paused for a burst, or failed for good, and only the owner
// knows which. So before proxying, a request Enters its engine: the owner starts it if needed
// and the request waits, bounded; when it ends, it Leaves, so the owner knows when an engine is
// idle and can be drained or swapped out. Admin routes (/admin/...) are the owner's too.
//
// All calls happen on the gateway's io_context thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "net/http_server.h"
#include "util/status.h"

namespace cortex::gateway {

class ResidencyPort {
 public:
  enum class Access {
    kReady,      // proceed; call Leave when the request is done
    kPaused,     // paused by a burst and did not come back in time
    kFailed,     // the engine failed for good (crash loop, cannot start)
    kTimedOut,   // still loading when the deadline passed
    kClientGone  // the client disconnected while waiting
  };
  struct Entry {
    Access access = Access::kReady;
    std::string reason;  // for the client's 503 message
    int retry_after_s = 5;
  };
  // What the gateway is told when an engine (re)starts or stops, so it forgets what it learned
  // from the old process (context, slots, pooled connections) and probes it afresh.
  using EngineListener = std::function<void(const std::string& engine, bool ready)>;

  virtual ~ResidencyPort() = default;

  virtual bool Manages(const std::string& engine) const = 0;
  // The name the engine answers to (--alias, --served-model-name), for rewriting `model`.
  virtual std::string ServedName(const std::string& engine) const = 0;
  // Not taking requests now and not coming back soon by itself: paused by a burst, failed, or
  // stopped by an admin. The gateway then prefers a fallback lane.
  virtual bool Unavailable(const std::string& engine) const = 0;
  virtual boost::asio::awaitable<Entry> Enter(const std::string& engine,
                                              std::chrono::steady_clock::time_point deadline,
                                              net::Responder& res) = 0;
  virtual void Leave(const std::string& engine) = 0;
  virtual void SetEngineListener(EngineListener listener) = 0;
  // Burst for a request whose prompt only the burst profile's context holds. BurstContext: the
  // tokens one request may use under the engine's burst profile, or nullopt when it has none.
  // HoldBurst turns the burst on for `holder` (or joins it) and fails when it cannot (another
  // engine's burst is on, it does not fit the pool); ReleaseBurst lets go, and the burst goes
  // off when nobody holds it. BurstReady: on, settled, and the engine ready under it.
  virtual std::optional<uint64_t> BurstContext(const std::string& engine) const = 0;
  virtual Status HoldBurst(const std::string& engine, const std::string& holder) = 0;
  virtual void ReleaseBurst(const std::string& engine, const std::string& holder) = 0;
  virtual bool BurstReady(const std::string& engine) const = 0;
  // Prometheus text appended to the gateway's /metrics (engine state, planned and actual memory).
  virtual std::string MetricsText() const = 0;
  // What a dashboard shows of the engines: the /admin/status object plus "ledger_events", the
  // ledger's last events, oldest first.
  virtual boost::json::object Snapshot() const = 0;
  // Called after anything Snapshot() shows has changed (an engine's state, the ledger, the
  // burst), so /admin/events streams send at once rather than at their next tick.
  virtual void SetChangeListener(std::function<void()> listener) = 0;
  // /admin/... (the gateway has checked the admin key).
  virtual boost::asio::awaitable<void> HandleAdmin(net::HttpRequest& req, net::Responder& res) = 0;
};

}  // namespace cortex::gateway
