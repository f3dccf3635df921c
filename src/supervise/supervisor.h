// Supervisor: runs the engines a config launches, under the memory ledger, and tells the
// gateway when they can take requests.
//
// It is the machinery around sched::ResidencyScheduler (the strategy, pure): every event —
// a request wanting an engine, a process that became ready, exited or crashed, a burst asked
// for, a timer — goes into the scheduler, and the effects that come out (start with a profile,
// stop, sleep, wake, admit or reject waiting requests) are carried out here, on the gateway's
// io_context thread, so no state needs a lock. Slow work (waiting for an engine to be ready,
// for a stop to finish) runs as coroutines that post their results back as events.
//
// Processes: ChildProcess (own process group, killed with the supervisor), readiness by polling
// /health (llama-server answers 503 "Loading model" until loaded; vLLM refuses connections),
// output into a RotatingLog per engine, restarts after a crash with exponential backoff until
// `max_restarts` crashes in `restart_window` mark the engine failed. While an engine restarts
// its memory stays reserved in the ledger: it comes back at the same size.
//
// Memory: the ledger holds each running engine's planned bytes for its profile; an engine is
// started only after the scheduler reserved its bytes, which it does only once the engines it
// replaces have exited. A sampler compares each engine's actual use (monitor/process_memory.h)
// with the plan and reports drift beyond `memory_drift`.
#pragma once

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/residency_port.h"
#include "util/status.h"

namespace cortex::supervise {

struct SupervisorOptions {
  std::string self_exe;  // the running cortex binary (for `engine: sim`)
  std::string log_dir;   // resolved; engines log to LOG_DIR/ENGINE.log
};

class Supervisor : public gateway::ResidencyPort {
 public:
  Supervisor(boost::asio::io_context& io, const Config& config, SupervisorOptions options);
  ~Supervisor() override;

  // Plans every engine under every profile and starts those the plan marks resident. Fails
  // when an engine cannot be planned or launched (no model file, bad flags).
  Status Start();
  // Stops every engine (SIGTERM, then SIGKILL after stop_timeout) and calls `done` once all
  // have exited.
  void Shutdown(std::function<void()> done);

  boost::json::object StatusJson() const;

  // ResidencyPort
  bool Manages(const std::string& engine) const override;
  std::string ServedName(const std::string& engine) const override;
  bool Unavailable(const std::string& engine) const override;
  boost::asio::awaitable<Entry> Enter(const std::string& engine,
                                      std::chrono::steady_clock::time_point deadline,
                                      net::Responder& res) override;
  void Leave(const std::string& engine) override;
  void SetEngineListener(EngineListener listener) override;
  std::optional<uint64_t> BurstContext(const std::string& engine) const override;
  Status HoldBurst(const std::string& engine, const std::string& holder) override;
  void ReleaseBurst(const std::string& engine, const std::string& holder) override;
  bool BurstReady(const std::string& engine) const override;
  boost::asio::awaitable<void> HandleAdmin(net::HttpRequest& req, net::Responder& res) override;
  std::string MetricsText() const override;
  boost::json::object Snapshot() const override;
  void SetChangeListener(std::function<void()> listener) override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Where engine logs go when the config does not say: $XDG_STATE_HOME/cortex/logs, else
// ~/.local/state/cortex/logs, else /tmp/cortex-logs.
std::string DefaultLogDir();

}  // namespace cortex::supervise
