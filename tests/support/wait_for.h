// WaitFor: a bounded wait on a condition, for tests that would otherwise sleep and hope that
// a probe has run, a process has exited or a metric has moved by then.
//
//   ASSERT_TRUE(WaitFor([&] { return Depth() == 1; }, 5s, "the second request to be queued"));
//
// Deadlines should be generous (seconds): a wait that holds returns as soon as it does, so a
// long deadline costs nothing on a fast machine and spares a slow CI machine a false failure.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string_view>
#include <thread>

namespace cortex::testing {

// Calls `done` every `every` until it returns true or `timeout` passes, then once more. A
// success as soon as it holds; otherwise a failure saying what was awaited and for how long,
// for ASSERT_TRUE / EXPECT_TRUE (or `if`). `done` runs on the calling thread; it is called
// until it first returns true and never after, so it may have effects (reap a child, read).
inline ::testing::AssertionResult WaitFor(
    const std::function<bool()>& done, std::chrono::milliseconds timeout, std::string_view what,
    std::chrono::milliseconds every = std::chrono::milliseconds(10)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(every);  // the poll interval: the condition is checked again
  }
  if (done()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "timed out after " << timeout.count() << " ms waiting for " << what;
}

}  // namespace cortex::testing
