// The doctor's checks of the deployment the config describes: model files, engine binaries and
// the flags cortex will give them, the ports, the plan, and the Argos variables of `cortex env`.
// Ports and the lanes of a running `cortex up` are judged against what its admin status says
// (doctor/live_checks.h), so cortex's own engines holding their ports is not a failure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "deploy/deployment_plan.h"
#include "doctor/check_result.h"
#include "doctor/host.h"

namespace cortex::doctor {

struct DeploymentInputs {
  const Config* config = nullptr;
  std::string config_dir;                      // relative model paths start here
  std::string self_exe;                        // the cortex binary, for `engine: sim`
  std::vector<DeploymentPlan> plans;           // one per profile, "normal" first
  std::map<std::string, std::string> environ;  // ARGOS_* variables of the doctor's environment
};

// model.<engine>: present, readable, a valid GGUF (llama.cpp, sim) or safetensors checkpoint
// (vLLM) whose tensors end where the file does.
std::vector<CheckResult> CheckModels(const Host& host, const DeploymentInputs& in);
// engine.<engine>.binary, engine.<engine>.flags (every planned flag in the binary's --help),
// engine.<engine>.memory_flags (llama.cpp: `--fit off` and an explicit context, so the engine
// cannot shrink itself silently; vLLM: max-model-len and the KV pool). docker.compose when an
// engine has `launch: docker`.
std::vector<CheckResult> CheckEngines(const Host& host, const DeploymentInputs& in);
// plan.<profile>: the plan fits, else its error findings.
std::vector<CheckResult> CheckPlans(const DeploymentInputs& in);
// env.argos: ARGOS_* variables set in this environment agree with `cortex env`.
CheckResult CheckArgosEnv(const DeploymentInputs& in);

// A process listening on a TCP port, from /proc/net/tcp{,6} and /proc/PID/fd.
struct PortHolder {
  int pid = 0;  // 0: the socket's owner is not visible (another user's process)
  std::string command;
};
std::optional<PortHolder> FindPortHolder(const Host& host, uint16_t port);
// The LISTEN sockets' inodes by local port in a /proc/net/tcp file.
std::map<uint16_t, std::vector<uint64_t>> ParseListeningSockets(std::string_view proc_net_tcp);

// What a running cortex up says it holds: its gateway port and its engines' ports and pids.
struct RunningCortex {
  bool running = false;
  std::map<std::string, int> engine_pids;  // engine name -> pid, when running
};
// ports.<name>: the gateway's and every launched engine's port is free, or held by this
// deployment's running cortex up.
std::vector<CheckResult> CheckPorts(const Host& host, const DeploymentInputs& in,
                                    const RunningCortex& running);

// The long options (--name) a --help text lists.
std::vector<std::string> HelpLongOptions(std::string_view help);

}  // namespace cortex::doctor
