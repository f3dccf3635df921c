#include "cli/run.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/admin_commands.h"
#include "cli/compose_command.h"
#include "cli/doctor_command.h"
#include "cli/ingest_commands.h"
#include "cli/plan_command.h"
#include "cli/sim_command.h"
#include "cli/top_command.h"
#include "cli/up_command.h"

namespace cortex::cli {

int Run(int argc, char** argv) {
  // The simulator takes the real engines' argv verbatim (llama-server's and vllm serve's own
  // flags, short and long), which CLI11 cannot pass through untouched; it parses its own.
  if (argc >= 2 && std::string_view(argv[1]) == "sim") {
    return RunSim(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"cortex: several LLM engines on one unified-memory machine, as one service"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cortex 0.1.0");

  app.add_subcommand("sim",
                     "The engine simulator (llama-server or vLLM on the wire); see "
                     "`cortex sim --help`");
  UpOptions up_options;
  CLI::App* up = app.add_subcommand(
      "up", "Run the gateway in front of the configured engines until SIGINT or SIGTERM");
  AddUpOptions(*up, up_options);
  EnvOptions env_options;
  CLI::App* env = app.add_subcommand(
      "env", "Print the ARGOS_* variables that point the Cortex backend at the gateway");
  AddEnvOptions(*env, env_options);
  PlanOptions plan_options;
  CLI::App* plan = app.add_subcommand(
      "plan", "Memory map and findings for a deployment; exits 1 when it does not fit");
  AddPlanOptions(*plan, plan_options);
  ComposeCommandOptions compose_options;
  CLI::App* compose = app.add_subcommand(
      "compose", "Write the docker compose file for the configured engines (normal profile)");
  AddComposeOptions(*compose, compose_options);

  TopOptions top_options;
  CLI::App* top = app.add_subcommand(
      "top", "The running cortex up live: engines, memory, lanes, ledger (q quits)");
  AddTopOptions(*top, top_options);
  StatusOptions status_options;
  CLI::App* status = app.add_subcommand(
      "status", "Engines, lanes, the memory ledger and burst state of the running cortex up");
  AddStatusOptions(*status, status_options);
  BurstOptions burst_options;
  CLI::App* burst = app.add_subcommand(
      "burst", "Turn an engine's burst profile on or off in the running cortex up");
  AddBurstOptions(*burst, burst_options);
  LogsOptions logs_options;
  CLI::App* logs =
      app.add_subcommand("logs", "An engine's last output lines, from the running cortex up");
  AddLogsOptions(*logs, logs_options);

  DoctorOptions doctor_options;
  CLI::App* doctor = app.add_subcommand(
      "doctor",
      "Check the machine and the deployment (GPU, kernel, firmware, memory, models, "
      "engines, ports, plan, lanes); exits 1 when a check fails");
  AddDoctorOptions(*doctor, doctor_options);

  PackCommandOptions pack_options;
  CLI::App* pack = app.add_subcommand(
      "pack", "A source tree or archive as one prompt text (like repomix), with its tokens");
  AddPackOptions(*pack, pack_options);
  IngestCommandOptions ingest_options;
  CLI::App* ingest = app.add_subcommand(
      "ingest", "Upload a tree or archive to the running cortex up for a deep analysis");
  AddIngestOptions(*ingest, ingest_options);
  JobsCommandOptions jobs_options;
  CLI::App* jobs = AddJobsCommand(app, jobs_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (plan->parsed()) return RunPlan(plan_options);
  if (up->parsed()) return RunUp(up_options);
  if (env->parsed()) return RunEnv(env_options);
  if (compose->parsed()) return RunCompose(compose_options);
  if (status->parsed()) return RunStatus(status_options);
  if (top->parsed()) return RunTop(top_options);
  if (burst->parsed()) return RunBurst(burst_options);
  if (logs->parsed()) return RunLogs(logs_options);
  if (doctor->parsed()) return RunDoctor(doctor_options);
  if (pack->parsed()) return RunPack(pack_options);
  if (ingest->parsed()) return RunIngest(ingest_options);
  if (jobs->parsed()) return RunJobs(jobs_options);
  return 2;
}

}  // namespace cortex::cli
