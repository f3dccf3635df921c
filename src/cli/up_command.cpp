#include "cli/up_command.h"
#include "cli/config_path.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>

#include "cli/demo_config.h"
#include "config/argos_env.h"
#include "config/config_loader.h"
#include "deploy/engine_models.h"
#include "gateway/gateway.h"
#include "ingest/ingest_service.h"
#include "ingest/lane_targets.h"
#include "net/descriptor_limit.h"
#include "supervise/supervisor.h"

namespace cortex::cli {
namespace {

// The ingest service: its jobs live under ingest.dir (default <state dir>/ingest).
StatusOr<std::unique_ptr<ingest::IngestService>> OpenIngest(const Config& config,
                                                            const std::string& state_dir,
                                                            bool supervised) {
  ingest::RunnerEnv env;
  env.config = config;
  env.dir = config.ingest.dir.empty() ? state_dir + "/ingest" : config.ingest.dir;
  env.lanes = ingest::LaneTargets(config, ResolveEngineModels(config));
  std::string host = config.gateway.listen.substr(0, config.gateway.listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "::1";
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  env.gateway_host = host;
  if (!config.gateway.api_keys.empty()) env.api_key = config.gateway.api_keys.front();
  env.admin_key = config.gateway.admin_key;
  env.supervised = supervised;
  return ingest::IngestService::Open(std::move(env));
}

}  // namespace

void AddUpOptions(CLI::App& app, UpOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "deployment config (YAML); default $CORTEX_CONFIG, else ./cortex.yaml when it "
                 "exists, else the built-in demo");
  app.add_flag("--print-demo-config", options.print_demo,
               "print the built-in demo's config and exit");
}

int RunUp(const UpOptions& options) {
  const std::string path = ConfigPathOrDemo(options.config_path);
  StatusOr<Config> config = Status::NotFound("no config");
  const std::string state_dir = std::filesystem::path(supervise::DefaultLogDir()).parent_path();
  if (path.empty() || options.print_demo) {
    const std::string model_dir = state_dir + "/demo-models";
    if (options.print_demo) {
      std::fputs(DemoConfigYaml(model_dir).c_str(), stdout);
      return 0;
    }
    config = LoadDemoConfig(state_dir);
    if (!config.ok()) {
      std::fprintf(stderr, "cortex up: %s\n", config.status().message().c_str());
      return 3;
    }
    std::fprintf(stderr,
                 "cortex up: no config given; running the built-in demo (five lanes on simulated "
                 "engines; `cortex up --print-demo-config` shows it)\n");
  } else {
    config = LoadConfig(path);
  }
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  // One thread runs this loop and every socket on it (the ingest runner has its own loop and
  // reaches the gateway over HTTP), so the reactor's per-descriptor locks are dropped; the
  // scheduler keeps its locks for the resolver's background thread.
  if (const net::DescriptorLimit fds = net::RaiseDescriptorLimit(); fds.raised()) {
    std::fprintf(stderr, "cortex up: descriptor limit raised from %llu to %llu (the hard limit)\n",
                 static_cast<unsigned long long>(fds.before),
                 static_cast<unsigned long long>(fds.soft));
  } else if (fds.soft < 4096) {
    std::fprintf(stderr,
                 "cortex up: descriptor limit is %llu and the hard limit allows no more; "
                 "connections are capped to fit (raise it with `ulimit -Hn`)\n",
                 static_cast<unsigned long long>(fds.soft));
  }
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  std::unique_ptr<supervise::Supervisor> supervisor;
  const bool launches = std::any_of(config->engines.begin(), config->engines.end(),
                                    [](const EngineConfig& e) { return e.url.empty(); });
  if (launches) {
    supervise::SupervisorOptions so;
    std::error_code ec;
    so.self_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    so.log_dir = config->supervisor.log_dir.empty() ? supervise::DefaultLogDir()
                                                    : config->supervisor.log_dir;
    supervisor = std::make_unique<supervise::Supervisor>(io, *config, so);
    if (Status s = supervisor->Start(); !s.ok()) {
      std::fprintf(stderr, "cortex up: %s\n", s.message().c_str());
      return 2;
    }
    std::fprintf(stderr, "cortex up: engine logs in %s\n", so.log_dir.c_str());
  }
  gateway::Gateway gateway(io, *config);
  if (supervisor) gateway.SetResidency(supervisor.get());
  auto ingest = OpenIngest(*config, state_dir, supervisor != nullptr);
  if (!ingest.ok()) {
    std::fprintf(stderr, "cortex up: ingest: %s\n", ingest.status().message().c_str());
    if (supervisor) {
      supervisor->Shutdown([&] { io.stop(); });
      io.run();
    }
    return 2;
  }
  gateway.SetIngest(ingest->get());
  if (Status s = gateway.Start(); !s.ok()) {
    std::fprintf(stderr, "cortex up: %s\n", s.message().c_str());
    if (supervisor) {
      supervisor->Shutdown([&] { io.stop(); });
      io.run();
    }
    return 3;
  }
  const std::string listen = config->gateway.listen;
  std::fprintf(stderr, "cortex up: gateway listening on http://%s:%u (%zu lanes, %zu engines)\n",
               listen.substr(0, listen.rfind(':')).c_str(), gateway.port(), config->lanes.size(),
               config->engines.size());
  (*ingest)->StartRunner(gateway.port());
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (stopping) {
          // A second signal: do not wait for the engines; the destructors kill them.
          std::fprintf(stderr, "cortex up: signal %d again, exiting now\n", signal);
          io.stop();
          return;
        }
        stopping = true;
        std::fprintf(stderr, "cortex up: signal %d, stopping\n", signal);
        // The job in progress stops where it is and resumes at the next start.
        (*ingest)->RequestStopRunner();
        signals.async_wait(on_signal);
        if (supervisor) {
          // Engines get SIGTERM, then SIGKILL after stop_timeout. The gateway keeps answering
          // meanwhile (503 "shutting down" for supervised lanes) so no client sees a reset,
          // and closes once all engines are gone.
          supervisor->Shutdown(
              [&] { gateway.StopAfterRequests(std::chrono::seconds(2), [&] { io.stop(); }); });
        } else {
          gateway.Stop();
          io.stop();
        }
      };
  signals.async_wait(on_signal);
  io.run();
  (*ingest)->StopRunner();
  gateway.SetIngest(nullptr);
  gateway.SetResidency(nullptr);
  return 0;
}

void AddEnvOptions(CLI::App& app, EnvOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "deployment config (YAML); default $CORTEX_CONFIG or ./cortex.yaml");
}

int RunEnv(const EnvOptions& options) {
  const std::string path = ConfigPath(options.config_path);
  auto config = LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  for (const auto& [name, value] : ArgosEnvironment(*config))
    std::printf("export %s=%s\n", name.c_str(), value.c_str());
  return 0;
}

}  // namespace cortex::cli
