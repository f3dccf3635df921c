#include "ingest/job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace cortex::ingest {
namespace {

using cortex::testing::TempDir;

std::unique_ptr<JobStore> OpenOrDie(const std::string& path) {
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) std::abort();
  return std::move(store).value();
}

JobRecord Job(const std::string& id, int64_t created_at, const std::string& status = "queued") {
  JobRecord job;
  job.id = id;
  job.status = status;
  job.created_at = created_at;
  job.request_json = R"({"prompt":"p"})";
  return job;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs SQL on the database file behind the store's back, as another program (or a fault) would.
void ExecRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

std::vector<std::string> Ids(const std::vector<JobRecord>& jobs) {
  std::vector<std::string> ids;
  for (const JobRecord& job : jobs)
    ids.push_back(job.id);
  return ids;
}

TEST(JobStoreTest, CreatedJobReadsBackWithEveryField) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  JobRecord job = Job("ingest_a", 1000, "generating");
  job.started_at = 1001;
  job.completed_at = 1002;
  job.lane = "big";
  job.state_json = R"({"progress":0.5})";
  job.error_code = "engine_error";
  job.error_message = "it's \"broke\"'); DROP TABLE jobs; --";
  job.result_text = std::string("binary\0ok", 9);
  job.usage_json = R"({"prompt_tokens":3})";
  job.attempts = 2;
  job.cancel_requested = true;
  ASSERT_TRUE(store->CreateJob(job, "{}").ok());

  std::optional<JobRecord> got = store->GetJob("ingest_a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, job.id);
  EXPECT_EQ(got->status, job.status);
  EXPECT_EQ(got->created_at, 1000);
  EXPECT_EQ(got->started_at, 1001);
  EXPECT_EQ(got->completed_at, 1002);
  EXPECT_EQ(got->lane, "big");
  EXPECT_EQ(got->request_json, job.request_json);
  EXPECT_EQ(got->state_json, job.state_json);
  EXPECT_EQ(got->error_code, "engine_error");
  EXPECT_EQ(got->error_message, job.error_message);
  EXPECT_EQ(got->result_text, job.result_text);
  EXPECT_EQ(got->usage_json, job.usage_json);
  EXPECT_EQ(got->attempts, 2);
  EXPECT_TRUE(got->cancel_requested);
  EXPECT_FALSE(store->GetJob("ingest_missing").has_value());
}

TEST(JobStoreTest, CreateRecordsTheFirstStatusEvent) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  int64_t before = Now();
  StatusOr<int64_t> seq = store->CreateJob(Job("ingest_a", 1), R"({"status":"queued"})");
  int64_t after = Now();
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  std::vector<JobEvent> events = store->Events("ingest_a", 0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].seq, *seq);
  EXPECT_EQ(events[0].job_id, "ingest_a");
  EXPECT_EQ(events[0].type, "status");
  EXPECT_EQ(events[0].data_json, R"({"status":"queued"})");
  EXPECT_GE(events[0].created_at, before);
  EXPECT_LE(events[0].created_at, after);
}

TEST(JobStoreTest, CreateRejectsAnExistingIdAndKeepsTheFirst) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  StatusOr<int64_t> again = store->CreateJob(Job("ingest_a", 2, "failed"), "{}");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(again.status().message().find("ingest_a"), std::string::npos);
  EXPECT_EQ(store->GetJob("ingest_a")->status, "queued");
  EXPECT_EQ(store->Events("ingest_a", 0, 10).size(), 1u);
}

TEST(JobStoreTest, ReopenedStoreKeepsJobsEventsAndParts) {
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(store->CreateJob(Job("ingest_a", 5), "{}").ok());
    ASSERT_TRUE(store->AppendEvent("ingest_a", "progress", R"({"p":1})").ok());
    JobPart part{"ingest_a", 0, "completed", "summary", R"({"t":1})"};
    ASSERT_TRUE(store->PutPart(part).ok());
  }
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store->GetJob("ingest_a").has_value());
  EXPECT_EQ(store->GetJob("ingest_a")->created_at, 5);
  std::vector<JobEvent> events = store->Events("ingest_a", 0, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "progress");
  std::vector<JobPart> parts = store->Parts("ingest_a");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].result_text, "summary");
  EXPECT_EQ(parts[0].usage_json, R"({"t":1})");
  // Sequence numbers keep growing across a reopen (SSE ids a client resumes from stay unique).
  StatusOr<int64_t> seq = store->AppendEvent("ingest_a", "log", "{}");
  ASSERT_TRUE(seq.ok());
  EXPECT_GT(*seq, events[1].seq);
}

TEST(JobStoreTest, UpdateJobWritesTheRowAndAppendsItsEvent) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  StatusOr<int64_t> first = store->CreateJob(Job("ingest_a", 1), "{}");
  ASSERT_TRUE(first.ok());
  JobRecord job = *store->GetJob("ingest_a");
  job.status = "completed";
  job.completed_at = 9;
  job.result_text = "done";
  job.attempts = 1;
  StatusOr<int64_t> seq = store->UpdateJob(job, "status", R"({"status":"completed"})");
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_GT(*seq, *first);
  EXPECT_EQ(store->GetJob("ingest_a")->status, "completed");
  EXPECT_EQ(store->GetJob("ingest_a")->result_text, "done");
  EXPECT_EQ(store->GetJob("ingest_a")->attempts, 1);
  std::vector<JobEvent> events = store->Events("ingest_a", 0, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].seq, *seq);
  EXPECT_EQ(events[1].data_json, R"({"status":"completed"})");

  // Without an event type only the row changes.
  job.state_json = R"({"x":1})";
  StatusOr<int64_t> none = store->UpdateJob(job, "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(store->GetJob("ingest_a")->state_json, R"({"x":1})");
  EXPECT_EQ(store->Events("ingest_a", 0, 10).size(), 2u);
}

TEST(JobStoreTest, UpdateJobAndEventAreOneTransaction) {
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  // Make the event insert fail after the row update has run: the update must not survive it.
  ExecRaw(path,
          "CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN "
          "SELECT RAISE(ABORT, 'events refused'); END;");
  JobRecord job = *store->GetJob("ingest_a");
  job.status = "failed";
  StatusOr<int64_t> seq = store->UpdateJob(job, "status", R"({"status":"failed"})");
  ASSERT_FALSE(seq.ok());
  EXPECT_NE(seq.status().message().find("events refused"), std::string::npos)
      << seq.status().ToString();
  EXPECT_EQ(store->GetJob("ingest_a")->status, "queued");
  EXPECT_EQ(store->Events("ingest_a", 0, 10).size(), 1u);

  // The same for a new job: no row without its first event.
  ASSERT_FALSE(store->CreateJob(Job("ingest_b", 2), "{}").ok());
  EXPECT_FALSE(store->GetJob("ingest_b").has_value());

  // The store is still usable once the fault is gone.
  ExecRaw(path, "DROP TRIGGER no_events;");
  ASSERT_TRUE(store->UpdateJob(job, "status", "{}").ok());
  EXPECT_EQ(store->GetJob("ingest_a")->status, "failed");
}

TEST(JobStoreTest, WritesToAMissingJobAreNotFound) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  StatusOr<int64_t> update = store->UpdateJob(Job("ingest_gone", 1), "status", "{}");
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.status().code(), Status::Code::kNotFound);
  StatusOr<int64_t> append = store->AppendEvent("ingest_gone", "log", "{}");
  ASSERT_FALSE(append.ok());
  EXPECT_EQ(append.status().code(), Status::Code::kNotFound);
  Status part = store->PutPart(JobPart{"ingest_gone", 0, "pending", "", ""});
  EXPECT_EQ(part.code(), Status::Code::kNotFound);
  EXPECT_FALSE(store->RequestCancel("ingest_gone"));
  EXPECT_FALSE(store->DeleteJob("ingest_gone"));
  EXPECT_TRUE(store->Events("ingest_gone", 0, 10).empty());
  EXPECT_TRUE(store->Parts("ingest_gone").empty());
}

TEST(JobStoreTest, ListPagesNewestFirstWithAfterCursor) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  // Two pairs created in the same second: insertion order breaks the tie.
  const std::pair<const char*, int64_t> jobs[] = {{"ingest_1", 100},
                                                  {"ingest_2", 100},
                                                  {"ingest_3", 200},
                                                  {"ingest_4", 300},
                                                  {"ingest_5", 300}};
  for (const auto& [id, created] : jobs)
    ASSERT_TRUE(store->CreateJob(Job(id, created), "{}").ok());

  EXPECT_EQ(Ids(store->ListJobs(2, "")), (std::vector<std::string>{"ingest_5", "ingest_4"}));
  EXPECT_EQ(Ids(store->ListJobs(2, "ingest_4")),
            (std::vector<std::string>{"ingest_3", "ingest_2"}));
  EXPECT_EQ(Ids(store->ListJobs(2, "ingest_2")), (std::vector<std::string>{"ingest_1"}));
  EXPECT_TRUE(store->ListJobs(2, "ingest_1").empty());
  EXPECT_EQ(store->ListJobs(100, "").size(), 5u);
  EXPECT_TRUE(store->ListJobs(0, "").empty());
  // A cursor that names no job matches nothing rather than restarting from the newest.
  EXPECT_TRUE(store->ListJobs(10, "ingest_unknown").empty());
}

TEST(JobStoreTest, UnfinishedJobsOldestFirst) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_c", 30, "generating"), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_done", 5, "completed"), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 10, "queued"), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_failed", 15, "failed"), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_b", 20, "waiting_for_memory"), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_cancelled", 25, "cancelled"), "{}").ok());
  EXPECT_EQ(Ids(store->UnfinishedJobs()),
            (std::vector<std::string>{"ingest_a", "ingest_b", "ingest_c"}));
}

TEST(JobStoreTest, EventsAfterSeqForResume) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_b", 1), "{}").ok());
  std::vector<int64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    StatusOr<int64_t> seq = store->AppendEvent("ingest_a", "progress", std::to_string(i));
    ASSERT_TRUE(seq.ok());
    seqs.push_back(*seq);
    // Interleaved events of another job must not show up in ingest_a's stream.
    ASSERT_TRUE(store->AppendEvent("ingest_b", "progress", "other").ok());
  }
  std::vector<JobEvent> rest = store->Events("ingest_a", seqs[1], 100);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].seq, seqs[2]);
  EXPECT_EQ(rest[0].data_json, "2");
  EXPECT_EQ(rest[2].data_json, "4");
  std::vector<JobEvent> limited = store->Events("ingest_a", 0, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].type, "status");
  EXPECT_EQ(limited[1].seq, seqs[0]);
  EXPECT_TRUE(store->Events("ingest_a", seqs[4], 100).empty());
}

TEST(JobStoreTest, RequestCancelSetsTheFlag) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  EXPECT_FALSE(store->GetJob("ingest_a")->cancel_requested);
  EXPECT_TRUE(store->RequestCancel("ingest_a"));
  EXPECT_TRUE(store->GetJob("ingest_a")->cancel_requested);
  EXPECT_TRUE(store->RequestCancel("ingest_a"));
}

// The runner writes its whole row on every progress tick from a copy read before the cancel
// came in; that write must not undo the cancel (it did, and a cancelled job ran on).
TEST(JobStoreTest, UpdateJobFromAnOlderCopyKeepsACancelRequestMadeMeanwhile) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  JobRecord runner_copy = *store->GetJob("ingest_a");
  ASSERT_TRUE(store->RequestCancel("ingest_a"));
  runner_copy.status = "prefilling";
  ASSERT_TRUE(store->UpdateJob(runner_copy, "progress", "{}").ok());
  const auto after = store->GetJob("ingest_a");
  EXPECT_EQ(after->status, "prefilling");
  EXPECT_TRUE(after->cancel_requested);
}

TEST(JobStoreTest, PutPartReplacesTheSameIndex) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  ASSERT_TRUE(store->PutPart(JobPart{"ingest_a", 1, "pending", "", ""}).ok());
  ASSERT_TRUE(store->PutPart(JobPart{"ingest_a", 0, "pending", "", ""}).ok());
  ASSERT_TRUE(store->PutPart(JobPart{"ingest_a", 1, "completed", "second", "{}"}).ok());
  std::vector<JobPart> parts = store->Parts("ingest_a");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].index, 0);
  EXPECT_EQ(parts[0].status, "pending");
  EXPECT_EQ(parts[1].index, 1);
  EXPECT_EQ(parts[1].status, "completed");
  EXPECT_EQ(parts[1].result_text, "second");
  EXPECT_EQ(parts[1].job_id, "ingest_a");
}

TEST(JobStoreTest, DeleteRemovesEventsAndParts) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 1), "{}").ok());
  ASSERT_TRUE(store->CreateJob(Job("ingest_keep", 1), "{}").ok());
  ASSERT_TRUE(store->AppendEvent("ingest_a", "log", "{}").ok());
  ASSERT_TRUE(store->PutPart(JobPart{"ingest_a", 0, "completed", "r", "{}"}).ok());
  ASSERT_TRUE(store->PutPart(JobPart{"ingest_keep", 0, "completed", "r", "{}"}).ok());

  EXPECT_TRUE(store->DeleteJob("ingest_a"));
  EXPECT_FALSE(store->GetJob("ingest_a").has_value());
  EXPECT_TRUE(store->Events("ingest_a", 0, 10).empty());
  EXPECT_TRUE(store->Parts("ingest_a").empty());
  EXPECT_FALSE(store->DeleteJob("ingest_a"));
  // The other job is untouched.
  EXPECT_EQ(store->Events("ingest_keep", 0, 10).size(), 1u);
  EXPECT_EQ(store->Parts("ingest_keep").size(), 1u);
  // A job created again under the id starts with no history.
  ASSERT_TRUE(store->CreateJob(Job("ingest_a", 2), "{}").ok());
  EXPECT_EQ(store->Events("ingest_a", 0, 10).size(), 1u);
  EXPECT_TRUE(store->Parts("ingest_a").empty());
}

TEST(JobStoreTest, FinishedBeforeForRetention) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  auto finished = [&](const std::string& id, const std::string& status, int64_t completed_at) {
    JobRecord job = Job(id, 1, status);
    job.completed_at = completed_at;
    ASSERT_TRUE(store->CreateJob(job, "{}").ok());
  };
  finished("ingest_new", "completed", 500);
  finished("ingest_old_failed", "failed", 200);
  finished("ingest_old_done", "completed", 100);
  finished("ingest_old_cancelled", "cancelled", 300);
  finished("ingest_boundary", "completed", 400);
  // A running job is never retention's business, whatever its times say.
  finished("ingest_running", "generating", 50);
  EXPECT_EQ(
      store->FinishedBefore(400),
      (std::vector<std::string>{"ingest_old_done", "ingest_old_failed", "ingest_old_cancelled"}));
  EXPECT_TRUE(store->FinishedBefore(100).empty());
}

TEST(JobStoreTest, RejectsFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  {
    std::ofstream out(path);
    out << "these are not the pages you are looking for\n";
    for (int i = 0; i < 100; ++i)
      out << "line " << i << "\n";
  }
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(JobStoreTest, RejectsAnotherProgramsDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  ExecRaw(path, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);");
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

TEST(JobStoreTest, RejectsAnUnknownSchemaVersion) {
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  OpenOrDie(path);
  ExecRaw(path, "PRAGMA user_version = 99;");
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_NE(store.status().message().find("99"), std::string::npos) << store.status().ToString();
}

TEST(JobStoreTest, UnopenablePathIsAnIoErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/jobs.db");
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIoError) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

TEST(JobStoreTest, UsesTheWalJournal) {
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  auto store = OpenOrDie(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Appends `count` events per thread; every one must land, with seqs unique and increasing in
// the order Events returns them.
void ExpectNoLostEvents(JobStore* reader, const std::vector<JobStore*>& writers, int count) {
  ASSERT_TRUE(reader->CreateJob(Job("ingest_a", 1), "{}").ok());
  std::vector<std::thread> threads;
  std::vector<int> failures(writers.size(), 0);
  for (size_t t = 0; t < writers.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < count; ++i) {
        StatusOr<int64_t> seq =
            writers[t]->AppendEvent("ingest_a", "log", std::to_string(t) + ":" + std::to_string(i));
        if (!seq.ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  for (int f : failures)
    EXPECT_EQ(f, 0);
  std::vector<JobEvent> events = reader->Events("ingest_a", 0, 1000000);
  ASSERT_EQ(events.size(), 1 + writers.size() * count);
  std::set<std::string> payloads;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].seq, events[i - 1].seq);
    payloads.insert(events[i].data_json);
  }
  EXPECT_EQ(payloads.size(), writers.size() * count);
}

TEST(JobStoreTest, TwoThreadsSharingAStoreLoseNoEvents) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("jobs.db"));
  ExpectNoLostEvents(store.get(), {store.get(), store.get()}, 100);
}

TEST(JobStoreTest, TwoConnectionsWritingAtOnceLoseNoEvents) {
  // Two stores on one file (two processes, in effect): BEGIN IMMEDIATE and busy_timeout make
  // one wait for the other instead of failing with SQLITE_BUSY.
  TempDir dir;
  const std::string path = dir.File("jobs.db");
  auto first = OpenOrDie(path);
  auto second = OpenOrDie(path);
  ExpectNoLostEvents(first.get(), {first.get(), second.get()}, 100);
}

TEST(JobStoreTest, NewJobIdIsIngestAnd24LowercaseHexDigits) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewJobId();
    ASSERT_EQ(id.size(), 7u + 24u) << id;
    EXPECT_EQ(id.substr(0, 7), "ingest_");
    for (char c : id.substr(7))
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(JobStoreTest, TerminalStatusesAreCompletedFailedCancelled) {
  EXPECT_TRUE(IsTerminalStatus("completed"));
  EXPECT_TRUE(IsTerminalStatus("failed"));
  EXPECT_TRUE(IsTerminalStatus("cancelled"));
  for (const char* s : {"queued", "unpacking", "packing", "waiting_for_memory", "prefilling",
                        "generating", "", "Completed"}) {
    EXPECT_FALSE(IsTerminalStatus(s)) << s;
  }
}

}  // namespace
}  // namespace cortex::ingest
