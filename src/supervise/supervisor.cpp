#include "supervise/supervisor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "config/config_loader.h"
#include "deploy/engine_models.h"
#include "engine/compose_file.h"
#include "monitor/process_memory.h"
#include "net/http_client.h"
#include "supervise/command_output.h"
#include "supervise/supervisor_impl.h"

namespace cortex::supervise {
namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Request's answer when this process could not open a socket: the engine was never asked, so
// the probe says nothing about its health.
constexpr int kNotAsked = -1;

// The HTTP status of one request to an engine; 0 when it gave no answer.
asio::awaitable<int> Request(asio::any_io_executor ex, const std::string& host, uint16_t port,
                             net::http::verb verb, std::string target,
                             std::chrono::milliseconds timeout) {
  auto conn = co_await net::HttpConnection::Connect(ex, host, port, timeout);
  if (!conn.ok()) co_return conn.status().code() == Status::Code::kExhausted ? kNotAsked : 0;
  net::HttpRequest req{verb, target, 11};
  req.set(net::http::field::host, host);
  if (verb == net::http::verb::post) req.set(net::http::field::content_length, "0");
  if (!(co_await (*conn)->Write(req, timeout)).ok()) co_return 0;
  if (!(co_await (*conn)->ReadHeader(timeout)).ok()) co_return 0;
  const int status = (*conn)->status();
  (void)co_await (*conn)->ReadToEnd(timeout);  // so the engine is not cut off mid-answer
  co_return status;
}

bool FlagOn(const FlagMap& flags, std::string_view name) {
  const FlagValue* f = FindFlag(flags, name);
  return f != nullptr && (f->kind != FlagValue::Kind::kBool || f->bool_value);
}

// The last `n` lines the engine itself printed, without the supervisor's own notes.
std::string EngineLines(const std::string& tail, size_t n) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = tail.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = tail.substr(start, nl - start);
    if (line.rfind("[cortex] ", 0) != 0) lines.push_back(std::move(line));
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

// A request the scheduler rejected (nothing can be evicted for it, its engine failed).
gateway::ResidencyPort::Entry Rejected(const std::string& engine, const std::string& why) {
  gateway::ResidencyPort::Entry entry;
  entry.access = gateway::ResidencyPort::Access::kFailed;
  entry.reason = fmt::format("engine {} cannot be served: {}", engine, why);
  entry.retry_after_s = 30;
  return entry;
}

}  // namespace

std::string DefaultLogDir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/cortex/logs";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/cortex/logs";
  }
  return "/tmp/cortex-logs";
}

Supervisor::Impl::Impl(asio::io_context& io, const Config& config, SupervisorOptions options)
    : io(io),
      config(config),
      options(std::move(options)),
      tick_timer(io),
      sample_timer(io),
      epoch(Clock::now()) {}

double Supervisor::Impl::Now() const {
  return std::chrono::duration<double>(Clock::now() - epoch).count();
}

ManagedEngine* Supervisor::Impl::Find(const std::string& name) {
  auto it = engines.find(name);
  return it == engines.end() ? nullptr : &it->second;
}
const ManagedEngine* Supervisor::Impl::Find(const std::string& name) const {
  auto it = engines.find(name);
  return it == engines.end() ? nullptr : &it->second;
}

Status Supervisor::Impl::Start() {
  const std::map<std::string, StatusOr<ModelInfo>> models = ResolveEngineModels(config);
  // Plans per profile: an engine runs a profile's plan only when it has that profile.
  std::map<std::string, DeploymentPlan> plans;
  for (const std::string& p : ProfileNames(config))
    plans.emplace(p, PlanDeployment(config, p, models));

  std::vector<sched::EngineSpec> specs;
  std::vector<sched::BurstSpec> bursts;
  std::string problems;
  for (const EngineConfig& e : config.engines) {
    if (!e.url.empty()) continue;
    ManagedEngine m;
    m.config = &e;
    sched::EngineSpec spec;
    spec.name = e.name;
    for (const auto& [profile, plan] : plans) {
      const bool own = profile == "normal" ||
                       std::any_of(e.profiles.begin(), e.profiles.end(),
                                   [&](const EngineProfile& p) { return p.name == profile; });
      if (!own) continue;
      auto it = std::find_if(plan.engines.begin(), plan.engines.end(),
                             [&](const EnginePlan& ep) { return ep.name == e.name; });
      if (it == plan.engines.end()) continue;
      if (!it->planned) {
        problems += fmt::format(
            "\n  engine {} (profile {}) cannot be planned; run `cortex plan` "
            "for the reason",
            e.name, profile);
        continue;
      }
      // The ledger holds what the plan says the process takes; an engine without a plan would
      // be admitted blind, which is what the ledger exists to prevent.
      spec.bytes_by_profile[profile] = it->memory.total_bytes();
      m.plans.emplace(profile, *it);
    }
    if (!m.plans.count("normal")) continue;
    const EnginePlan& normal = m.plans.at("normal");
    // vLLM's sleep level 1 moves the weights to host memory: on one pool they stay counted.
    spec.can_sleep = SpeaksVllmWire(e) && FlagOn(e.flags, "enable-sleep-mode");
    spec.sleeping_bytes = spec.can_sleep ? normal.memory.weights_bytes : 0;
    spec.pinned = e.pinned;
    spec.start_resident = true;
    spec.load_seconds = e.load_seconds.value_or(
        5.0 + static_cast<double>(normal.memory.weights_bytes) / 2e9);  // ~2 GB/s from disk
    if (const FlagValue* hold = FindFlag(e.flags, "sim-hold-memory"); e.kind == EngineKind::kSim) {
      m.sim_hold_fraction = hold != nullptr ? hold->float_value : 0;
      if (hold != nullptr && hold->kind == FlagValue::Kind::kInt) {
        m.sim_hold_fraction = static_cast<double>(hold->int_value);
      }
    }
    for (const EngineProfile& p : e.profiles) {
      if (!p.pauses.empty() || m.plans.count(p.name)) {
        bursts.push_back(sched::BurstSpec{e.name, p.name, p.pauses});
      }
    }
    // Launch argv for the normal profile now, so a bad config fails at start, not at first use.
    auto launch = BuildEngineLaunch(e, normal, options.self_exe);
    if (!launch.ok()) {
      problems += fmt::format("\n  engine {}: {}", e.name, launch.status().message());
      continue;
    }
    m.launch = *launch;
    m.log = std::make_unique<RotatingLog>(options.log_dir, e.name, config.supervisor.log_max_bytes,
                                          config.supervisor.log_files);
    order.push_back(e.name);
    engines.emplace(e.name, std::move(m));
    specs.push_back(std::move(spec));
  }
  if (!problems.empty()) return Status::InvalidArgument("cannot launch:" + problems);

  // Engines that a profile pauses start normally; what is resident under "normal" is what the
  // normal plan says.
  const DeploymentPlan& normal = plans.at("normal");
  for (sched::EngineSpec& s : specs) {
    auto it = std::find_if(normal.engines.begin(), normal.engines.end(),
                           [&](const EnginePlan& ep) { return ep.name == s.name; });
    s.start_resident = it != normal.engines.end() && it->resident;
  }
  const uint64_t reserves = config.machine.reserve_os_bytes + config.machine.reserve_backend_bytes;
  const uint64_t memory =
      config.machine.memory_bytes > reserves ? config.machine.memory_bytes - reserves : 0;
  const uint64_t pool = std::min(memory, config.machine.gpu_pool_bytes);
  // The scheduler takes its specs on trust; what it would otherwise paper over (an engine no
  // pool can hold, two bursts on one engine) is a config the operator must hear about now.
  if (Status valid = sched::ResidencyScheduler::Validate(specs, bursts, pool); !valid.ok()) {
    return Status::InvalidArgument("cannot launch: " + valid.message());
  }
  sched::SchedulerOptions so;
  so.drain_timeout_s = config.supervisor.drain_timeout_s;
  scheduler =
      std::make_unique<sched::ResidencyScheduler>(std::move(specs), std::move(bursts), pool, so);
  Apply(scheduler->Boot(Now()));
  asio::co_spawn(io, SampleMemory(), asio::detached);
  return Status::Ok();
}

void Supervisor::Impl::Notify(const std::string& engine, bool ready) {
  Changed();
  if (listener) listener(engine, ready);
}

void Supervisor::Impl::Changed() {
  if (change_listener) change_listener();
}

void Supervisor::Impl::Apply(std::vector<sched::Effect> effects) {
  if (!effects.empty()) Changed();
  for (const sched::Effect& e : effects)
    Apply(e);
  ArmTick();
}

void Supervisor::Impl::Apply(const sched::Effect& effect) {
  ManagedEngine* m = Find(effect.engine);
  if (m == nullptr) return;
  using K = sched::Effect::Kind;
  // Once shutting down, nothing is started, slept or woken: Shutdown stops what runs and waits
  // for exactly that. Waking waiters is still fine.
  if (shutting_down && effect.kind != K::kAdmit && effect.kind != K::kReject) return;
  switch (effect.kind) {
    case K::kStart:
      m->profile = effect.profile.empty() ? "normal" : effect.profile;
      m->failure.clear();
      m->crashes.clear();
      Spawn(effect.engine);
      break;
    case K::kStop:
      m->log->Note(fmt::format("stopping: {}", effect.reason));
      Notify(effect.engine, false);
      StopProcess(effect.engine);
      break;
    case K::kSleep:
      Notify(effect.engine, false);
      asio::co_spawn(io, SleepEngine(effect.engine, m->generation), asio::detached);
      break;
    case K::kWake:
      asio::co_spawn(io, WakeEngine(effect.engine, m->generation), asio::detached);
      break;
    case K::kAdmit:
      for (auto& w : m->waiters)
        w->admitted = true;
      WakeWaiters(*m);
      break;
    case K::kReject:
      if (m->waiters.empty()) m->log->Note("not started: " + effect.reason);
      for (auto& w : m->waiters) {
        w->rejected = true;
        w->reason = effect.reason;
      }
      WakeWaiters(*m);
      break;
  }
}

// SIGTERM (then SIGKILL) to a running engine, whose exit handler reports it; an engine with no
// process (crashed, a restart pending) has already released its memory, so that is reported
// now, on the next turn of the loop, and any pending restart of it is called off.
void Supervisor::Impl::StopProcess(const std::string& name) {
  ManagedEngine& m = engines.at(name);
  if (m.child && m.child->running()) {
    m.stop_expected = true;
    m.child->Stop(Millis(config.supervisor.stop_timeout_s));
    return;
  }
  if (m.restart_timer) m.restart_timer->cancel();
  m.generation++;
  asio::post(io, [self = shared_from_this(), name] {
    self->Apply(self->scheduler->EngineExited(name, self->Now()));
    self->RestartIfAsked(name);
  });
}

void Supervisor::Impl::WakeWaiters(ManagedEngine& m) {
  for (auto& w : m.waiters)
    w->timer.cancel();
}

void Supervisor::Impl::RestartIfAsked(const std::string& name) {
  ManagedEngine* m = Find(name);
  if (m == nullptr || !m->restart_after_stop || shutting_down) return;
  m->restart_after_stop = false;
  if (auto effects = scheduler->AdminStart(name, Now()); effects.ok()) Apply(std::move(*effects));
}

void Supervisor::Impl::WakeAllWaiters() {
  for (auto& [name, m] : engines)
    WakeWaiters(m);
}

void Supervisor::Impl::Spawn(const std::string& name) {
  if (shutting_down) return;
  ManagedEngine& m = engines.at(name);
  const EngineConfig profiled = ApplyProfile(*m.config, m.profile);
  auto plan_it = m.plans.find(m.profile);
  const EnginePlan& plan = plan_it != m.plans.end() ? plan_it->second : m.plans.at("normal");
  auto launch = BuildEngineLaunch(profiled, plan, options.self_exe);
  if (!launch.ok()) {
    m.failure = launch.status().message();
    m.log->Note("cannot launch: " + m.failure);
    Apply(scheduler->EngineFailed(name, Now()));
    return;
  }
  m.launch = *launch;
  SpawnSpec spec;
  spec.argv = m.launch.argv;
  spec.argv[0] = m.launch.binary;
  spec.env = m.launch.env;
  if (m.config->launch == LaunchKind::kDocker) {
    auto compose = DockerComposeArgv(name, profiled, plan);
    if (!compose.ok()) {
      m.failure = compose.status().message();
      m.log->Note("cannot launch: " + m.failure);
      Apply(scheduler->EngineFailed(name, Now()));
      return;
    }
    spec.argv = std::move(*compose);
    spec.env.clear();  // the container gets them from the compose file
  }
  // vLLM serves /sleep and /wake_up only in its development mode.
  if (SpeaksVllmWire(*m.config) && FlagOn(m.config->flags, "enable-sleep-mode")) {
    spec.env.emplace_back("VLLM_SERVER_DEV_MODE", "1");
  }
  const uint64_t generation = ++m.generation;
  m.stop_expected = false;
  m.container.reset();
  m.started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string argv_text;
  for (const auto& a : spec.argv)
    argv_text += (argv_text.empty() ? "" : " ") + a;
  m.log->Note(fmt::format("starting (profile {}): {}", m.profile, argv_text));
  std::weak_ptr<Impl> weak = shared_from_this();
  auto child = ChildProcess::Spawn(
      io.get_executor(), spec,
      [weak, name](std::string_view bytes) {
        if (auto self = weak.lock()) {
          if (ManagedEngine* e = self->Find(name)) e->log->Append(bytes);
        }
      },
      [weak, name, generation](ExitInfo info) {
        if (auto self = weak.lock()) self->OnExit(name, generation, info);
      });
  if (!child.ok()) {
    m.failure = child.status().message();
    m.log->Note("cannot start: " + m.failure);
    Apply(scheduler->EngineFailed(name, Now()));
    return;
  }
  m.child = *child;
  asio::co_spawn(io, AwaitReady(name, generation), asio::detached);
}

// An engine with `launch: docker` runs as the one service of a compose file written for its
// current profile, attached (`docker compose up SERVICE`), so the compose client is the process
// we supervise: its exit is the container's, and SIGTERM to it stops the container gracefully.
StatusOr<std::vector<std::string>> Supervisor::Impl::DockerComposeArgv(const std::string& name,
                                                                       const EngineConfig& profiled,
                                                                       const EnginePlan& plan) {
  Config one = config;
  one.engines = {profiled};
  DeploymentPlan deployment;
  deployment.profile = engines.at(name).profile;
  deployment.engines = {plan};
  ComposeOptions compose;
  compose.group_add = HostGroupIds(compose.group_add);
  compose.base_dir = std::filesystem::path(config.path).parent_path().string();
  const ComposeFile file = BuildComposeFile(one, deployment, compose);
  if (file.services.size() != 1) {
    return Status::InvalidArgument(
        fmt::format("no compose service for {}: {}", name,
                    file.left_out.empty() ? std::string("left out") : file.left_out.front()));
  }
  const std::string path = ComposeFilePath(name);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::IoError(fmt::format("cannot write {}", path));
  const std::string text = RenderComposeFile(file);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  std::vector<std::string> argv = ComposeArgv(name);
  for (const char* a : {"up", "--no-log-prefix", "--abort-on-container-exit"})
    argv.emplace_back(a);
  argv.push_back(name);
  return argv;
}

std::string Supervisor::Impl::ComposeFilePath(const std::string& name) const {
  return options.log_dir + "/" + name + ".compose.yml";
}

std::vector<std::string> Supervisor::Impl::ComposeArgv(const std::string& name) const {
  return {"docker", "compose", "-p", "cortex", "-f", ComposeFilePath(name)};
}

// The container behind a docker engine, once it is ready: its id from compose, its init's pid
// from docker, and that pid's cgroup v2 directory, where the kernel counts the container's
// memory (memory.current, memory.max). Without cgroup v2 its processes are read instead.
asio::awaitable<void> Supervisor::Impl::FindContainer(std::string name, uint64_t generation) {
  auto self = shared_from_this();
  std::vector<std::string> ps = ComposeArgv(name);
  for (const std::string& a : {std::string("ps"), std::string("-q"), name})
    ps.push_back(a);
  auto ids = co_await RunForOutput(io.get_executor(), ps, std::chrono::seconds(15));
  ManagedEngine* m = Find(name);
  if (m == nullptr || m->generation != generation) co_return;
  std::string id = ids.ok() ? *ids : std::string();
  id = id.substr(0, id.find('\n'));
  if (id.empty()) {
    m->log->Note(
        "cannot find its container for memory readings: " +
        (ids.ok() ? std::string("docker compose ps printed nothing") : ids.status().message()));
    co_return;
  }
  const std::vector<std::string> inspect = {"docker", "inspect", "--format", "{{.State.Pid}}", id};
  auto pid_text = co_await RunForOutput(io.get_executor(), inspect, std::chrono::seconds(15));
  m = Find(name);
  if (m == nullptr || m->generation != generation) co_return;
  long pid = 0;
  if (pid_text.ok()) pid = std::strtol(pid_text->c_str(), nullptr, 10);
  if (pid <= 0) {
    m->log->Note("cannot find its container's process for memory readings: " +
                 (pid_text.ok() ? "docker inspect printed \"" + pid_text->substr(0, 40) + "\""
                                : pid_text.status().message()));
    co_return;
  }
  ContainerInfo c;
  c.id = id;
  c.pid = static_cast<pid_t>(pid);
  c.cgroup_dir = monitor::CgroupDirOfPid(c.pid);
  if (c.cgroup_dir && !monitor::ReadCgroupMemory(*c.cgroup_dir)) c.cgroup_dir.reset();
  m->log->Note(fmt::format("container {} (pid {}): memory from {}", id.substr(0, 12), c.pid,
                           c.cgroup_dir ? "cgroup " + *c.cgroup_dir
                                        : std::string("its processes (no cgroup v2 memory)")));
  m->container = std::move(c);
}

asio::awaitable<void> Supervisor::Impl::AwaitReady(std::string name, uint64_t generation) {
  auto self = shared_from_this();
  asio::steady_timer timer(io);
  const auto deadline = Clock::now() + Millis(config.supervisor.ready_timeout_s);
  auto interval = std::chrono::milliseconds(50);
  for (;;) {
    ManagedEngine* m = Find(name);
    if (m == nullptr || m->generation != generation || !m->child || !m->child->running() ||
        shutting_down) {
      co_return;
    }
    const int status =
        co_await Request(io.get_executor(), m->config->host, m->config->port, net::http::verb::get,
                         "/health", std::chrono::milliseconds(2000));
    m = Find(name);
    if (m == nullptr || m->generation != generation || shutting_down || !m->child ||
        !m->child->running()) {
      co_return;
    }
    if (status == 200) {
      m->log->Note("ready");
      if (m->config->launch == LaunchKind::kDocker) {
        asio::co_spawn(io, FindContainer(name, generation), asio::detached);
      }
      Notify(name, true);
      Apply(scheduler->EngineReady(name, Now()));
      if (m->watched_generation != generation) {
        m->watched_generation = generation;
        asio::co_spawn(io, WatchLiveness(name, generation), asio::detached);
      }
      co_return;
    }
    if (Clock::now() >= deadline) {
      m->log->Note(
          fmt::format("not ready after {:.0f} s: stopping it", config.supervisor.ready_timeout_s));
      // Treated as a crash: the exit handler restarts it or gives up.
      m->child->Stop(Millis(config.supervisor.stop_timeout_s));
      co_return;
    }
    timer.expires_after(interval);
    // /health on loopback is cheap; a long interval would add up to itself to every start and
    // every burst switch (bench/RESULTS.md measured 250 ms at 500 ms).
    interval = std::min(interval * 2, std::chrono::milliseconds(100));
    co_await timer.async_wait(kNoThrow);
  }
}

// A process can be alive and useless: deadlocked, or stuck in a driver call. While the engine
// is meant to serve, /health must answer; kLivenessFailures probes in a row that get nothing
// (not even a 503 "Loading model") and the engine is killed, and the crash path restarts it.
asio::awaitable<void> Supervisor::Impl::WatchLiveness(std::string name, uint64_t generation) {
  constexpr int kLivenessFailures = 3;
  constexpr auto kInterval = std::chrono::seconds(2);
  auto self = shared_from_this();
  asio::steady_timer timer(io);
  int failures = 0;
  for (;;) {
    timer.expires_after(kInterval);
    co_await timer.async_wait(kNoThrow);
    ManagedEngine* m = Find(name);
    if (m == nullptr || m->generation != generation || shutting_down || !m->child ||
        !m->child->running() || m->stop_expected) {
      co_return;
    }
    // A sleeping vLLM still answers /health; anything else that answers is alive.
    const int status = co_await Request(io.get_executor(), m->config->host, m->config->port,
                                        net::http::verb::get, "/health", kInterval);
    m = Find(name);
    if (m == nullptr || m->generation != generation || shutting_down) co_return;
    if (status == kNotAsked) continue;  // our descriptors ran out, not the engine's answers
    failures = status == 0 ? failures + 1 : 0;
    if (failures >= kLivenessFailures && m->child && m->child->running() && !m->stop_expected) {
      m->log->Note(fmt::format("no answer to {} health probes in a row: killing it", failures));
      m->child->Kill();  // the exit handler treats it as a crash and restarts it
      co_return;
    }
  }
}

asio::awaitable<void> Supervisor::Impl::SleepEngine(std::string name, uint64_t generation) {
  auto self = shared_from_this();
  ManagedEngine* m = Find(name);
  if (m == nullptr) co_return;
  const int status =
      co_await Request(io.get_executor(), m->config->host, m->config->port, net::http::verb::post,
                       "/sleep?level=1", std::chrono::milliseconds(60000));
  m = Find(name);
  if (m == nullptr || m->generation != generation) co_return;
  if (status == 200) {
    m->log->Note("asleep (level 1)");
    Apply(scheduler->EngineSlept(name, Now()));
    co_return;
  }
  // It would not sleep: stopping it frees the memory just as well.
  m->log->Note(fmt::format("sleep answered {}: stopping instead", status));
  StopProcess(name);
}

asio::awaitable<void> Supervisor::Impl::WakeEngine(std::string name, uint64_t generation) {
  auto self = shared_from_this();
  ManagedEngine* m = Find(name);
  if (m == nullptr) co_return;
  const int status =
      co_await Request(io.get_executor(), m->config->host, m->config->port, net::http::verb::post,
                       "/wake_up", std::chrono::milliseconds(60000));
  m = Find(name);
  if (m == nullptr || m->generation != generation) co_return;
  if (status != 200) {
    m->log->Note(fmt::format("wake_up answered {}: restarting it", status));
    if (m->child && m->child->running()) m->child->Kill();  // the exit handler restarts it
    co_return;
  }
  m->log->Note("awake");
  co_await AwaitReady(name, generation);
}

void Supervisor::Impl::OnExit(const std::string& name, uint64_t generation, ExitInfo info) {
  ManagedEngine* m = Find(name);
  if (m == nullptr || m->generation != generation) return;
  m->log->Note(info.Describe());
  m->actual_bytes.reset();
  if (shutting_down) return;
  if (m->stop_expected) {
    m->stop_expected = false;
    Apply(scheduler->EngineExited(name, Now()));
    RestartIfAsked(name);
    return;
  }
  // A crash. Requests in flight have already failed at the gateway; new ones wait for the
  // restart (the scheduler keeps the engine's memory reserved meanwhile).
  Notify(name, false);
  const double now = Now();
  m->crashes.push_back(now);
  while (!m->crashes.empty() && now - m->crashes.front() > config.supervisor.restart_window_s) {
    m->crashes.pop_front();
  }
  if (static_cast<int>(m->crashes.size()) > config.supervisor.max_restarts) {
    m->failure = fmt::format("{} crashes in {:.0f} s (last: {}); not restarting. Last output:\n{}",
                             m->crashes.size(), config.supervisor.restart_window_s, info.Describe(),
                             EngineLines(m->log->Tail(40), 5));
    m->log->Note("failed: crash loop");
    Apply(scheduler->EngineFailed(name, now));
    return;
  }
  Apply(scheduler->EngineCrashed(name, now));
  if (scheduler->state(name) != sched::EngineState::kStarting) {
    // It was on its way out (draining to stop, going to sleep): the scheduler counts it as
    // stopped, so it is not restarted, and nothing of this process may act on it any more.
    m->generation++;
    return;
  }
  const double backoff = std::min(config.supervisor.restart_backoff_max_s,
                                  config.supervisor.restart_backoff_s *
                                      std::pow(2.0, static_cast<double>(m->crashes.size() - 1)));
  m->log->Note(fmt::format("restarting in {:.1f} s", backoff));
  m->restart_timer = std::make_unique<asio::steady_timer>(io);
  m->restart_timer->expires_after(Millis(backoff));
  m->restart_timer->async_wait([weak = std::weak_ptr<Impl>(shared_from_this()), name,
                                generation](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->shutting_down) return;
    ManagedEngine* e = self->Find(name);
    if (e == nullptr || e->generation != generation) return;  // stopped or restarted meanwhile
    e->restarts++;
    self->Spawn(name);
  });
}

void Supervisor::Impl::ArmTick() {
  const double next = scheduler->NextDeadline();
  if (!std::isfinite(next)) return;
  tick_timer.expires_at(epoch + Millis(std::max(0.0, next) + 0.001));
  tick_timer.async_wait(
      [weak = std::weak_ptr<Impl>(shared_from_this())](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->shutting_down) return;
        self->Apply(self->scheduler->Tick(self->Now()));
      });
}

asio::awaitable<void> Supervisor::Impl::SampleMemory() {
  auto self = shared_from_this();
  while (!shutting_down) {
    // Each engine leads its own process group; a docker engine's processes are the
    // container's (its init leads a group of its own), not the compose client's we started.
    std::vector<pid_t> groups;
    for (auto& [name, m] : engines) {
      if (!m.child || !m.child->running()) continue;
      if (m.config->launch != LaunchKind::kDocker) {
        groups.push_back(m.child->pid());
      } else if (m.container && !m.container->cgroup_dir) {
        groups.push_back(m.container->pid);
      }
    }
    auto memory = monitor::ReadGroupsMemory(groups);
    machine = monitor::ReadMachineMemory();
    for (auto& [name, m] : engines) {
      if (!m.child || !m.child->running()) continue;
      if (m.config->launch != LaunchKind::kDocker) {
        m.actual_bytes = memory[m.child->pid()].total_bytes();
      } else if (!m.container) {
        m.actual_bytes.reset();  // not known until the container is found
        continue;
      } else if (m.container->cgroup_dir) {
        // What the kernel charges the container, as `docker stats` shows it.
        const auto cg = monitor::ReadCgroupMemory(*m.container->cgroup_dir);
        if (!cg) {
          m.actual_bytes.reset();
          continue;
        }
        m.actual_bytes = cg->current_bytes;
        m.container->cgroup_max_bytes = cg->max_bytes;
      } else {
        m.actual_bytes = memory[m.container->pid].total_bytes();
      }
      const auto held = scheduler->ledger().Held(name);
      m.drift.clear();
      if (!held || *held == 0) continue;
      // The simulator holds only the fraction it was told to of the buffers it plans
      // (weights, KV, compute, output: not the runtime overhead a real engine adds); without a
      // fraction there is nothing to compare.
      double expected = static_cast<double>(*held);
      if (m.sim_hold_fraction >= 0) {
        if (m.sim_hold_fraction <= 0) continue;
        auto plan = m.plans.find(scheduler->profile(name));
        const uint64_t overhead =
            plan != m.plans.end() ? plan->second.memory.overhead_bytes : uint64_t{0};
        expected =
            m.sim_hold_fraction * static_cast<double>(*held > overhead ? *held - overhead : 0);
      }
      m.expected_bytes = static_cast<uint64_t>(expected);
      if (scheduler->state(name) != sched::EngineState::kReady) continue;
      const double actual = static_cast<double>(*m.actual_bytes);
      if (std::abs(actual - expected) > config.supervisor.memory_drift * expected) {
        m.drift = fmt::format("uses {:.2f} GiB, planned {:.2f} GiB ({:+.0f}%)", actual / (1 << 30),
                              expected / (1 << 30), 100.0 * (actual - expected) / expected);
      }
    }
    sample_timer.expires_after(std::chrono::seconds(2));
    co_await sample_timer.async_wait(kNoThrow);
  }
}

// ---- Supervisor ----

Supervisor::Supervisor(asio::io_context& io, const Config& config, SupervisorOptions options)
    : impl_(std::make_shared<Impl>(io, config, std::move(options))) {}

Supervisor::~Supervisor() {
  impl_->shutting_down = true;
  for (auto& [name, m] : impl_->engines) {
    if (m.child && m.child->running()) m.child->Kill();
  }
}

Status Supervisor::Start() {
  return impl_->Start();
}

void Supervisor::Shutdown(std::function<void()> done) {
  auto impl = impl_;
  impl->shutting_down = true;
  impl->tick_timer.cancel();
  impl->sample_timer.cancel();
  for (auto& [name, m] : impl->engines) {
    if (m.restart_timer) m.restart_timer->cancel();
    for (auto& w : m.waiters) {
      w->rejected = true;
      w->reason = "cortex is shutting down";
      w->timer.cancel();
    }
    if (m.child && m.child->running()) {
      m.log->Note("stopping: cortex is shutting down");
      m.child->Stop(Millis(impl->config.supervisor.stop_timeout_s));
    }
  }
  // Poll until every process has exited. Each has its own SIGKILL deadline; past it (plus a
  // margin) everything left is killed, and a little later we give up waiting, so shutdown is
  // bounded even if a process cannot be reaped.
  auto timer = std::make_shared<asio::steady_timer>(impl->io);
  auto check = std::make_shared<std::function<void()>>();
  const auto kill_at = Clock::now() + Millis(impl->config.supervisor.stop_timeout_s + 2);
  const auto give_up_at = kill_at + std::chrono::seconds(3);
  *check = [impl, timer, check, done, kill_at, give_up_at]() {
    bool running = false;
    for (auto& [name, m] : impl->engines) {
      if (m.child && m.child->running() && Clock::now() >= kill_at) m.child->Kill();
      running |= m.child && m.child->running();
    }
    if (!running || Clock::now() >= give_up_at) {
      done();
      *check = nullptr;  // breaks the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([check](const boost::system::error_code&) {
      if (*check) (*check)();
    });
  };
  (*check)();
}

bool Supervisor::Manages(const std::string& engine) const {
  return impl_->Find(engine) != nullptr;
}

std::string Supervisor::ServedName(const std::string& engine) const {
  const ManagedEngine* m = impl_->Find(engine);
  return m == nullptr ? std::string() : m->launch.served_name;
}

bool Supervisor::Unavailable(const std::string& engine) const {
  const ManagedEngine* m = impl_->Find(engine);
  if (m == nullptr) return true;
  return impl_->scheduler->paused(engine) || impl_->scheduler->admin_stopped(engine) ||
         impl_->scheduler->state(engine) == sched::EngineState::kFailed;
}

asio::awaitable<gateway::ResidencyPort::Entry> Supervisor::Enter(const std::string& engine,
                                                                 Clock::time_point deadline,
                                                                 net::Responder& res) {
  auto impl = impl_;
  Entry entry;
  for (;;) {
    ManagedEngine* m = impl->Find(engine);
    if (m == nullptr) {
      entry.access = Access::kFailed;
      entry.reason = fmt::format("engine {} is not managed here", engine);
      co_return entry;
    }
    if (impl->shutting_down) {
      entry.access = Access::kFailed;
      entry.reason = "cortex is shutting down";
      entry.retry_after_s = 10;
      co_return entry;
    }
    std::vector<sched::Effect> effects;
    const sched::DemandResult r = impl->scheduler->Demand(engine, impl->Now(), &effects);
    // A reject among our own Demand's effects (nothing can be evicted; the start failed at
    // once) is for us too, though we are not yet among the waiters it wakes.
    std::string rejected;
    for (const sched::Effect& e : effects) {
      if (e.kind == sched::Effect::Kind::kReject && e.engine == engine) rejected = e.reason;
    }
    impl->Apply(std::move(effects));
    if (r == sched::DemandResult::kWait && !rejected.empty()) {
      co_return Rejected(engine, m->failure.empty() ? rejected : m->failure);
    }
    if (r == sched::DemandResult::kReadyNow) {
      impl->scheduler->RequestStarted(engine, impl->Now());
      entry.access = Access::kReady;
      co_return entry;
    }
    if (r == sched::DemandResult::kFailed || r == sched::DemandResult::kUnknown) {
      entry.access = Access::kFailed;
      entry.reason =
          fmt::format("engine {} has failed: {}", engine,
                      m->failure.empty() ? "see `cortex logs " + engine + "`" : m->failure);
      entry.retry_after_s = 30;
      co_return entry;
    }
    if (r == sched::DemandResult::kPaused && impl->scheduler->admin_stopped(engine)) {
      entry.access = Access::kPaused;
      entry.reason = fmt::format(
          "engine {} was stopped by an operator (POST /admin/engines/{}/start starts it)", engine,
          engine);
      entry.retry_after_s = 60;
      co_return entry;
    }
    // Wait for an admit, a reject, a change of burst, the client leaving, or the deadline.
    const bool paused = r == sched::DemandResult::kPaused;
    auto waiter = std::make_shared<EngineWaiter>(impl->io.get_executor());
    waiter->timer.expires_at(paused ? std::min(deadline, Clock::now() + std::chrono::seconds(1))
                                    : deadline);
    m->waiters.push_back(waiter);
    co_await res.Wait(waiter->timer);
    m = impl->Find(engine);
    std::erase(m->waiters, waiter);
    const bool gone = res.client_gone();
    const bool late = Clock::now() >= deadline;
    // Admitted requests ask again below; any other that stops waiting must say so.
    if (!paused && !waiter->rejected && (gone || !waiter->admitted)) {
      impl->Apply(impl->scheduler->WaiterLeft(engine, impl->Now()));
    }
    if (gone) {
      entry.access = Access::kClientGone;
      co_return entry;
    }
    if (waiter->rejected) {
      co_return Rejected(engine, m->failure.empty() ? waiter->reason : m->failure);
    }
    if (late && !waiter->admitted) {
      entry.access = paused ? Access::kPaused : Access::kTimedOut;
      entry.reason = paused ? fmt::format("engine {} is paused while {} runs a burst; retry later",
                                          engine, impl->scheduler->burst_engine())
                            : fmt::format("engine {} is still loading; retry shortly", engine);
      entry.retry_after_s = paused ? 30 : 5;
      co_return entry;
    }
    // Admitted (or the pause may be over): ask again.
  }
}

void Supervisor::Leave(const std::string& engine) {
  impl_->Apply(impl_->scheduler->RequestFinished(engine, impl_->Now()));
}

void Supervisor::SetEngineListener(EngineListener listener) {
  impl_->listener = std::move(listener);
}

}  // namespace cortex::supervise
