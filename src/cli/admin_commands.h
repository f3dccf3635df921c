// Commands that talk to a running `cortex up` over its admin API:
//   cortex status [--json]                 engines, lanes, ledger, burst (GET /admin/status)
//   cortex burst on|off [ENGINE] [--wait]  POST /admin/burst
//   cortex logs ENGINE [-n LINES]          the engine's last output lines
// The gateway is found like `cortex up` finds its config (-c, $CORTEX_CONFIG, ./cortex.yaml,
// else the demo's 127.0.0.1:4000) or given with --url; the admin key comes from the config or
// $CORTEX_ADMIN_KEY.
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace CLI {
class App;
}

namespace cortex::cli {

struct AdminTarget {
  std::string config_path;
  std::string url;  // http://HOST:PORT, overrides the config
};

// The gateway of the running `cortex up` and the keys to call it with: the admin key from the
// config or $CORTEX_ADMIN_KEY, the client key (for /v1) from the config's first api key or
// $CORTEX_API_KEY.
struct GatewayEndpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 4000;
  std::string admin_key;
  std::string api_key;
};
StatusOr<GatewayEndpoint> ResolveGateway(const AdminTarget& target);
// -c/--config and --url.
void AddTarget(CLI::App& app, AdminTarget& target);

struct StatusOptions {
  AdminTarget target;
  bool json = false;
};
void AddStatusOptions(CLI::App& app, StatusOptions& options);
int RunStatus(const StatusOptions& options);

struct BurstOptions {
  AdminTarget target;
  std::string state;  // on | off
  std::string engine;
  bool wait = false;
};
void AddBurstOptions(CLI::App& app, BurstOptions& options);
int RunBurst(const BurstOptions& options);

struct LogsOptions {
  AdminTarget target;
  std::string engine;
  int lines = 100;
};
void AddLogsOptions(CLI::App& app, LogsOptions& options);
int RunLogs(const LogsOptions& options);

}  // namespace cortex::cli
