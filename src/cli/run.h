// The `cortex` command line: parses argv, dispatches to a subcommand, returns the exit code.
//
// Exit codes shared by all subcommands: 0 success; 1 the command ran and the answer is "no"
// (a plan that does not fit); 2 bad usage or a config that does not load; 3 an operational
// failure (a file that cannot be written, an engine that does not start).
#pragma once

namespace cortex::cli {

int Run(int argc, char** argv);

}  // namespace cortex::cli
