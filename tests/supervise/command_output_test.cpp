#include "supervise/command_output.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

namespace cortex::supervise {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

StatusOr<std::string> RunCommand(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  asio::io_context io;
  StatusOr<std::string> out = Status::IoError("not run");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out = co_await RunForOutput(io.get_executor(), argv, timeout);
      },
      asio::detached);
  io.run();
  return out;
}

TEST(CommandOutputTest, ReturnsWhatACommandPrintsWhenItExitsZero) {
  auto out = RunCommand({"sh", "-c", "echo 4242; echo more"}, 10s);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "4242\nmore\n");
}

TEST(CommandOutputTest, FailsWithTheCommandsOwnWordsWhenItExitsNonZero) {
  auto out = RunCommand({"sh", "-c", "echo 'no such container: x' >&2; exit 1"}, 10s);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no such container: x"), std::string::npos)
      << out.status().message();
}

TEST(CommandOutputTest, KillsACommandThatOutlivesItsTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto out = RunCommand({"sleep", "30"}, 200ms);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("did not finish"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(CommandOutputTest, FailsForAMissingBinary) {
  EXPECT_FALSE(RunCommand({"/no/such/binary"}, 1s).ok());
}

}  // namespace
}  // namespace cortex::supervise

namespace cortex::supervise {
namespace {

// The second command gets the first one's pidfd number: a stale readiness on it once made
// ChildProcess kill the new command at its start.
TEST(CommandOutputTest, RunsOneCommandAfterAnother) {
  asio::io_context io;
  std::vector<StatusOr<std::string>> outs;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          const std::vector<std::string> argv = {"sh", "-c", "echo " + std::to_string(i)};
          outs.push_back(co_await RunForOutput(io.get_executor(), argv, 10s));
        }
      },
      asio::detached);
  io.run();
  ASSERT_EQ(outs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outs[i].ok()) << i << ": " << outs[i].status().ToString();
    EXPECT_EQ(*outs[i], std::to_string(i) + "\n");
  }
}

}  // namespace
}  // namespace cortex::supervise
