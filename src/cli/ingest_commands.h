// The Seismic ingest commands:
//   cortex pack DIR|ARCHIVE [-o FILE] [--json] [--lane LANE]   the packed prompt and its tokens
//   cortex ingest DIR|ARCHIVE [--lane] [--prompt|--prompt-file] [--max-tokens] [--follow]
//   cortex jobs [--json] | jobs show ID | jobs cancel ID | jobs result ID
// `ingest` and `jobs` talk to the running `cortex up` (found as the admin commands find it);
// `pack` works alone and asks a lane's engine for the exact tokens when given --lane.
#pragma once

#include <cstdint>
#include <string>

#include "cli/admin_commands.h"

namespace CLI {
class App;
}

namespace cortex::cli {

struct PackCommandOptions {
  std::string input;
  std::string output;  // default stdout
  bool json = false;
  std::string lane;
  std::string config_path;
};
void AddPackOptions(CLI::App& app, PackCommandOptions& options);
int RunPack(const PackCommandOptions& options);

struct IngestCommandOptions {
  AdminTarget target;
  std::string input;
  std::string lane;
  std::string prompt;
  std::string prompt_file;
  int64_t max_tokens = 0;
  std::string strategy;
  bool follow = false;
  bool no_follow = false;
};
void AddIngestOptions(CLI::App& app, IngestCommandOptions& options);
int RunIngest(const IngestCommandOptions& options);

struct JobsCommandOptions {
  AdminTarget target;
  bool json = false;
  std::string action;  // "", show, cancel, result
  std::string id;
};
// Adds `jobs` with its show / cancel / result subcommands to `app`; returns the jobs command.
CLI::App* AddJobsCommand(CLI::App& app, JobsCommandOptions& options);
int RunJobs(const JobsCommandOptions& options);

}  // namespace cortex::cli
