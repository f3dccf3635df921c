#include "supervise/command_output.h"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "supervise/child_process.h"

namespace cortex::supervise {

namespace asio = boost::asio;

boost::asio::awaitable<StatusOr<std::string>> RunForOutput(asio::any_io_executor ex,
                                                           std::vector<std::string> argv,
                                                           std::chrono::milliseconds timeout) {
  struct Run {
    explicit Run(asio::any_io_executor e) : done(e) {}
    std::string output;
    std::optional<ExitInfo> exit;
    asio::steady_timer done;
  };
  auto run = std::make_shared<Run>(ex);
  run->done.expires_after(timeout);
  SpawnSpec spec;
  spec.argv = argv;
  auto child = ChildProcess::Spawn(
      ex, spec,
      [run](std::string_view bytes) {
        if (run->output.size() < (64u << 10)) run->output.append(bytes);
      },
      [run](ExitInfo info) {
        run->exit = info;
        run->done.cancel();
      });
  if (!child.ok()) co_return child.status();
  co_await run->done.async_wait(asio::as_tuple(asio::use_awaitable));
  const std::string command = argv.empty() ? std::string() : argv.front();
  if (!run->exit) {
    (*child)->Kill();
    co_return Status::IoError(
        fmt::format("{} did not finish within {} ms", command, timeout.count()));
  }
  if (run->exit->signaled || run->exit->code != 0) {
    std::string said = run->output.substr(0, 300);
    while (!said.empty() && (said.back() == '\n' || said.back() == ' '))
      said.pop_back();
    co_return Status::IoError(fmt::format("{} {}: {}", command, run->exit->Describe(), said));
  }
  co_return std::move(run->output);
}

}  // namespace cortex::supervise
