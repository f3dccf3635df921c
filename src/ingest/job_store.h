// JobStore: the ingest jobs, their events, parts and results, in one SQLite database.
//
// Durable: WAL journal with synchronous=FULL, so a committed state change survives kill -9 and
// power loss (research/E-ingest-and-ops.md section 4.1, restated in docs/INGEST.md). Every
// state change of a job and the event that records it are written in one transaction
// (UpdateJob), so after a crash the job row and its event log never disagree.
//
// Thread-safe: the gateway's io thread (HTTP reads) and the job runner's thread (writes) share
// one store; every call takes the store's mutex. Calls are short (indexed reads, small writes).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

struct sqlite3;

namespace cortex::ingest {

// One job. Times are Unix seconds (0: not yet). The JSON columns are the runner's and the
// HTTP layer's business; the store keeps them as text.
struct JobRecord {
  std::string id;      // "ingest_" + 24 lowercase hex digits
  std::string status;  // queued, unpacking, packing, waiting_for_memory, prefilling, generating,
                       // completed, failed, cancelled
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t completed_at = 0;
  std::string lane;          // the lane it runs on ("" until routed)
  std::string request_json;  // what the client asked: prompt, max_tokens, strategy, metadata, ...
  std::string state_json;    // the runner's working state: progress, input, burst, estimate, ...
  std::string error_code;    // empty unless failed
  std::string error_message;
  std::string result_text;  // the analysis, when completed
  std::string usage_json;   // token usage of all engine calls, when completed
  int attempts = 0;         // engine calls started (a restart after a crash adds one)
  bool cancel_requested = false;
};

struct JobEvent {
  int64_t seq = 0;  // increasing across the whole store (usable as SSE id)
  std::string job_id;
  int64_t created_at = 0;  // Unix seconds
  std::string type;        // "status", "progress", "log", ...
  std::string data_json;
};

// A part of a split job: its analysis, kept so a restart does not redo finished parts.
struct JobPart {
  std::string job_id;
  int index = 0;
  std::string status;  // "pending", "completed"
  std::string result_text;
  std::string usage_json;
};

class JobStore {
 public:
  // Opens (creating when absent) the database at `path`. Fails with IoError naming the path
  // when it cannot be opened, or Corruption when it is not a database of ours.
  static StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Inserts a new job and its first event ("status" with `event_data`) in one transaction.
  // InvalidArgument when the id exists.
  StatusOr<int64_t> CreateJob(const JobRecord& job, const std::string& event_data);
  std::optional<JobRecord> GetJob(const std::string& id) const;
  // Newest first; `after`: an id, list the jobs created before it (OpenAI's cursor). At most
  // `limit` jobs.
  std::vector<JobRecord> ListJobs(int limit, const std::string& after) const;
  // Jobs not in a terminal state (completed, failed, cancelled), oldest first.
  std::vector<JobRecord> UnfinishedJobs() const;

  // Writes the whole row and, when `event_type` is not empty, appends an event, in one
  // transaction. A cancel request already in the row stays, whatever `job` says: the runner
  // writes from its own copy while the gateway's thread may cancel. Returns the event's seq (0
  // without one). NotFound when the job is gone.
  StatusOr<int64_t> UpdateJob(const JobRecord& job, const std::string& event_type,
                              const std::string& event_data);
  // Appends an event alone (progress ticks). NotFound when the job is gone.
  StatusOr<int64_t> AppendEvent(const std::string& job_id, const std::string& type,
                                const std::string& data_json);
  // Events of a job with seq > after_seq, oldest first, at most `limit`.
  std::vector<JobEvent> Events(const std::string& job_id, int64_t after_seq, int limit) const;
  // Sets cancel_requested (the runner sees it at its next check). False when no such job.
  bool RequestCancel(const std::string& job_id);

  // Parts of a split job.
  Status PutPart(const JobPart& part);
  std::vector<JobPart> Parts(const std::string& job_id) const;

  // Removes the job, its events and parts. False when no such job.
  bool DeleteJob(const std::string& id);
  // Ids of jobs in a terminal state that completed before `before` (Unix seconds), oldest
  // first (for retention).
  std::vector<std::string> FinishedBefore(int64_t before) const;

 private:
  explicit JobStore(sqlite3* db);
  sqlite3* db_;
  mutable std::mutex mu_;
};

// A fresh job id: "ingest_" and 24 random lowercase hex digits.
std::string NewJobId();
bool IsTerminalStatus(const std::string& status);

}  // namespace cortex::ingest
