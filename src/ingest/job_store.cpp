#include "ingest/job_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string_view>
#include <utility>

namespace cortex::ingest {
namespace {

// The schema this code writes. A database with another user_version is someone else's (or a
// future version's): Open refuses it rather than guess at its columns.
constexpr int kSchemaVersion = 1;

// Foreign keys make an event or part of a missing job impossible even if a caller skips the
// existence check; children are deleted explicitly before their job (no cascade), so a stray
// delete of a job row alone fails loudly instead of silently taking its history with it.
constexpr const char* kSchema = R"sql(
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0,
  completed_at INTEGER NOT NULL DEFAULT 0,
  lane TEXT NOT NULL DEFAULT '',
  request_json TEXT NOT NULL DEFAULT '',
  state_json TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  result_text TEXT NOT NULL DEFAULT '',
  usage_json TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_created ON jobs(created_at);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  created_at INTEGER NOT NULL,
  type TEXT NOT NULL,
  data_json TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_job ON events(job_id, seq);
CREATE TABLE parts (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  idx INTEGER NOT NULL,
  status TEXT NOT NULL,
  result_text TEXT NOT NULL DEFAULT '',
  usage_json TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, idx)
);
)sql";

// The job columns in the order ReadJob expects them.
constexpr const char* kJobColumns =
    "id, status, created_at, started_at, completed_at, lane, request_json, state_json, "
    "error_code, error_message, result_text, usage_json, attempts, cancel_requested";

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SQLITE_NOTADB and SQLITE_CORRUPT say the file's bytes are wrong; everything else (full disk,
// permissions, locks held past busy_timeout) is the operating system's refusal.
Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  // errmsg has the detail ("events refused" from a trigger); errstr names the code. They are
  // often the same words, said once then.
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : "";
  std::string code = sqlite3_errstr(rc);
  std::string message = std::string(what) + ": " + (detail.empty() ? code : detail);
  if (!detail.empty() && detail != code) message += " (" + code + ")";
  int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    return Status::Corruption(std::move(message));
  }
  return Status::IoError(std::move(message));
}

// One prepared statement, finalized on destruction. Binding indexes are 1-based, as in SQLite.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // The preparation's result; a statement that failed to prepare steps to the same error.
  Status status(std::string_view what) const {
    return rc_ == SQLITE_OK ? Status::Ok() : SqliteError(db_, rc_, what);
  }

  void Bind(int index, std::string_view text) {
    if (rc_ != SQLITE_OK) return;
    // SQLITE_TRANSIENT: SQLite copies the bytes, so a temporary argument is safe.
    rc_ = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) {
    if (rc_ != SQLITE_OK) return;
    rc_ = sqlite3_bind_int64(stmt_, index, value);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() {
    if (rc_ != SQLITE_OK) return rc_;
    return sqlite3_step(stmt_);
  }

  // Runs a statement that returns no rows.
  Status Run(std::string_view what) {
    int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
    return SqliteError(db_, rc, what);
  }

  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqliteError(db, rc, what);
}

// BEGIN IMMEDIATE takes the write lock up front, so two connections never both read, then
// deadlock upgrading to write; busy_timeout makes the second one wait instead of failing.
// Rolls back on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin() {
    Status s = Exec(db_, "BEGIN IMMEDIATE", "begin transaction");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = Exec(db_, "COMMIT", "commit transaction");
    // A failed COMMIT leaves the transaction open; the destructor rolls it back.
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

// Reads a row selected with kJobColumns.
JobRecord ReadJob(const Statement& stmt) {
  JobRecord job;
  job.id = stmt.Text(0);
  job.status = stmt.Text(1);
  job.created_at = stmt.Int(2);
  job.started_at = stmt.Int(3);
  job.completed_at = stmt.Int(4);
  job.lane = stmt.Text(5);
  job.request_json = stmt.Text(6);
  job.state_json = stmt.Text(7);
  job.error_code = stmt.Text(8);
  job.error_message = stmt.Text(9);
  job.result_text = stmt.Text(10);
  job.usage_json = stmt.Text(11);
  job.attempts = static_cast<int>(stmt.Int(12));
  job.cancel_requested = stmt.Int(13) != 0;
  return job;
}

// Runs a SELECT of kJobColumns to the end. Errors end the list early: the read-side calls
// have no Status to carry them, and a short list is what a caller can act on.
std::vector<JobRecord> ReadJobs(Statement* stmt) {
  std::vector<JobRecord> jobs;
  while (stmt->Step() == SQLITE_ROW)
    jobs.push_back(ReadJob(*stmt));
  return jobs;
}

// The job's columns as ?1..?14, in the order the INSERT and the UPDATE both name them.
void BindJobColumns(Statement& stmt, const JobRecord& job) {
  stmt.Bind(1, job.id);
  stmt.Bind(2, job.status);
  stmt.Bind(3, job.created_at);
  stmt.Bind(4, job.started_at);
  stmt.Bind(5, job.completed_at);
  stmt.Bind(6, job.lane);
  stmt.Bind(7, job.request_json);
  stmt.Bind(8, job.state_json);
  stmt.Bind(9, job.error_code);
  stmt.Bind(10, job.error_message);
  stmt.Bind(11, job.result_text);
  stmt.Bind(12, job.usage_json);
  stmt.Bind(13, static_cast<int64_t>(job.attempts));
  stmt.Bind(14, static_cast<int64_t>(job.cancel_requested ? 1 : 0));
}

bool JobExists(sqlite3* db, const std::string& id) {
  Statement stmt(db, "SELECT 1 FROM jobs WHERE id = ?1");
  stmt.Bind(1, id);
  return stmt.Step() == SQLITE_ROW;
}

// Appends an event inside the caller's transaction; returns its seq.
StatusOr<int64_t> InsertEvent(sqlite3* db, const std::string& job_id, const std::string& type,
                              const std::string& data_json) {
  Statement stmt(db,
                 "INSERT INTO events (job_id, created_at, type, data_json) "
                 "VALUES (?1, ?2, ?3, ?4)");
  stmt.Bind(1, job_id);
  stmt.Bind(2, NowUnixSeconds());
  stmt.Bind(3, type);
  stmt.Bind(4, data_json);
  Status s = stmt.Run("append event to " + job_id);
  if (!s.ok()) return s;
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

// The first column of a one-row query. The statement is finalized on return, so none is left
// pending when the caller commits.
StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql) {
  Statement stmt(db, sql);
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) return stmt.Int(0);
  Status s = stmt.status(sql);
  return s.ok() ? SqliteError(db, rc, sql) : s;
}

// Creates the schema in a fresh database, or checks that an existing one is ours. Inside one
// IMMEDIATE transaction so that two processes opening a new file at once create it once.
Status PrepareSchema(sqlite3* db, const std::string& path) {
  Transaction txn(db);
  Status s = txn.Begin();
  if (!s.ok()) return s.WithPrefix(path);

  StatusOr<int64_t> user_version = QueryInt(db, "PRAGMA user_version");
  if (!user_version.ok()) return user_version.status().WithPrefix(path);
  if (*user_version == kSchemaVersion) return txn.Commit().WithPrefix(path);
  if (*user_version != 0) {
    return Status::Corruption(path + ": not an ingest job database (schema version " +
                              std::to_string(*user_version) + ", expected " +
                              std::to_string(kSchemaVersion) + ")");
  }
  // Version 0 is a new file, or some other program's SQLite database: only an empty one is
  // ours to fill.
  StatusOr<int64_t> tables = QueryInt(db, "SELECT count(*) FROM sqlite_master");
  if (!tables.ok()) return tables.status().WithPrefix(path);
  if (*tables != 0) {
    return Status::Corruption(path +
                              ": not an ingest job database (has tables but no schema version)");
  }
  s = Exec(db, kSchema, "create schema");
  if (!s.ok()) return s.WithPrefix(path);
  // PRAGMA takes no bound parameters; the value is our own constant.
  s = Exec(db, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(),
           "set user_version");
  if (!s.ok()) return s.WithPrefix(path);
  return txn.Commit().WithPrefix(path);
}

}  // namespace

StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::IoError(path + ": cannot open database: " +
                               (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return s;
  }
  // From here the store owns the handle, so every early return closes it.
  std::unique_ptr<JobStore> store(new JobStore(db));

  // sqlite3_open_v2 reads nothing; the first statement is what finds a file that is not a
  // database (SQLITE_NOTADB, mapped to Corruption).
  sqlite3_busy_timeout(db, 5000);
  std::string mode;
  {
    Statement journal(db, "PRAGMA journal_mode = WAL");
    rc = journal.Step();
    if (rc != SQLITE_ROW) {
      Status s = journal.status("set journal_mode");
      if (s.ok()) s = SqliteError(db, rc, "set journal_mode");
      return s.WithPrefix(path);
    }
    mode = journal.Text(0);
  }
  // An in-memory database (tests) reports "memory"; a file that cannot do WAL would silently
  // lose the durability the header promises, so it is refused.
  if (mode != "wal" && mode != "memory") {
    return Status::IoError(path + ": cannot use the WAL journal (journal_mode is " + mode + ")");
  }
  for (const char* pragma : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
    Status s = Exec(db, pragma, pragma);
    if (!s.ok()) return s.WithPrefix(path);
  }
  Status s = PrepareSchema(db, path);
  if (!s.ok()) return s;
  return store;
}

JobStore::JobStore(sqlite3* db) : db_(db) {}

JobStore::~JobStore() {
  sqlite3_close_v2(db_);
}

StatusOr<int64_t> JobStore::CreateJob(const JobRecord& job, const std::string& event_data) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  Status s = txn.Begin();
  if (!s.ok()) return s;
  if (JobExists(db_, job.id)) return Status::InvalidArgument("job " + job.id + " exists");
  Statement stmt(db_,
                 "INSERT INTO jobs (id, status, created_at, started_at, completed_at, lane, "
                 "request_json, state_json, error_code, error_message, result_text, usage_json, "
                 "attempts, cancel_requested) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  BindJobColumns(stmt, job);
  s = stmt.Run("insert job " + job.id);
  if (!s.ok()) return s;
  StatusOr<int64_t> seq = InsertEvent(db_, job.id, "status", event_data);
  if (!seq.ok()) return seq;
  s = txn.Commit();
  if (!s.ok()) return s;
  return seq;
}

std::optional<JobRecord> JobStore::GetJob(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  Statement stmt(db_, (std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1").c_str());
  stmt.Bind(1, id);
  if (stmt.Step() != SQLITE_ROW) return std::nullopt;
  return ReadJob(stmt);
}

std::vector<JobRecord> JobStore::ListJobs(int limit, const std::string& after) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (limit <= 0) return {};
  // rowid breaks ties between jobs created in the same second: it grows with insertion.
  // An `after` id that does not exist matches no cursor row, so the list is empty (the client
  // paged past a deleted job; starting over from the newest would repeat jobs it has seen).
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs ";
  if (!after.empty()) {
    sql += "WHERE (created_at, rowid) < (SELECT created_at, rowid FROM jobs WHERE id = ?2) ";
  }
  sql += "ORDER BY created_at DESC, rowid DESC LIMIT ?1";
  Statement stmt(db_, sql.c_str());
  stmt.Bind(1, static_cast<int64_t>(limit));
  if (!after.empty()) stmt.Bind(2, after);
  return ReadJobs(&stmt);
}

std::vector<JobRecord> JobStore::UnfinishedJobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  Statement stmt(db_, (std::string("SELECT ") + kJobColumns +
                       " FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled') "
                       "ORDER BY created_at ASC, rowid ASC")
                          .c_str());
  return ReadJobs(&stmt);
}

StatusOr<int64_t> JobStore::UpdateJob(const JobRecord& job, const std::string& event_type,
                                      const std::string& event_data) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  Status s = txn.Begin();
  if (!s.ok()) return s;
  Statement stmt(db_,
                 "UPDATE jobs SET status = ?2, created_at = ?3, started_at = ?4, "
                 "completed_at = ?5, lane = ?6, request_json = ?7, state_json = ?8, "
                 "error_code = ?9, error_message = ?10, result_text = ?11, usage_json = ?12, "
                 "attempts = ?13, cancel_requested = MAX(cancel_requested, ?14) WHERE id = ?1");
  BindJobColumns(stmt, job);
  s = stmt.Run("update job " + job.id);
  if (!s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("job " + job.id + " not found");
  int64_t seq = 0;
  if (!event_type.empty()) {
    StatusOr<int64_t> inserted = InsertEvent(db_, job.id, event_type, event_data);
    if (!inserted.ok()) return inserted;
    seq = *inserted;
  }
  s = txn.Commit();
  if (!s.ok()) return s;
  return seq;
}

StatusOr<int64_t> JobStore::AppendEvent(const std::string& job_id, const std::string& type,
                                        const std::string& data_json) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  Status s = txn.Begin();
  if (!s.ok()) return s;
  if (!JobExists(db_, job_id)) return Status::NotFound("job " + job_id + " not found");
  StatusOr<int64_t> seq = InsertEvent(db_, job_id, type, data_json);
  if (!seq.ok()) return seq;
  s = txn.Commit();
  if (!s.ok()) return s;
  return seq;
}

std::vector<JobEvent> JobStore::Events(const std::string& job_id, int64_t after_seq,
                                       int limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobEvent> events;
  if (limit <= 0) return events;
  Statement stmt(db_,
                 "SELECT seq, job_id, created_at, type, data_json FROM events "
                 "WHERE job_id = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3");
  stmt.Bind(1, job_id);
  stmt.Bind(2, after_seq);
  stmt.Bind(3, static_cast<int64_t>(limit));
  while (stmt.Step() == SQLITE_ROW) {
    JobEvent event;
    event.seq = stmt.Int(0);
    event.job_id = stmt.Text(1);
    event.created_at = stmt.Int(2);
    event.type = stmt.Text(3);
    event.data_json = stmt.Text(4);
    events.push_back(std::move(event));
  }
  return events;
}

bool JobStore::RequestCancel(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  if (!txn.Begin().ok()) return false;
  Statement stmt(db_, "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1");
  stmt.Bind(1, job_id);
  if (!stmt.Run("request cancel").ok() || sqlite3_changes(db_) == 0) return false;
  return txn.Commit().ok();
}

Status JobStore::PutPart(const JobPart& part) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  Status s = txn.Begin();
  if (!s.ok()) return s;
  if (!JobExists(db_, part.job_id)) return Status::NotFound("job " + part.job_id + " not found");
  Statement stmt(db_,
                 "INSERT INTO parts (job_id, idx, status, result_text, usage_json) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) "
                 "ON CONFLICT (job_id, idx) DO UPDATE SET status = excluded.status, "
                 "result_text = excluded.result_text, usage_json = excluded.usage_json");
  stmt.Bind(1, part.job_id);
  stmt.Bind(2, static_cast<int64_t>(part.index));
  stmt.Bind(3, part.status);
  stmt.Bind(4, part.result_text);
  stmt.Bind(5, part.usage_json);
  s = stmt.Run("put part " + std::to_string(part.index) + " of " + part.job_id);
  if (!s.ok()) return s;
  return txn.Commit();
}

std::vector<JobPart> JobStore::Parts(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobPart> parts;
  Statement stmt(db_,
                 "SELECT job_id, idx, status, result_text, usage_json FROM parts "
                 "WHERE job_id = ?1 ORDER BY idx ASC");
  stmt.Bind(1, job_id);
  while (stmt.Step() == SQLITE_ROW) {
    JobPart part;
    part.job_id = stmt.Text(0);
    part.index = static_cast<int>(stmt.Int(1));
    part.status = stmt.Text(2);
    part.result_text = stmt.Text(3);
    part.usage_json = stmt.Text(4);
    parts.push_back(std::move(part));
  }
  return parts;
}

bool JobStore::DeleteJob(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_);
  if (!txn.Begin().ok()) return false;
  for (const char* sql :
       {"DELETE FROM events WHERE job_id = ?1", "DELETE FROM parts WHERE job_id = ?1"}) {
    Statement stmt(db_, sql);
    stmt.Bind(1, id);
    if (!stmt.Run("delete job").ok()) return false;
  }
  Statement stmt(db_, "DELETE FROM jobs WHERE id = ?1");
  stmt.Bind(1, id);
  // With no such job the child deletes removed nothing; rolling back changes nothing either.
  if (!stmt.Run("delete job").ok() || sqlite3_changes(db_) == 0) return false;
  return txn.Commit().ok();
}

std::vector<std::string> JobStore::FinishedBefore(int64_t before) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  Statement stmt(db_,
                 "SELECT id FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') "
                 "AND completed_at < ?1 ORDER BY completed_at ASC, rowid ASC");
  stmt.Bind(1, before);
  while (stmt.Step() == SQLITE_ROW)
    ids.push_back(stmt.Text(0));
  return ids;
}

std::string NewJobId() {
  // random_device rather than a seeded engine: ids are guessable handles to a user's upload, and
  // a restart must never replay a sequence.
  std::random_device random;
  std::string id = "ingest_";
  for (int i = 0; i < 3; ++i) {
    char hex[9];
    std::snprintf(hex, sizeof(hex), "%08x", static_cast<unsigned>(random() & 0xffffffffu));
    id += hex;
  }
  return id;
}

bool IsTerminalStatus(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

}  // namespace cortex::ingest
