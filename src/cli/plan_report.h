// Renderings of a DeploymentPlan: the memory-map table people read at a terminal, and the
// stable JSON of `cortex plan --json` (field names are a contract; bytes are integers).
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "deploy/deployment_plan.h"

namespace cortex::cli {

// The table: machine line, memory map (reserves, each engine split into weights / KV / compute
// / overhead, free), engines, lanes, findings.
std::string RenderPlanText(const DeploymentPlan& plan, const std::string& config_path);

boost::json::value PlanToJson(const DeploymentPlan& plan);

}  // namespace cortex::cli
