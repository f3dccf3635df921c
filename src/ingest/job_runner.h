// JobRunner: carries Seismic ingest jobs through their stages, one job at a time, on its own
// thread, recording every state change in the JobStore so a restart resumes where it stopped.
//
//   queued → unpacking → packing → (waiting_for_memory) → prefilling → generating → completed
//                                                    any stage → failed | cancelled
//
// unpacking/packing: the stored upload goes through the packer (packer.h) into packed.txt; the
//   tokens are counted with the chosen lane's engine (token_counter.h).
// routing: the job's lane, else ingest.lane, else the deep lane for uploads over
//   ingest.deep_threshold, else the smallest lane whose context holds prompt + max_tokens.
// strategy: one whole prompt when it fits (normally, or in the burst profile's context) and
//   its estimated prefill is within ingest.max_whole_time; else parts by files, each analysed,
//   then a final pass over the partial analyses.
// burst: a whole prompt that only the burst profile holds waits in waiting_for_memory while the
//   runner turns burst on through the supervisor's admin API, and off after the job.
// engine calls go through the gateway (so admission, residency and metrics apply) as streamed
//   chat completions with return_progress, which gives prompt progress from llama-server.
//
// Durability: finished stages are not redone after a restart (packed.txt and its index are
// reused when their sizes match what the job recorded), finished parts of a split job are
// kept, and an interrupted engine call starts again (attempts counts them).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ingest/job_store.h"
#include "ingest/lane_targets.h"

namespace cortex::ingest {

struct RunnerEnv {
  Config config;
  std::string dir;  // ingest.dir, resolved
  std::vector<LaneTarget> lanes;
  std::string gateway_host = "127.0.0.1";
  uint16_t gateway_port = 0;
  std::string api_key;      // for /v1 calls when the gateway has keys
  std::string admin_key;    // for /admin calls
  bool supervised = false;  // a supervisor owns the engines (burst, restarts)
};

class JobRunner {
 public:
  JobRunner(RunnerEnv env, JobStore* store);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Notes a restart on every unfinished job, then starts the thread.
  void Start();
  // Stops the thread. The job in progress keeps its stage in the store and resumes at the next
  // Start; nothing is marked failed for a shutdown.
  void Stop();
  // Stop without waiting for the thread.
  void RequestStop();
  // A job was submitted.
  void Wake();
  // Asks the job to stop: a queued job is cancelled at once, a running one at the runner's next
  // check (within a second, also during a silent prefill). False when there is no such job.
  bool Cancel(const std::string& id);
  // Seconds until the running job finishes (its ETA), 0 when none runs or nothing is known.
  int RunningEtaSeconds() const;
  // Whether the running job holds a burst it asked for.
  bool HoldsBurst() const { return holds_burst_.load(); }

  std::string JobDir(const std::string& id) const;

 private:
  struct Job;
  enum class Step { kNext, kStop, kDone };  // how a stage ended: go on, shutting down, terminal
  struct CallOutcome {
    Step step = Step::kDone;
    std::string text;
    uint64_t prompt_tokens = 0;
    uint64_t completion_tokens = 0;
  };

  void Loop();
  void Retention();
  void Run(const std::string& id);
  Step PackStage(Job& job);
  Step PlanStage(Job& job);
  Step BurstStage(Job& job);
  Step AnalyseStage(Job& job);
  CallOutcome Call(Job& job, const std::string& user_text, uint64_t max_tokens,
                   const std::string& label, uint64_t prompt_estimate);
  void AbandonedSlots(Job& job, const LaneTarget* target);
  std::optional<uint64_t> CountWith(Job& job, const LaneTarget& lane, std::string* why);
  std::string Instructions(const Job& job) const;
  void EndBurst(Job& job);

  bool Save(Job& job, const std::string& event_type, const boost::json::object& data);
  bool SetStatus(Job& job, const std::string& status, const std::string& message = {});
  void Log(Job& job, const std::string& message);
  void Progress(Job& job, boost::json::object progress, bool force = false);
  bool ShouldStop(Job& job);
  void Finish(Job& job, const std::string& status, const std::string& code,
              const std::string& message);
  Step Stopped(Job& job);

  RunnerEnv env_;
  JobStore* store_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::string current_;       // the job Run works on (guarded by mu_)
  std::string burst_engine_;  // runner thread only
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> eta_until_{0};  // Unix seconds the running job should finish
  std::atomic<bool> holds_burst_{false};
};

}  // namespace cortex::ingest
