// ComposeFile: the docker compose file for a deployment's engines, as data and as YAML text.
//
// `cortex compose` writes it (DESIGN.md: ops/docker-compose.strix.yml), and the supervisor
// writes one per `launch: docker` engine and profile and runs it attached
// (`docker compose up SERVICE`), with the engine's name as the service name.
//
// One service per engine that cortex launches: engines given by `url:` run elsewhere and
// `engine: sim` engines are the simulator, which runs as a process; both are left out, with a
// comment saying so. Each service runs the engine's image with `command:` = the argv of
// engine/engine_launch.h minus the program (llama.cpp's server images have llama-server as
// their entrypoint, vLLM's openai images `vllm serve`), so the container allocates exactly what
// the plan says. Inside the container the engine listens on 0.0.0.0; the port is published on
// the engine's host address only (`127.0.0.1:P:P`). The model's directory is mounted read-only
// at the same path, so paths in the command need no rewriting. The GPU is shared as on Strix
// Halo: /dev/kfd and /dev/dri, the video and render groups, seccomp unconfined (AMD's ROCm
// docker guidance), `ipc: host` for vLLM (PyTorch shared memory). No memory limits: cgroups do
// not bound GPU (GTT) allocations on the APU, so the budget is enforced by the plan's flags.
//
// Every scalar is written double-quoted with YAML escapes, and `$` doubled, because compose
// interpolates `$VAR` in values; no value from the config can change the file's structure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "deploy/deployment_plan.h"

namespace cortex {

struct ComposeService {
  std::string name;                   // the engine's name
  std::vector<std::string> comments;  // lines written above the service
  std::string image;
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> devices;
  std::vector<std::string> group_add;
  std::vector<std::string> ports;
  std::vector<std::string> volumes;
  std::vector<std::string> security_opt;
  std::string ipc;  // empty: not set
  std::string restart = "unless-stopped";
};

struct ComposeFile {
  std::vector<std::string> comments;  // lines at the top of the file
  std::vector<ComposeService> services;
  // Engines that should have had a service but could not be launched ("name: why"), e.g. one
  // the planner could not plan. Also written as comments.
  std::vector<std::string> left_out;
};

struct ComposeOptions {
  // What `group_add` lists. Named groups resolve inside the container, where "render" may not
  // exist, so the caller passes the host's numeric ids when it knows them.
  std::vector<std::string> group_add = {"video", "render"};
  // Relative model paths are made absolute against this (the config file's directory).
  std::string base_dir;
};

// The compose file for `config` as planned in `plan` (normally the "normal" profile).
ComposeFile BuildComposeFile(const Config& config, const DeploymentPlan& plan,
                             const ComposeOptions& options);

// The YAML text of `file`.
std::string RenderComposeFile(const ComposeFile& file);

// The host's numeric id of each group, or its name when the host has no such group: docker
// resolves a name inside the container, where "render" often does not exist, and the GPU device
// nodes belong to the host's groups.
std::vector<std::string> HostGroupIds(const std::vector<std::string>& names);

// `text` as a YAML double-quoted scalar, with `$` written `$$` for compose.
std::string QuoteComposeScalar(std::string_view text);

}  // namespace cortex
