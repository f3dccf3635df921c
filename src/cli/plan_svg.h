// RenderPlanSvg: the memory map as stacked bars, one bar per profile, side by side.
//
// Each bar is the machine's physical memory from the bottom up: reserves, then every resident
// engine split into weights / KV / compute / overhead with its unused budget hatched, then free
// memory. An engine that needs more than its budget is drawn at the size it needs, outlined in
// red, so an overcommitted plan visibly rises above the line that marks physical memory.
#pragma once

#include <string>
#include <vector>

#include "deploy/deployment_plan.h"

namespace cortex::cli {

std::string RenderPlanSvg(const std::vector<DeploymentPlan>& plans, const std::string& title);

}  // namespace cortex::cli
