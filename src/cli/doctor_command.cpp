#include "cli/doctor_command.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/config_path.h"
#include "cli/demo_config.h"
#include "config/config_loader.h"
#include "deploy/deployment_plan.h"
#include "deploy/engine_models.h"
#include "doctor/doctor.h"
#include "supervise/supervisor.h"

extern char** environ;

namespace cortex::cli {

void AddDoctorOptions(CLI::App& app, DoctorOptions& options) {
  AddTarget(app, options.target);
  app.add_flag("--json", options.json, "print the checks as JSON");
}

int RunDoctor(const DoctorOptions& options) {
  const std::string path = ConfigPathOrDemo(options.target.config_path);
  StatusOr<Config> config = Status::NotFound("no config");
  if (path.empty()) {
    config =
        LoadDemoConfig(std::filesystem::path(supervise::DefaultLogDir()).parent_path().string());
  } else {
    config = LoadConfig(path);
  }
  if (!config.ok()) {
    std::fprintf(stderr, "cortex doctor: %s\n", config.status().message().c_str());
    return 2;
  }
  auto gateway = ResolveGateway(options.target);
  if (!gateway.ok()) {
    std::fprintf(stderr, "cortex doctor: %s\n", gateway.status().message().c_str());
    return 2;
  }

  doctor::DeploymentInputs in;
  in.config = &*config;
  std::error_code ec;
  in.config_dir =
      std::filesystem::absolute(std::filesystem::path(config->path), ec).parent_path().string();
  in.self_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const auto models = ResolveEngineModels(*config);
  for (const std::string& profile : ProfileNames(*config))
    in.plans.push_back(PlanDeployment(*config, profile, models));
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (kv.rfind("ARGOS_", 0) == 0 && eq != std::string_view::npos)
      in.environ.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  doctor::GatewayAddress gw;
  gw.host = gateway->host;
  gw.port = gateway->port;
  gw.admin_key = gateway->admin_key;
  gw.api_key = gateway->api_key;

  const doctor::DoctorReport report = doctor::RunDoctor(doctor::ThisHost(), in, gw);
  if (options.json) {
    std::cout << boost::json::serialize(doctor::ReportToJson(report)) << "\n";
  } else {
    std::cout << "cortex doctor: " << config->path << "\n" << doctor::RenderReportText(report);
  }
  return report.failed() ? 1 : 0;
}

}  // namespace cortex::cli
