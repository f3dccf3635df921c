// The doctor's checks of the machine itself: the AMD GPU and access to it, the kernel, the
// firmware, ROCm and Vulkan, the GPU's page limit and free memory against the plan. Each reads
// through a Host (doctor/host.h), so tests run them on fixture trees; the facts they judge
// against are in doctor/platform_facts.h and docs/DOCTOR.md.
#pragma once

#include <vector>

#include "config/config.h"
#include "deploy/deployment_plan.h"
#include "doctor/check_result.h"
#include "doctor/host.h"

namespace cortex::doctor {

struct GpuFacts {
  bool amdgpu = false;   // a DRM card with amdgpu's memory counters
  bool gfx1151 = false;  // a KFD node with gfx_target_version 110501
  std::string kfd_node;  // the topology node's directory, when found
};

// gpu.device, gpu.target, gpu.kfd_fix. `facts` receives what later checks need.
std::vector<CheckResult> CheckGpu(const Host& host, GpuFacts& facts);
// dev.kfd, dev.render: read-write access for the user the engines run as.
std::vector<CheckResult> CheckDeviceAccess(const Host& host, const GpuFacts& gpu);
// kernel.version: against AMD's floor for gfx1151.
CheckResult CheckKernel(const Host& host, const GpuFacts& gpu);
// firmware.package, firmware.mes.
std::vector<CheckResult> CheckFirmware(const Host& host, const GpuFacts& gpu);
// rocm.version, vulkan.loader: what the configured engines need on the host.
std::vector<CheckResult> CheckGpuSoftware(const Host& host, const Config& config,
                                          const GpuFacts& gpu);
// gpu.page_limit: the TTM limit and GTT size against the plan's gpu_pool.
CheckResult CheckGpuPageLimit(const Host& host, const DeploymentPlan& plan, const GpuFacts& gpu);
// memory.total, memory.available: the machine against the plan's memory and budgets.
// `engines_running`: cortex's engines already hold their memory, so available memory is not
// expected to hold their budgets again.
std::vector<CheckResult> CheckMemory(const Host& host, const DeploymentPlan& plan,
                                     bool engines_running);

// Whether a user (uid, groups) may read and write a file with this owner and mode.
bool MayReadWrite(unsigned mode, unsigned owner_uid, unsigned owner_gid, unsigned uid,
                  const std::vector<unsigned>& gids);

}  // namespace cortex::doctor
