// RunForOutput: a short helper command (`docker compose ps -q`, `docker inspect`) run without a
// shell on the event loop, for its standard output. A ChildProcess like an engine's, so it is
// killed with the supervisor and never blocks the loop.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "util/status.h"

namespace cortex::supervise {

// Runs `argv` and returns what it printed (stdout and stderr, at most 64 KiB) when it exits 0.
// IoError with the command's own last words when it exits otherwise, cannot be run, or is
// still running after `timeout` (then it is killed).
boost::asio::awaitable<StatusOr<std::string>> RunForOutput(boost::asio::any_io_executor ex,
                                                           std::vector<std::string> argv,
                                                           std::chrono::milliseconds timeout);

}  // namespace cortex::supervise
