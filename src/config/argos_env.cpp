#include "config/argos_env.h"

#include <cctype>

namespace cortex {

std::string ArgosLaneName(const std::string& lane) {
  std::string out;
  for (char c : lane) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ArgosEnvironment(const Config& config) {
  std::string listen = config.gateway.listen;
  // A gateway bound to every interface is still reached on loopback from this machine.
  if (listen.rfind("0.0.0.0:", 0) == 0) listen = "127.0.0.1" + listen.substr(7);
  const std::string base = "http://" + listen;
  std::vector<std::pair<std::string, std::string>> env;
  env.emplace_back("ARGOS_LLM_BASE_URL", base + "/v1");
  env.emplace_back("ARGOS_LLM_HEALTH_URL", base + "/health/lanes");
  for (const LaneConfig& lane : config.lanes) {
    const std::string name = ArgosLaneName(lane.name);
    env.emplace_back("ARGOS_LANE_" + name + "_URL", base + "/v1");
    env.emplace_back("ARGOS_LANE_" + name + "_MODEL", lane.name);
    env.emplace_back("ARGOS_LANE_" + name + "_HEALTH_URL",
                     base + "/lanes/" + lane.name + "/health");
  }
  env.emplace_back("ARGOS_INGEST_URL", base + "/v1/ingest");
  if (!config.gateway.api_keys.empty())
    env.emplace_back("ARGOS_LLM_API_KEY", config.gateway.api_keys.front());
  return env;
}

}  // namespace cortex
