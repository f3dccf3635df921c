#include "supervise/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

extern char** environ;

namespace cortex::supervise {
namespace {

namespace asio = boost::asio;

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// The environment as "K=V" strings: inherited, then `extra` replacing same-named entries.
std::vector<std::string> BuildEnv(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, size_t> index;
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    index[key] = out.size();
    out.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) {
    std::string entry = k + "=" + v;
    if (auto it = index.find(k); it != index.end()) {
      out[it->second] = std::move(entry);
    } else {
      index[k] = out.size();
      out.push_back(std::move(entry));
    }
  }
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// execvp with an explicit environment: execvpe is a GNU extension, which glibc has.
[[noreturn]] void ExecChild(const SpawnSpec& spec, char** argv, char** envp, int out_fd,
                            int err_pipe, pid_t parent) {
  // Async-signal-safe calls only from here on: the parent may have other threads.
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);  // dup2 clears it on fd 0
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  // Signals the supervisor blocks or ignores must not stay that way in the engine.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  // Asio opens sockets without O_CLOEXEC: without this the engine would inherit the gateway's
  // listening socket and every open client connection. (Linux 5.11+; harmless where absent.)
  syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
  execvpe(spec.argv[0].c_str(), argv, envp);
  const int err = errno;
  [[maybe_unused]] auto n = write(err_pipe, &err, sizeof err);
  _exit(127);
}

}  // namespace

std::string ExitInfo::Describe() const {
  if (signaled) return fmt::format("killed by signal {} ({})", code, strsignal(code));
  return fmt::format("exited with status {}", code);
}

StatusOr<std::shared_ptr<ChildProcess>> ChildProcess::Spawn(asio::any_io_executor ex,
                                                            const SpawnSpec& spec,
                                                            OutputHandler on_output,
                                                            ExitHandler on_exit) {
  if (spec.argv.empty()) return Status::InvalidArgument("empty argv");
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = BuildEnv(spec.env);
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);

  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::IoError(fmt::format("pipe: {}", strerror(errno)));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return Status::IoError(fmt::format("pipe: {}", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]})
      close(fd);
    return Status::IoError(fmt::format("fork: {}", strerror(e)));
  }
  if (pid == 0) ExecChild(spec, argv.data(), envp.data(), out[1], err[1], parent);

  // Also from the parent, so a signal sent before the child ran setpgid reaches the group.
  setpgid(pid, pid);
  close(out[1]);
  close(err[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(err[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(err[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    close(out[0]);
    return Status::NotFound(
        fmt::format("cannot execute {}: {}", spec.argv[0], strerror(exec_errno)));
  }
  const int pidfd = PidfdOpen(pid);
  if (pidfd < 0) {
    const int e = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(out[0]);
    return Status::IoError(fmt::format("pidfd_open: {}", strerror(e)));
  }
  std::shared_ptr<ChildProcess> child(new ChildProcess(ex, pid, pidfd, out[0]));
  child->on_output_ = std::move(on_output);
  child->on_exit_ = std::move(on_exit);
  child->ReadOutput();
  child->WaitExit();
  return child;
}

ChildProcess::ChildProcess(asio::any_io_executor ex, pid_t pid, int pidfd, int out_fd)
    : pid_(pid), pidfd_(ex, pidfd), out_(ex, out_fd), kill_timer_(ex) {}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::ReadOutput() {
  out_.async_read_some(asio::buffer(buffer_),
                       [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                         if (n > 0 && self->on_output_)
                           self->on_output_(std::string_view(self->buffer_.data(), n));
                         if (!ec) {
                           self->ReadOutput();
                           return;
                         }
                         self->output_closed_ = true;
                         self->ReportExitOnce();
                       });
}

void ChildProcess::WaitExit() {
  pidfd_.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        // A readable pidfd is not proof of an exit: when a pidfd number is reused
        // (one child's closed, the next one's opened) the reactor can hand the new
        // descriptor the old one's readiness. Look without reaping first; killing
        // the group on a stale wake-up killed a command that had just started.
        siginfo_t peek{};
        if (waitid(P_PID, static_cast<id_t>(self->pid_), &peek, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            peek.si_pid == 0) {
          self->WaitExit();
          return;
        }
        // Whatever the engine forked goes with it. Signalled before the reap, while
        // the zombie leader still holds the pid and so the group id.
        kill(-self->pid_, SIGKILL);
        int status = 0;
        pid_t r;
        do {
          r = waitpid(self->pid_, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {  // spurious: not reaped yet
          self->WaitExit();
          return;
        }
        ExitInfo info;
        if (r > 0 && WIFSIGNALED(status)) {
          info.signaled = true;
          info.code = WTERMSIG(status);
        } else if (r > 0) {
          info.code = WEXITSTATUS(status);
        }
        self->exit_ = info;
        if (self->output_closed_) {
          self->ReportExitOnce();
          return;
        }
        // The output pipe closes once the group is gone; give up on it after a
        // second in case something outside the group still holds it (this also
        // cancels a pending Stop escalation).
        self->kill_timer_.expires_after(std::chrono::seconds(1));
        self->kill_timer_.async_wait([self](const boost::system::error_code& e) {
          if (e || self->output_closed_) return;
          boost::system::error_code ignored;
          self->out_.close(ignored);  // the read ends, which reports the exit
        });
      });
}

void ChildProcess::ReportExitOnce() {
  if (!exit_ || !output_closed_ || exit_reported_) return;
  exit_reported_ = true;
  kill_timer_.cancel();
  if (on_exit_) on_exit_(*exit_);
}

void ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  kill(-pid_, SIGTERM);
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->running()) kill(-self->pid_, SIGKILL);
  });
}

void ChildProcess::Kill() {
  if (running()) kill(-pid_, SIGKILL);
}

}  // namespace cortex::supervise
