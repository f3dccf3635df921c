// Runs the built `cortex` binary as a user would, with its output captured: for the tests of
// its subcommands.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `cortex ARGS` through the shell (ARGS may redirect or quote like a command line).
inline Result Cortex(const std::string& args) {
  testing::TempDir dir;
  const std::string cmd =
      std::string(CORTEX_BINARY) + " " + args + " >" + dir.File("out") + " 2>" + dir.File("err");
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::ReadWholeFile(dir.File("out"));
  r.err = testing::ReadWholeFile(dir.File("err"));
  return r;
}

}  // namespace cortex
