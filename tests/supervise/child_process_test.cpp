#include "supervise/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cortex::supervise {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// True once `pid` no longer runs: it does not exist, or it is a zombie nobody has reaped yet
// (an orphaned grandchild whose reaper is a container's init that does not reap).
bool Gone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

bool WaitUntilGone(pid_t pid, std::chrono::milliseconds limit = 5s) {
  const auto deadline = Clock::now() + limit;
  while (!Gone(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Whether this process has a child that exited and was never reaped.
bool HasZombieChild() {
  siginfo_t info{};
  if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;  // ECHILD
  return info.si_pid != 0;
}

class ChildProcessTest : public ::testing::Test {
 protected:
  StatusOr<std::shared_ptr<ChildProcess>> Spawn(
      std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env = {}) {
    SpawnSpec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
    return ChildProcess::Spawn(
        io_.get_executor(), spec, [this](std::string_view bytes) { output_.append(bytes); },
        [this](ExitInfo info) {
          exit_ = info;
          output_at_exit_ = output_;
        });
  }

  // Runs the event loop until `done()` or the deadline; returns done().
  template <typename Pred>
  bool RunUntil(Pred done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      const auto now = Clock::now();
      if (now >= deadline || io_.stopped()) return done();
      io_.run_one_for(deadline - now);
    }
    return true;
  }

  bool RunUntilExit(std::chrono::milliseconds limit = 5s) {
    return RunUntil([&] { return exit_.has_value(); }, limit);
  }
  bool RunUntilOutputHas(std::string_view text) {
    return RunUntil([&] { return output_.find(text) != std::string::npos; });
  }

  asio::io_context io_;
  std::string output_;
  std::string output_at_exit_;
  std::optional<ExitInfo> exit_;
};

TEST_F(ChildProcessTest, CapturesStdoutAndStderrAndReportsTheExitStatus) {
  auto child = Spawn({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  EXPECT_NE(output_.find("to-stdout\n"), std::string::npos) << output_;
  EXPECT_NE(output_.find("to-stderr\n"), std::string::npos) << output_;
  EXPECT_FALSE(exit_->signaled);
  EXPECT_EQ(exit_->code, 3);
  EXPECT_EQ(exit_->Describe(), "exited with status 3");
  EXPECT_FALSE((*child)->running());
  ASSERT_TRUE((*child)->exit_info().has_value());
  EXPECT_EQ((*child)->exit_info()->code, 3);
}

TEST_F(ChildProcessTest, DeliversEverythingPrintedBeforeTheExitAheadOfOnExit) {
  auto child = Spawn(
      {"/bin/sh", "-c", "head -c 60000 /dev/zero | tr '\\0' x; echo; echo last words; exit 1"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  // Let it end before the loop runs, so the exit and most of the output are pending together.
  const auto deadline = Clock::now() + 2s;
  siginfo_t info{};
  while (waitid(P_PID, (*child)->pid(), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(RunUntilExit());
  EXPECT_EQ(output_at_exit_.size(), 60000u + 1 + 11);
  EXPECT_TRUE(output_at_exit_.ends_with("\nlast words\n"));
  EXPECT_EQ(exit_->code, 1);
}

TEST_F(ChildProcessTest, ReportsTheSignalThatKilledIt) {
  auto child = Spawn({"/bin/sh", "-c", "kill -USR1 $$"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  EXPECT_TRUE(exit_->signaled);
  EXPECT_EQ(exit_->code, SIGUSR1);
  EXPECT_EQ(exit_->Describe().rfind("killed by signal " + std::to_string(SIGUSR1) + " (", 0), 0u)
      << exit_->Describe();
}

TEST_F(ChildProcessTest, KillEndsItWithSigkill) {
  auto child = Spawn({"sleep", "100"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  (*child)->Kill();
  ASSERT_TRUE(RunUntilExit());
  EXPECT_TRUE(exit_->signaled);
  EXPECT_EQ(exit_->code, SIGKILL);
}

TEST_F(ChildProcessTest, AMissingBinaryFailsWithNotFoundAndLeavesNoZombie) {
  for (const char* binary : {"/nonexistent/cortex-engine", "cortex-no-such-engine-on-path"}) {
    auto child = Spawn({binary, "--flag"});
    ASSERT_FALSE(child.ok()) << binary;
    EXPECT_EQ(child.status().code(), Status::Code::kNotFound);
    EXPECT_NE(child.status().message().find("cannot execute"), std::string::npos)
        << child.status().message();
    EXPECT_NE(child.status().message().find(binary), std::string::npos) << child.status().message();
    EXPECT_FALSE(HasZombieChild());
  }
}

TEST_F(ChildProcessTest, AnEmptyArgvIsRejected) {
  auto child = Spawn({});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(ChildProcessTest, EnvironmentAdditionsAndReplacementsReachTheChild) {
  ASSERT_EQ(setenv("CORTEX_CHILD_TEST_REPLACED", "old", 1), 0);
  ASSERT_EQ(setenv("CORTEX_CHILD_TEST_KEPT", "kept", 1), 0);
  auto child = Spawn(
      {"env"}, {{"CORTEX_CHILD_TEST_ADDED", "added value"}, {"CORTEX_CHILD_TEST_REPLACED", "new"}});
  unsetenv("CORTEX_CHILD_TEST_REPLACED");
  unsetenv("CORTEX_CHILD_TEST_KEPT");
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  EXPECT_EQ(exit_->code, 0);
  const std::string env = "\n" + output_;
  EXPECT_NE(env.find("\nCORTEX_CHILD_TEST_ADDED=added value\n"), std::string::npos) << output_;
  EXPECT_NE(env.find("\nCORTEX_CHILD_TEST_REPLACED=new\n"), std::string::npos) << output_;
  EXPECT_EQ(env.find("CORTEX_CHILD_TEST_REPLACED=old"), std::string::npos) << output_;
  EXPECT_NE(env.find("\nCORTEX_CHILD_TEST_KEPT=kept\n"), std::string::npos) << output_;
}

// Asio opens sockets without O_CLOEXEC; an engine must not inherit the gateway's listening
// socket or its clients' connections.
TEST_F(ChildProcessTest, InheritsNoDescriptorBeyondStdio) {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // no SOCK_CLOEXEC, as Asio opens them
  ASSERT_GE(sock, 0);
  // Far above the descriptors ls opens itself, so its listing cannot be mistaken for it.
  const int leaky = ::fcntl(sock, F_DUPFD, 100);
  ::close(sock);
  ASSERT_GE(leaky, 100);
  auto child = Spawn({"/bin/sh", "-c", "ls /proc/self/fd"});
  ::close(leaky);
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  // ls itself opens one descriptor for the directory it lists; the socket must not be there.
  const std::string fds = "\n" + output_;
  EXPECT_EQ(fds.find("\n" + std::to_string(leaky) + "\n"), std::string::npos) << output_;
}

TEST_F(ChildProcessTest, StdinIsEmpty) {
  auto child = Spawn({"/bin/sh", "-c", "cat; echo stdin-closed"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  EXPECT_EQ(output_, "stdin-closed\n");
}

TEST_F(ChildProcessTest, TheChildLeadsItsOwnProcessGroup) {
  auto child = Spawn({"sleep", "100"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  const pid_t pid = (*child)->pid();
  EXPECT_EQ(getpgid(pid), pid);
  EXPECT_NE(getpgid(pid), getpgrp());
  EXPECT_TRUE((*child)->running());
}

TEST_F(ChildProcessTest, StopTerminatesTheWholeProcessGroup) {
  auto child = Spawn({"/bin/sh", "-c", "sleep 100 & echo grandchild $!; wait"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilOutputHas("\n"));
  const pid_t grandchild = std::stoi(output_.substr(output_.find(' ') + 1));
  ASSERT_GT(grandchild, 0);
  ASSERT_EQ(getpgid(grandchild), (*child)->pid());

  const auto start = Clock::now();
  (*child)->Stop(10s);
  ASSERT_TRUE(RunUntilExit());
  EXPECT_LT(Clock::now() - start, 5s) << "SIGTERM, not the SIGKILL after the grace, ended it";
  EXPECT_TRUE(exit_->signaled);
  EXPECT_EQ(exit_->code, SIGTERM);
  EXPECT_TRUE(Gone((*child)->pid()));
  EXPECT_TRUE(WaitUntilGone(grandchild));
}

TEST_F(ChildProcessTest, StopKillsAGroupThatIgnoresSigtermAfterTheGrace) {
  auto child = Spawn({"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 100"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilOutputHas("ready\n"));
  const auto start = Clock::now();
  (*child)->Stop(150ms);
  ASSERT_TRUE(RunUntilExit());
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_TRUE(exit_->signaled);
  EXPECT_EQ(exit_->code, SIGKILL);
  EXPECT_TRUE(Gone((*child)->pid()));
}

TEST_F(ChildProcessTest, StopAfterTheExitDoesNothing) {
  auto child = Spawn({"true"});
  ASSERT_TRUE(child.ok()) << child.status().message();
  ASSERT_TRUE(RunUntilExit());
  (*child)->Stop(1ms);
  (*child)->Kill();
  EXPECT_EQ(exit_->code, 0);
  EXPECT_FALSE(exit_->signaled);
}

TEST(ChildProcessLifetimeTest, DestroyingItKillsARunningChild) {
  pid_t pid = 0;
  pid_t grandchild = 0;
  {
    std::string output;
    asio::io_context io;
    SpawnSpec spec;
    spec.argv = {"/bin/sh", "-c", "sleep 100 & echo $!; wait"};
    auto child = ChildProcess::Spawn(
        io.get_executor(), spec, [&](std::string_view bytes) { output.append(bytes); }, nullptr);
    ASSERT_TRUE(child.ok()) << child.status().message();
    pid = (*child)->pid();
    const auto deadline = Clock::now() + 5s;
    while (output.find('\n') == std::string::npos && Clock::now() < deadline)
      io.run_one_for(deadline - Clock::now());
    ASSERT_NE(output.find('\n'), std::string::npos);
    grandchild = std::stoi(output);
    // The pending reads hold the last reference; tearing the loop down destroys the child.
  }
  const int rc = kill(pid, 0);
  const int err = errno;
  EXPECT_EQ(rc, -1) << "the destructor should have killed and reaped it";
  EXPECT_EQ(err, ESRCH);
  EXPECT_TRUE(WaitUntilGone(grandchild));
}

// The engine must not outlive a supervisor that dies abruptly. The supervisor is played by a
// forked process that spawns on its main thread (PR_SET_PDEATHSIG follows the forking thread)
// and then exits or is SIGKILLed; this test process becomes the engine's reaper so that it can
// see how the engine ended.
void ExpectEngineDiesWithItsSupervisor(bool sigkill_supervisor) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  struct Restore {
    ~Restore() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } restore;

  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    close(fds[0]);
    asio::io_context io;
    SpawnSpec spec;
    spec.argv = {"sleep", "100"};
    auto child = ChildProcess::Spawn(io.get_executor(), spec, nullptr, nullptr);
    const pid_t engine = child.ok() ? (*child)->pid() : -1;
    io.poll();
    if (write(fds[1], &engine, sizeof engine) != static_cast<ssize_t>(sizeof engine)) _exit(2);
    if (!sigkill_supervisor) _exit(0);  // no destructor runs
    for (;;)
      pause();
  }
  close(fds[1]);
  pid_t engine = -1;
  const ssize_t n = read(fds[0], &engine, sizeof engine);
  close(fds[0]);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof engine));
  ASSERT_GT(engine, 0);
  ASSERT_EQ(kill(engine, 0), 0) << "the engine runs while its supervisor does";

  if (sigkill_supervisor) {
    ASSERT_EQ(kill(supervisor, SIGKILL), 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(supervisor, &status, 0), supervisor);

  const auto deadline = Clock::now() + 5s;
  pid_t reaped = 0;
  while ((reaped = waitpid(engine, &status, WNOHANG)) == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  if (reaped == 0) kill(engine, SIGKILL);
  ASSERT_EQ(reaped, engine) << "the engine outlived its supervisor";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(ChildProcessLifetimeTest, TheEngineDiesWhenItsSupervisorExits) {
  ExpectEngineDiesWithItsSupervisor(false);
}

TEST(ChildProcessLifetimeTest, TheEngineDiesWhenItsSupervisorIsSigkilled) {
  ExpectEngineDiesWithItsSupervisor(true);
}

}  // namespace
}  // namespace cortex::supervise
