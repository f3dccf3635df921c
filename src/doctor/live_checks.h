// The doctor's checks of a running `cortex up` (the seed's last two checklist items): every
// lane's state and health, and one short request per lane whose engine is up, timed.
#pragma once

#include <string>
#include <vector>

#include "doctor/check_result.h"
#include "doctor/deployment_checks.h"

namespace cortex::doctor {

struct GatewayAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 4000;
  std::string admin_key;
  std::string api_key;
};

// Asks the gateway's /admin/status. Not running: one `skip` result and running == false.
std::vector<CheckResult> CheckRunningCortex(const GatewayAddress& gateway, RunningCortex& running);

}  // namespace cortex::doctor
