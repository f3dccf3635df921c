// Internal to the supervisor: the state its coroutines share, all on one io_context thread.
#pragma once

#include <boost/asio.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "deploy/deployment_plan.h"
#include "engine/engine_launch.h"
#include "monitor/machine_memory.h"
#include "sched/residency_scheduler.h"
#include "supervise/child_process.h"
#include "supervise/rotating_log.h"
#include "supervise/supervisor.h"

namespace cortex::supervise {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// A request waiting in Enter for its engine; an admit or reject effect wakes it.
struct EngineWaiter {
  explicit EngineWaiter(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  bool admitted = false;
  bool rejected = false;
  std::string reason;
};

// The container a docker engine runs in, found once it is ready (FindContainer).
struct ContainerInfo {
  std::string id;
  pid_t pid = 0;                          // its init, as the host sees it
  std::optional<std::string> cgroup_dir;  // cgroup v2, when its memory files are readable
  std::optional<uint64_t> cgroup_max_bytes;
};

struct ManagedEngine {
  const EngineConfig* config = nullptr;
  std::map<std::string, EnginePlan> plans;  // by profile; "normal" always
  std::string profile = "normal";           // what runs, or will run
  EngineLaunch launch;                      // argv in effect
  std::shared_ptr<ChildProcess> child;
  std::unique_ptr<RotatingLog> log;
  uint64_t generation = 0;          // one per spawn: a readiness poll of an older process stops
  uint64_t watched_generation = 0;  // the process the liveness watch runs for
  bool stop_expected = false;       // we asked it to stop: its exit is not a crash
  bool restart_after_stop = false;
  std::deque<double> crashes;  // times, within restart_window
  int restarts = 0;
  std::string failure;  // why it failed, for status and the clients' 503
  std::optional<uint64_t> actual_bytes;
  std::optional<uint64_t> expected_bytes;  // what actual_bytes should be (the plan; for a
                                           // simulator, the fraction it holds)
  std::string drift;                       // a warning, empty when within the margin
  std::optional<int64_t> started_unix_ms;  // when the running process was spawned
  std::optional<ContainerInfo> container;  // launch: docker, once found
  double sim_hold_fraction = -1;           // sim engines: the fraction of the plan they really hold
  std::vector<std::shared_ptr<EngineWaiter>> waiters;
  std::unique_ptr<asio::steady_timer> restart_timer;
};

struct Supervisor::Impl : std::enable_shared_from_this<Supervisor::Impl> {
  Impl(asio::io_context& io, const Config& config, SupervisorOptions options);

  Status Start();
  double Now() const;
  void Apply(std::vector<sched::Effect> effects);
  void Apply(const sched::Effect& effect);
  void Spawn(const std::string& name);
  StatusOr<std::vector<std::string>> DockerComposeArgv(const std::string& name,
                                                       const EngineConfig& profiled,
                                                       const EnginePlan& plan);
  asio::awaitable<void> AwaitReady(std::string name, uint64_t generation);
  asio::awaitable<void> FindContainer(std::string name, uint64_t generation);
  // The compose file written for a docker engine, and `docker compose -p cortex -f FILE`.
  std::string ComposeFilePath(const std::string& name) const;
  std::vector<std::string> ComposeArgv(const std::string& name) const;
  asio::awaitable<void> WatchLiveness(std::string name, uint64_t generation);
  asio::awaitable<void> SleepEngine(std::string name, uint64_t generation);
  asio::awaitable<void> WakeEngine(std::string name, uint64_t generation);
  void OnExit(const std::string& name, uint64_t generation, ExitInfo info);
  void StopProcess(const std::string& name);
  void WakeWaiters(ManagedEngine& m);
  void WakeAllWaiters();
  void RestartIfAsked(const std::string& name);
  void ArmTick();
  asio::awaitable<void> SampleMemory();
  void Notify(const std::string& engine, bool ready);
  // Something a dashboard shows has changed (an engine's state, the ledger, the burst): tells
  // the gateway, whose /admin/events streams then send at once rather than at their next tick.
  void Changed();
  boost::json::object StatusJson() const;
  // The ledger's last `last` events, oldest first.
  boost::json::array LedgerEventsJson(size_t last) const;
  // Burst holders: the operator, an ingest job, a request whose prompt needs the burst
  // profile's context. The burst goes on with the first and off when the last lets go, so one
  // holder finishing never pulls the memory from under another. `force` (an operator's off
  // without a reason) lets all of them go.
  Status HoldBurst(const std::string& engine, const std::string& holder);
  Status ReleaseBurst(const std::string& engine, const std::string& holder, bool force);
  // The engine a burst request means: the one named, else the active burst's, else the only
  // engine with a burst profile. Empty when none.
  std::string BurstEngineFor(const std::string& named) const;

  ManagedEngine* Find(const std::string& name);
  const ManagedEngine* Find(const std::string& name) const;

  asio::io_context& io;
  Config config;
  SupervisorOptions options;
  std::map<std::string, ManagedEngine> engines;
  std::vector<std::string> order;  // config order
  std::unique_ptr<sched::ResidencyScheduler> scheduler;
  asio::steady_timer tick_timer;
  asio::steady_timer sample_timer;
  Clock::time_point epoch;
  EngineListener listener;
  bool shutting_down = false;
  std::set<std::string> burst_holders;
  monitor::MachineMemory machine;     // the last sample, beside the engines' own
  std::vector<std::string> findings;  // plan findings worth showing in status
  std::function<void()> change_listener;
};

}  // namespace cortex::supervise
