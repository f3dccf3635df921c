// RunDoctor: the seed's deployment checklist, automated (docs/DOCTOR.md). The machine (GPU,
// device access, kernel, firmware, ROCm, Vulkan, page limit, memory), the deployment (models,
// engines and their flags, the plan, ports, `cortex env`) and, when `cortex up` is running,
// every lane with one timed request.
#pragma once

#include "doctor/check_result.h"
#include "doctor/deployment_checks.h"
#include "doctor/host.h"
#include "doctor/live_checks.h"

namespace cortex::doctor {

DoctorReport RunDoctor(const Host& host, const DeploymentInputs& deployment,
                       const GatewayAddress& gateway);

}  // namespace cortex::doctor
