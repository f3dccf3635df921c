// Subprocess: a child process for integration tests, with its stdout and stderr in a file.
//
// The child runs in its own process group; the destructor sends SIGTERM to the group, waits up
// to two seconds, then SIGKILLs it, so a failing test never leaves an engine behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace cortex::testing {

class Subprocess {
 public:
  // Starts argv[0] (a path) with `argv`, output appended to `log_path`.
  static StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // The exit status (or 128 + signal) once the child has exited; nullopt while it runs.
  std::optional<int> Poll();
  // SIGTERM to the group, then SIGKILL after `grace`. Returns the exit status.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t PickFreePort();

// The whole content of a file ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

}  // namespace cortex::testing
