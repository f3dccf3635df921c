#include "cli/config_path.h"

#include <cstdlib>
#include <filesystem>

namespace cortex::cli {
namespace {

std::string GivenOrEnv(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("CORTEX_CONFIG"); env != nullptr && *env != '\0') return env;
  return {};
}

}  // namespace

std::string ConfigPath(const std::string& given) {
  const std::string path = GivenOrEnv(given);
  return path.empty() ? "cortex.yaml" : path;
}

std::string ConfigPathOrDemo(const std::string& given) {
  const std::string path = GivenOrEnv(given);
  if (!path.empty()) return path;
  std::error_code ec;
  return std::filesystem::exists("cortex.yaml", ec) ? "cortex.yaml" : "";
}

}  // namespace cortex::cli
