#include "doctor/doctor.h"

#include "doctor/machine_checks.h"

namespace cortex::doctor {

DoctorReport RunDoctor(const Host& host, const DeploymentInputs& in, const GatewayAddress& gw) {
  DoctorReport report;
  auto add = [&](std::vector<CheckResult> checks) {
    for (CheckResult& c : checks)
      report.checks.push_back(std::move(c));
  };
  // Asked first: whether cortex's engines already hold memory and ports changes those verdicts.
  RunningCortex running;
  std::vector<CheckResult> lanes = CheckRunningCortex(gw, running);

  GpuFacts gpu;
  add(CheckGpu(host, gpu));
  add(CheckDeviceAccess(host, gpu));
  report.checks.push_back(CheckKernel(host, gpu));
  add(CheckFirmware(host, gpu));
  add(CheckGpuSoftware(host, *in.config, gpu));
  report.checks.push_back(CheckGpuPageLimit(host, in.plans.front(), gpu));
  add(CheckMemory(host, in.plans.front(), running.running));
  add(CheckModels(host, in));
  add(CheckEngines(host, in));
  add(CheckPlans(in));
  add(CheckPorts(host, in, running));
  report.checks.push_back(CheckArgosEnv(in));
  add(std::move(lanes));
  return report;
}

}  // namespace cortex::doctor
