// ChildProcess: one engine process, started without a shell, in its own process group, that
// cannot outlive the supervisor.
//
// Why each part:
//  * fork + execvp of an argv vector: no shell, so no quoting bugs and no injection through a
//    model path or a flag value.
//  * setpgid(0, 0) in the child: the engine and whatever it forks (vLLM's workers) form one
//    group, so a stop signals all of them at once (kill(-pgid)).
//  * PR_SET_PDEATHSIG(SIGKILL): when the supervisor dies, even by SIGKILL, the kernel kills the
//    engine. It is tied to the thread that forked, so Spawn must run on a thread that lives as
//    long as the process (cortex up spawns from its main, event-loop thread).
//  * an exec-error pipe (close-on-exec): the parent learns "no such file" from execvp itself
//    instead of seeing an anonymous exit 127.
//  * a pidfd: the exit is an fd readable on the event loop, no SIGCHLD handler and no polling.
//  * stdout and stderr on one pipe read by the event loop into the engine's rotating log.
#pragma once

#include <sys/types.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace cortex::supervise {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH when it has no slash
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) the inherited
};

// How a process ended, as waitpid reports it.
struct ExitInfo {
  bool signaled = false;
  int code = 0;  // exit status, or the signal number when signaled
  std::string Describe() const;
};

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  using OutputHandler = std::function<void(std::string_view bytes)>;
  using ExitHandler = std::function<void(ExitInfo)>;

  // Starts the process. `on_output` gets its stdout+stderr as it arrives and `on_exit` its end,
  // both on `ex`'s event loop. `on_exit` comes after the output the process wrote before it
  // ended (the pipe is drained first, for at most a second if something outside the group still
  // holds it open), so a log's tail explains the exit. Fails (and nothing runs) when the binary
  // cannot be executed.
  static StatusOr<std::shared_ptr<ChildProcess>> Spawn(boost::asio::any_io_executor ex,
                                                       const SpawnSpec& spec,
                                                       OutputHandler on_output,
                                                       ExitHandler on_exit);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // False as soon as the process has been reaped, possibly before `on_exit` runs.
  bool running() const { return !exit_.has_value(); }
  const std::optional<ExitInfo>& exit_info() const { return exit_; }

  // SIGTERM to the whole group, SIGKILL after `grace` if it is still there.
  void Stop(std::chrono::milliseconds grace);
  // SIGKILL to the whole group now.
  void Kill();

 private:
  ChildProcess(boost::asio::any_io_executor ex, pid_t pid, int pidfd, int out_fd);
  void ReadOutput();
  void WaitExit();
  void ReportExitOnce();

  pid_t pid_;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::posix::stream_descriptor out_;
  boost::asio::steady_timer kill_timer_;
  std::array<char, 8192> buffer_{};
  OutputHandler on_output_;
  ExitHandler on_exit_;
  std::optional<ExitInfo> exit_;
  bool output_closed_ = false;
  bool exit_reported_ = false;
};

}  // namespace cortex::supervise
