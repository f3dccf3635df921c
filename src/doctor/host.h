// What the doctor reads the machine through: a root directory (so tests run on fixture trees
// laid out like /proc, /sys, /dev, /etc, /var/lib/dpkg) and a way to run a command (so tests
// give fixed output for `rocm-smi --version` and the like). The real ones are "/" and
// RunCommand.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cortex::doctor {

struct CommandOutput {
  int exit_code = -1;    // -1: killed (timeout) or did not start
  std::string output;    // stdout and stderr together, at most 1 MiB
  bool started = false;  // false: not found or not executable
};

// Runs argv (no shell) with stdin from /dev/null, for at most `timeout_s`.
using CommandRunner =
    std::function<CommandOutput(const std::vector<std::string>& argv, double timeout_s)>;
CommandOutput RunCommand(const std::vector<std::string>& argv, double timeout_s);

struct Host {
  std::string root = "/";
  std::string path_env;  // $PATH for finding binaries; empty: the process's own
  CommandRunner run = RunCommand;
  unsigned uid = 0;            // who runs the engines (access checks)
  std::vector<unsigned> gids;  // their groups, primary first
  // root + "/proc/..." without doubled slashes.
  std::string Path(const std::string& absolute) const;
};

// The host as this process sees it: "/", its PATH, uid and groups.
Host ThisHost();

// The first executable `name` on PATH (or `name` itself when it holds a slash and is
// executable), under the host's root.
std::optional<std::string> FindExecutable(const Host& host, const std::string& name);

}  // namespace cortex::doctor
