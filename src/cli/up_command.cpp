#include "cli/up_command.h"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "config/config_loader.h"
#include "gateway/gateway.h"

namespace cortex::cli {
namespace {

std::string ConfigPath(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("CORTEX_CONFIG"); env != nullptr && *env != '\0') return env;
  return "cortex.yaml";
}

std::string EnvName(const std::string& lane) {
  std::string out;
  for (char c : lane) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

}  // namespace

void AddUpOptions(CLI::App& app, UpOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "deployment config (YAML); default $CORTEX_CONFIG or ./cortex.yaml");
}

int RunUp(const UpOptions& options) {
  const std::string path = ConfigPath(options.config_path);
  auto config = LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  for (const EngineConfig& e : config->engines) {
    if (e.url.empty()) {
      std::fprintf(stderr,
                   "cortex up: engine %s has no url; this build proxies to running engines only "
                   "(give `url: http://HOST:PORT`)\n",
                   e.name.c_str());
    }
  }
  boost::asio::io_context io;
  gateway::Gateway gateway(io, *config);
  if (Status s = gateway.Start(); !s.ok()) {
    std::fprintf(stderr, "cortex up: %s\n", s.message().c_str());
    return 3;
  }
  const std::string listen = config->gateway.listen;
  std::fprintf(stderr, "cortex up: gateway listening on http://%s:%u (%zu lanes, %zu engines)\n",
               listen.substr(0, listen.rfind(':')).c_str(), gateway.port(), config->lanes.size(),
               config->engines.size());
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    std::fprintf(stderr, "cortex up: signal %d, stopping\n", signal);
    gateway.Stop();
    io.stop();
  });
  io.run();
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
  std::string listen = config->gateway.listen;
  // A gateway bound to every interface is still reached on loopback from this machine.
  if (listen.rfind("0.0.0.0:", 0) == 0) listen = "127.0.0.1" + listen.substr(7);
  const std::string base = "http://" + listen;
  std::printf("export ARGOS_LLM_BASE_URL=%s/v1\n", base.c_str());
  std::printf("export ARGOS_LLM_HEALTH_URL=%s/health/lanes\n", base.c_str());
  for (const LaneConfig& lane : config->lanes) {
    const std::string name = EnvName(lane.name);
    std::printf("export ARGOS_LANE_%s_URL=%s/v1\n", name.c_str(), base.c_str());
    std::printf("export ARGOS_LANE_%s_MODEL=%s\n", name.c_str(), lane.name.c_str());
    std::printf("export ARGOS_LANE_%s_HEALTH_URL=%s/lanes/%s/health\n", name.c_str(), base.c_str(),
                lane.name.c_str());
  }
  if (!config->gateway.api_keys.empty()) {
    std::printf("export ARGOS_LLM_API_KEY=%s\n", config->gateway.api_keys.front().c_str());
  }
  return 0;
}

}  // namespace cortex::cli
