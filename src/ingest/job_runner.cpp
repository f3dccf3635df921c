#include "ingest/job_runner.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/sse.h"
#include "ingest/engine_call.h"
#include "ingest/job_plan.h"
#include "ingest/job_view.h"
#include "ingest/packer.h"
#include "ingest/token_counter.h"
#include "net/http_client.h"

namespace cortex::ingest {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// What the engine is told about its role. The job's own prompt (or kDefaultPrompt) follows.
constexpr std::string_view kSystemPrompt =
    "You are a senior engineer reading a whole source tree that was packed into one text: a "
    "directory structure first, then every file under <file path=\"...\">. Answer from what the "
    "files say; name files and functions when you refer to them.";
constexpr std::string_view kDefaultPrompt =
    "Give a deep analysis of this code base: what it does, its architecture and main "
    "components and how they interact, the data flow, notable design decisions, risks, bugs or "
    "weak spots you can see, and what you would improve first.";
// Tokens the chat template adds around the messages, beyond their text.
constexpr uint64_t kTemplateTokens = 64;
constexpr auto kProgressEvery = std::chrono::milliseconds(500);

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(n);
}

std::string Str(const json::object& o, std::string_view key, std::string fallback = {}) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

uint64_t U64(const json::object& o, std::string_view key, uint64_t fallback = 0) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return fallback;
  json::error_code ec;
  const double d = v->to_number<double>(ec);
  return ec || d < 0 ? fallback : static_cast<uint64_t>(d);
}

json::object* Obj(json::object& o, std::string_view key) {
  json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

// The packed files' blocks, as the index beside packed.txt lists them: "offset\tlength\tpath".
Status WriteIndex(const std::string& path, const std::vector<PackedFile>& files) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (const PackedFile& f : files)
      out << f.offset << '\t' << f.length << '\t' << f.path << '\n';
    out.flush();
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IoError(fmt::format("cannot rename {}: {}", tmp, ec.message()));
  return Status::Ok();
}

StatusOr<std::vector<PackedFile>> ReadIndex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::vector<PackedFile> files;
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find('\t');
    const size_t b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos) return Status::Corruption("bad line in " + path);
    PackedFile f;
    f.offset = std::stoull(line.substr(0, a));
    f.length = std::stoull(line.substr(a + 1, b - a - 1));
    f.path = line.substr(b + 1);
    files.push_back(std::move(f));
  }
  return files;
}

// Bytes of `path` in `ranges`, without a torn UTF-8 sequence at either end of a range (a huge
// file cut by size may be cut inside one).
StatusOr<std::string> ReadRanges(const std::string& path, const std::vector<ByteRange>& ranges) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::string out;
  for (const ByteRange& r : ranges) {
    std::string piece(r.length, '\0');
    in.seekg(static_cast<std::streamoff>(r.offset));
    in.read(piece.data(), static_cast<std::streamsize>(r.length));
    if (!in) return Status::IoError("short read of " + path);
    size_t begin = 0;
    while (begin < piece.size() && (static_cast<unsigned char>(piece[begin]) & 0xC0) == 0x80) {
      ++begin;
    }
    size_t end = piece.size();
    size_t back = end;
    while (back > begin && (static_cast<unsigned char>(piece[back - 1]) & 0xC0) == 0x80)
      --back;
    if (back > begin && (static_cast<unsigned char>(piece[back - 1]) & 0x80) != 0) {
      const unsigned char lead = static_cast<unsigned char>(piece[back - 1]);
      const size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (end - (back - 1) < want) end = back - 1;
    }
    out.append(piece, begin, end - begin);
  }
  return out;
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

json::object ProgressObject(std::string_view stage, uint64_t done, uint64_t total,
                            std::string_view unit, std::optional<double> rate,
                            std::optional<double> eta) {
  json::object p{{"stage", stage}, {"done", done}, {"total", total}, {"unit", unit}};
  p["rate"] = rate ? json::value(std::round(*rate * 10) / 10) : json::value(nullptr);
  p["eta_s"] = eta ? json::value(static_cast<int64_t>(std::ceil(*eta))) : json::value(nullptr);
  return p;
}

}  // namespace

// One job while the runner works on it.
struct JobRunner::Job {
  JobRecord rec;
  json::object state;
  json::object request;
  std::string dir;
  Clock::time_point last_progress{};
  Clock::time_point last_cancel_check{};
  bool cancel_seen = false;
};

JobRunner::JobRunner(RunnerEnv env, JobStore* store) : env_(std::move(env)), store_(store) {}

JobRunner::~JobRunner() {
  Stop();
}

std::string JobRunner::JobDir(const std::string& id) const {
  return (fs::path(env_.dir) / "jobs" / id).string();
}

void JobRunner::Start() {
  for (JobRecord& job : store_->UnfinishedJobs()) {
    if (job.status == "queued") continue;  // never started: nothing to resume
    json::object state = ParseObject(job.state_json);
    const uint64_t restarts = U64(state, "restarts") + 1;
    state["restarts"] = restarts;
    const std::string stage = job.status;
    job.state_json = json::serialize(state);
    (void)store_->UpdateJob(job, "restart",
                            json::serialize(json::object{
                                {"stage", stage},
                                {"restarts", restarts},
                                {"message", fmt::format("cortex restarted while the job was {}; "
                                                        "resuming",
                                                        stage)}}));
  }
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void JobRunner::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_ = true;
  }
  cv_.notify_all();
}

void JobRunner::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

int JobRunner::RunningEtaSeconds() const {
  const int64_t until = eta_until_.load();
  if (until == 0) return 0;
  return static_cast<int>(std::max<int64_t>(1, until - Now()));
}

bool JobRunner::Cancel(const std::string& id) {
  if (!store_->RequestCancel(id)) return false;
  {
    std::lock_guard lock(mu_);
    if (current_ != id) {
      // Not running: cancelled here and now (the runner skips terminal jobs).
      if (auto job = store_->GetJob(id); job && !IsTerminalStatus(job->status)) {
        job->status = "cancelled";
        job->completed_at = Now();
        (void)store_->UpdateJob(
            *job, "status",
            json::serialize(
                json::object{{"status", "cancelled"}, {"message", "cancelled while queued"}}));
      }
    }
  }
  Wake();
  return true;
}

void JobRunner::Loop() {
  while (!stopping_) {
    Retention();
    std::string next;
    for (const JobRecord& job : store_->UnfinishedJobs()) {
      next = job.id;
      break;
    }
    if (!next.empty()) {
      {
        std::lock_guard lock(mu_);
        current_ = next;
      }
      Run(next);
      {
        std::lock_guard lock(mu_);
        current_.clear();
      }
      eta_until_ = 0;
      auto after = store_->GetJob(next);
      if (stopping_) break;
      if (!after || IsTerminalStatus(after->status)) continue;
      // It did not finish and cortex is not stopping: the store or the job directory failed.
      // Try again later rather than spin.
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(next.empty() ? 5 : 10),
                 [this] { return wake_ || stopping_.load(); });
    wake_ = false;
  }
}

void JobRunner::Retention() {
  if (env_.config.ingest.keep_s <= 0) return;
  const int64_t before = Now() - static_cast<int64_t>(env_.config.ingest.keep_s);
  for (const std::string& id : store_->FinishedBefore(before)) {
    std::error_code ec;
    fs::remove_all(JobDir(id), ec);
    store_->DeleteJob(id);
  }
}

// ---- small pieces shared by the stages ----

bool JobRunner::Save(Job& job, const std::string& event_type, const json::object& data) {
  job.rec.state_json = json::serialize(job.state);
  auto seq =
      store_->UpdateJob(job.rec, event_type, event_type.empty() ? "" : json::serialize(data));
  return seq.ok();
}

bool JobRunner::SetStatus(Job& job, const std::string& status, const std::string& message) {
  job.rec.status = status;
  json::object data{{"status", status}};
  if (!message.empty()) data["message"] = message;
  if (const json::value* p = job.state.if_contains("progress")) data["progress"] = *p;
  return Save(job, "status", data);
}

void JobRunner::Log(Job& job, const std::string& message) {
  (void)store_->AppendEvent(job.rec.id, "log", json::serialize(json::object{{"message", message}}));
}

void JobRunner::Progress(Job& job, json::object progress, bool force) {
  const auto now = Clock::now();
  job.state["progress"] = progress;
  if (!force && now - job.last_progress < kProgressEvery) return;
  job.last_progress = now;
  if (const json::value* eta = progress.if_contains("eta_s"); eta && eta->is_int64()) {
    eta_until_ = Now() + eta->as_int64();
  }
  Save(job, "progress", progress);
}

bool JobRunner::ShouldStop(Job& job) {
  if (stopping_) return true;
  if (job.cancel_seen) return true;
  const auto now = Clock::now();
  if (now - job.last_cancel_check < std::chrono::milliseconds(300)) return false;
  job.last_cancel_check = now;
  if (auto r = store_->GetJob(job.rec.id); !r || r->cancel_requested) job.cancel_seen = true;
  return job.cancel_seen;
}

void JobRunner::Finish(Job& job, const std::string& status, const std::string& code,
                       const std::string& message) {
  job.rec.status = status;
  job.rec.completed_at = Now();
  job.rec.error_code = code;
  job.rec.error_message = message;
  if (job.rec.started_at == 0) job.rec.started_at = job.rec.completed_at;
  json::object data{{"status", status}};
  if (!code.empty())
    data["error"] = json::object{{"code", code}, {"message", message}};
  else if (!message.empty())
    data["message"] = message;
  EndBurst(job);  // before the final status, so a client following the events sees it
  Save(job, "status", data);
}

JobRunner::Step JobRunner::Stopped(Job& job) {
  if (stopping_) return Step::kStop;  // resumes at the next start; not a failure
  Finish(job, "cancelled", "", "cancelled by request");
  return Step::kDone;
}

// ---- the stages ----

void JobRunner::Run(const std::string& id) {
  auto rec = store_->GetJob(id);
  if (!rec || IsTerminalStatus(rec->status)) return;
  Job job;
  job.rec = std::move(*rec);
  job.state = ParseObject(job.rec.state_json);
  job.request = ParseObject(job.rec.request_json);
  job.dir = JobDir(id);
  if (job.rec.cancel_requested) {
    Finish(job, "cancelled", "", "cancelled by request");
    return;
  }
  if (job.rec.started_at == 0) job.rec.started_at = Now();
  for (Step (JobRunner::*stage)(Job&) : {&JobRunner::PackStage, &JobRunner::PlanStage,
                                         &JobRunner::BurstStage, &JobRunner::AnalyseStage}) {
    const Step step = (this->*stage)(job);
    if (step != Step::kNext) return;
  }
}

JobRunner::Step JobRunner::PackStage(Job& job) {
  const std::string upload = job.dir + "/upload";
  const std::string packed = job.dir + "/packed.txt";
  const std::string index = job.dir + "/packed.index";
  if (const json::object* p = Obj(job.state, "packed");
      p != nullptr && FileSize(packed) == U64(*p, "bytes") && fs::exists(index)) {
    Log(job, "packed prompt from before the restart is intact; reused");
    return Step::kNext;
  }
  if (!fs::exists(upload)) {
    Finish(job, "failed", "upload_missing", "the uploaded archive is gone from " + upload);
    return Step::kDone;
  }
  job.state["progress"] = ProgressObject("unpacking", 0, 0, "entries", {}, {});
  SetStatus(job, "unpacking");
  const IngestConfig& ic = env_.config.ingest;
  ArchiveLimits limits;
  limits.max_total_bytes = ic.max_unpacked_bytes;
  limits.max_entries = ic.max_entries;
  limits.max_entry_bytes = ic.max_entry_bytes;
  limits.max_ratio = ic.max_ratio;
  PackOptions options;
  options.max_file_bytes = ic.max_file_bytes;
  PackStats stats;
  const auto progress = [&](std::string_view stage, uint64_t done, uint64_t total,
                            std::string_view unit) {
    if (ShouldStop(job)) return false;
    const bool changed = job.rec.status != stage;
    json::object p = ProgressObject(stage, done, total, unit, {}, {});
    if (changed) {
      job.state["progress"] = p;
      SetStatus(job, std::string(stage));
    } else {
      Progress(job, p);
    }
    return true;
  };
  const Status s = PackArchive(upload, limits, options, packed + ".tmp", job.dir + "/spool.tmp",
                               &stats, progress);
  if (!s.ok()) {
    std::error_code ec;
    fs::remove(packed + ".tmp", ec);
    if (ShouldStop(job)) return Stopped(job);
    if (!stats.archive.limit.empty()) {
      Finish(job, "failed", "archive_limit", s.message());
    } else {
      Finish(job, "failed", "archive_unreadable", s.message());
    }
    return Step::kDone;
  }
  json::object skipped;
  for (size_t i = 0; i < kSkipReasonCount; ++i) {
    if (stats.skipped[i] > 0)
      skipped[SkipReasonName(static_cast<SkipReason>(i))] = stats.skipped[i];
  }
  json::array examples;
  for (const auto& [path, reason] : stats.skip_examples) {
    if (examples.size() >= 50) break;
    examples.push_back(json::object{{"path", path}, {"reason", SkipReasonName(reason)}});
  }
  json::object input{{"bytes", FileSize(upload)},
                     {"format", stats.archive.format},
                     {"entries", stats.entries},
                     {"unpacked_bytes", stats.archive.uncompressed_bytes},
                     {"files_seen", stats.files_seen},
                     {"files_packed", stats.files_packed},
                     {"files_skipped", skipped},
                     {"skipped_total", stats.skipped_total()},
                     {"skipped_examples", examples},
                     {"packed_bytes", stats.output_bytes},
                     {"tokens", nullptr}};
  job.state["input"] = input;
  if (Status w = WriteIndex(index, stats.files); !w.ok()) {
    Finish(job, "failed", "internal_error", w.message());
    return Step::kDone;
  }
  std::error_code ec;
  fs::rename(packed + ".tmp", packed, ec);
  if (ec) {
    Finish(job, "failed", "internal_error", "cannot rename the packed prompt: " + ec.message());
    return Step::kDone;
  }
  job.state["packed"] = json::object{{"bytes", FileSize(packed)}, {"files", stats.files.size()}};
  job.state["progress"] =
      ProgressObject("packing", stats.files_packed, stats.files_packed, "files", {}, {});
  Save(job, "log",
       json::object{
           {"message", fmt::format("packed {} files ({} bytes); {} left out", stats.files_packed,
                                   stats.output_bytes, stats.skipped_total())},
           {"input", input}});
  if (stats.files_packed == 0) {
    Finish(job, "failed", "nothing_to_analyse",
           fmt::format("the archive holds no text file to analyse ({} entries, {} left out)",
                       stats.entries, stats.skipped_total()));
    return Step::kDone;
  }
  return Step::kNext;
}

std::string JobRunner::Instructions(const Job& job) const {
  std::string prompt = Str(job.request, "prompt");
  return prompt.empty() ? std::string(kDefaultPrompt) : prompt;
}

std::optional<uint64_t> JobRunner::CountWith(Job& job, const LaneTarget& lane, std::string* why) {
  TokenizeEndpoint ep{lane.host, lane.port, lane.vllm_wire, lane.served_name, lane.slots};
  const std::string packed = job.dir + "/packed.txt";
  auto tokens = CountFileTokens(ep, packed, [&](uint64_t done, uint64_t total) {
    if (ShouldStop(job)) return false;
    Progress(job, ProgressObject("counting_tokens", done, total, "bytes", {}, {}));
    return true;
  });
  if (!tokens.ok()) {
    *why = tokens.status().message();
    return std::nullopt;
  }
  return *tokens;
}

JobRunner::Step JobRunner::PlanStage(Job& job) {
  const IngestConfig& ic = env_.config.ingest;
  if (Obj(job.state, "plan") != nullptr) return Step::kNext;  // planned before a restart
  json::object& input = job.state["input"].as_object();
  const uint64_t packed_bytes = U64(input, "packed_bytes");
  const uint64_t upload_bytes = U64(input, "bytes");
  const uint64_t max_tokens = U64(job.request, "max_tokens", ic.max_tokens);
  const std::string requested = Str(job.request, "lane");
  const bool burst_allowed = ic.burst != "never" && env_.supervised;
  int lane = RouteLane(env_.lanes, ic, requested, upload_bytes,
                       EstimateTokensFromBytes(packed_bytes), max_tokens, burst_allowed);
  if (lane < 0) {
    Finish(job, "failed", "unknown_lane",
           requested.empty() ? "no lane can take ingest jobs"
                             : fmt::format("no lane named \"{}\"", requested));
    return Step::kDone;
  }
  uint64_t tokens = 0;
  bool exact = false;
  std::string counted_on, why_not;
  for (int round = 0; round < 3; ++round) {
    const LaneTarget& t = env_.lanes[static_cast<size_t>(lane)];
    if (counted_on != t.served_name || !exact) {
      std::optional<uint64_t> n = CountWith(job, t, &why_not);
      if (ShouldStop(job)) return Stopped(job);
      if (n) {
        tokens = *n;
        exact = true;
        counted_on = t.served_name;
      } else {
        tokens = EstimateTokensFromBytes(packed_bytes);
        exact = false;
      }
    }
    if (!requested.empty() || !ic.lane.empty()) break;
    const int again =
        RouteLane(env_.lanes, ic, "", upload_bytes, tokens, max_tokens, burst_allowed);
    if (again == lane || again < 0) break;
    lane = again;
  }
  const LaneTarget& t = env_.lanes[static_cast<size_t>(lane)];
  if (!exact) {
    Log(job, fmt::format("tokens estimated from bytes (about 4 per token): the engine of lane {} "
                         "could not count them ({})",
                         t.lane, why_not));
  }
  const std::string instructions = Instructions(job);
  uint64_t instruction_tokens = EstimateTokensFromBytes(instructions.size() + kSystemPrompt.size());
  if (exact) {
    TokenizeEndpoint ep{t.host, t.port, t.vllm_wire, t.served_name, 1};
    auto n = CountTextTokens(ep, std::string(kSystemPrompt) + "\n" + instructions);
    if (n.ok()) instruction_tokens = *n;
  }
  instruction_tokens += kTemplateTokens;
  input["tokens"] = tokens;
  input["tokens_exact"] = exact;
  input["tokens_counted_by"] = exact ? json::value(t.engine) : json::value(nullptr);
  if (!exact) input["tokens_note"] = "estimated from bytes: " + why_not;

  JobPlanInput in;
  in.packed_tokens = tokens;
  in.instruction_tokens = instruction_tokens;
  in.max_tokens = max_tokens;
  in.strategy = Str(job.request, "strategy", ic.strategy);
  in.burst_allowed = burst_allowed;
  in.prefill_seconds = [&](uint64_t n) { return EstimatePrefillSeconds(env_.config, t, n); };
  const JobPlan plan = PlanJob(t, ic, in);
  job.rec.lane = t.lane;
  if (!plan.ok) {
    Save(job, "", {});
    Finish(job, "failed", plan.error_code, plan.error_message);
    return Step::kDone;
  }
  json::object p{{"strategy", plan.strategy},
                 {"lane", t.lane},
                 {"engine", t.engine},
                 {"needs_burst", plan.needs_burst},
                 {"burst_profile", plan.needs_burst ? json::value(t.burst_profile) : nullptr},
                 {"context", plan.context},
                 {"prompt_tokens", tokens + instruction_tokens},
                 {"instruction_tokens", instruction_tokens},
                 {"max_tokens", max_tokens},
                 {"part_budget", plan.part_budget},
                 {"part_max_tokens", plan.part_max_tokens},
                 {"estimate_s", plan.estimate_s ? json::value(std::round(*plan.estimate_s))
                                                : json::value(nullptr)},
                 {"why", plan.why}};
  if (plan.strategy == "split") {
    auto files = ReadIndex(job.dir + "/packed.index");
    if (!files.ok()) {
      Finish(job, "failed", "internal_error", files.status().message());
      return Step::kDone;
    }
    const double ratio =
        packed_bytes > 0 ? static_cast<double>(tokens) / static_cast<double>(packed_bytes) : 0.25;
    // A tenth of headroom: the ratio is the tree's average, a part may be denser.
    const auto parts = SplitPacked(*files, ratio * 1.1, plan.part_budget);
    json::array ranges;
    for (const PackedPart& part : parts) {
      json::array rs;
      for (const ByteRange& r : part.ranges)
        rs.push_back(json::array{r.offset, r.length});
      ranges.push_back(std::move(rs));
    }
    p["parts"] = parts.size();
    p["part_ranges"] = std::move(ranges);
  } else {
    p["parts"] = 1;
  }
  job.state["plan"] = p;
  json::object shown = p;
  shown.erase("part_ranges");
  if (plan.estimate_s) eta_until_ = Now() + static_cast<int64_t>(*plan.estimate_s);
  Save(job, "plan", shown);
  return Step::kNext;
}

JobRunner::Step JobRunner::BurstStage(Job& job) {
  const json::object& plan = job.state["plan"].as_object();
  const json::value* nb = plan.if_contains("needs_burst");
  if (nb == nullptr || !nb->is_bool() || !nb->as_bool()) return Step::kNext;
  const std::string engine = Str(plan, "engine");
  job.state["progress"] = ProgressObject("waiting_for_memory", 0, 1, "burst", {}, {});
  SetStatus(job, "waiting_for_memory",
            fmt::format("the prompt needs engine {}'s burst profile \"{}\"; turning burst on",
                        engine, Str(plan, "burst_profile")));
  for (int attempt = 0;; ++attempt) {
    if (ShouldStop(job)) return Stopped(job);
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/admin/burst?wait=1";
    req.headers["Content-Type"] = "application/json";
    if (!env_.admin_key.empty()) req.headers["Authorization"] = "Bearer " + env_.admin_key;
    req.body = json::serialize(
        json::object{{"on", true}, {"engine", engine}, {"reason", "ingest job " + job.rec.id}});
    req.timeout = std::chrono::milliseconds(900'000);
    auto res = net::BlockingHttp(env_.gateway_host, env_.gateway_port, req);
    if (res.ok() && res->status == 200) break;
    const std::string why = res.ok() ? net::OpenAiErrorMessage(res->body) : res.status().message();
    if (res.ok() && res->status == 409 && why.find("already") != std::string::npos) break;
    // Refusals that waiting cannot change (the burst does not fit the pool, no such engine or
    // profile) fail the job now; a supervisor still switching or restarting is waited for.
    const bool permanent =
        res.ok() && (res->status == 404 || res->status == 400 ||
                     (res->status == 409 && why.find("pool") != std::string::npos));
    if (permanent || attempt >= 30) {
      Finish(job, "failed", "burst_failed", "burst could not be turned on: " + why);
      return Step::kDone;
    }
    if (attempt == 0) Log(job, "burst not available yet (" + why + "); retrying");
    for (int i = 0; i < 20 && !ShouldStop(job); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  holds_burst_ = true;
  burst_engine_ = engine;
  job.state["burst"] = true;
  job.state["progress"] = ProgressObject("waiting_for_memory", 1, 1, "burst", {}, {});
  Save(job, "burst", json::object{{"on", true}, {"engine", engine}});
  return Step::kNext;
}

void JobRunner::EndBurst(Job& job) {
  if (!holds_burst_) return;
  holds_burst_ = false;
  if (!stopping_) {
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/admin/burst?wait=1";
    req.headers["Content-Type"] = "application/json";
    if (!env_.admin_key.empty()) req.headers["Authorization"] = "Bearer " + env_.admin_key;
    req.body = json::serialize(json::object{
        {"on", false}, {"engine", burst_engine_}, {"reason", "ingest job " + job.rec.id}});
    req.timeout = std::chrono::milliseconds(900'000);
    auto res = net::BlockingHttp(env_.gateway_host, env_.gateway_port, req);
    const bool ok = res.ok() && res->status == 200;
    (void)store_->AppendEvent(
        job.rec.id, "burst",
        json::serialize(json::object{
            {"on", false},
            {"engine", burst_engine_},
            {"ok", ok},
            {"message",
             ok ? "burst off"
                : "burst could not be turned off: " +
                      (res.ok() ? net::OpenAiErrorMessage(res->body) : res.status().message())}}));
  }
  burst_engine_.clear();
}

// One streamed chat completion through the gateway, with progress from the stream. Retries
// what an engine answers while it loads or is busy.
JobRunner::CallOutcome JobRunner::Call(Job& job, const std::string& user_text, uint64_t max_tokens,
                                       const std::string& label, uint64_t prompt_estimate) {
  const json::object& plan = job.state["plan"].as_object();
  const std::string lane = Str(plan, "lane");
  const LaneTarget* target = nullptr;
  for (const LaneTarget& t : env_.lanes) {
    if (t.lane == lane) target = &t;
  }
  json::object body{
      {"model", lane},
      {"messages", json::array{json::object{{"role", "system"}, {"content", kSystemPrompt}},
                               json::object{{"role", "user"}, {"content", user_text}}}},
      {"stream", true},
      {"return_progress", true},
      {"stream_options", json::object{{"include_usage", true}}},
      {"max_tokens", max_tokens},
      {"cache_prompt", true}};
  const std::string body_text = json::serialize(body);
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"},
                                             {"Accept", "text/event-stream"}};
  if (!env_.api_key.empty()) headers["Authorization"] = "Bearer " + env_.api_key;
  const std::optional<double> estimate =
      target ? EstimatePrefillSeconds(env_.config, *target, prompt_estimate) : std::nullopt;
  const auto header_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(1000 * std::max(3600.0, estimate.value_or(0) * 3)));

  CallOutcome out;
  int failures = 0;
  const auto give_up_at = Clock::now() + std::chrono::hours(1);
  for (;;) {
    if (ShouldStop(job)) {
      out.step = Stopped(job);
      return out;
    }
    ++job.rec.attempts;
    job.state["progress"] =
        ProgressObject("prefilling", 0, prompt_estimate, "tokens", {}, estimate);
    SetStatus(job, "prefilling", label);
    gateway::SseSplitter splitter;
    std::vector<std::string> events;
    std::string text, stream_error;
    uint64_t generated = 0, prompt_total = prompt_estimate;
    std::optional<gateway::TokenUsage> usage;
    bool done = false, generating = false;
    const auto started = Clock::now();
    auto on_piece = [&](std::string_view piece) {
      events.clear();
      splitter.Feed(piece, &events);
      for (const std::string& ev : events) {
        const gateway::SseEventInfo info = gateway::InspectEvent(ev);
        if (info.done) done = true;
        if (info.usage) usage = info.usage;
        const size_t at = ev.find("data:");
        if (at == std::string::npos || info.done) continue;
        json::error_code ec;
        const json::value v = json::parse(std::string_view(ev).substr(at + 5), ec);
        if (ec || !v.is_object()) continue;
        const json::object& o = v.as_object();
        if (info.error) {
          stream_error = net::OpenAiErrorMessage(json::serialize(o));
          continue;
        }
        if (const auto* pp = o.if_contains("prompt_progress"); pp && pp->is_object()) {
          const json::object& p = pp->as_object();
          const uint64_t total = U64(p, "total"), cache = U64(p, "cache"),
                         processed = U64(p, "processed"), ms = U64(p, "time_ms");
          prompt_total = total;
          std::optional<double> rate, eta;
          if (ms > 0 && processed > cache) {
            rate = static_cast<double>(processed - cache) * 1000.0 / static_cast<double>(ms);
            eta = static_cast<double>(total - std::min(total, processed)) / *rate;
          } else if (estimate && prompt_estimate > 0) {
            eta = *estimate * static_cast<double>(total - std::min(total, processed)) /
                  static_cast<double>(std::max(total, uint64_t{1}));
          }
          Progress(job, ProgressObject("prefilling", processed, total, "tokens", rate, eta),
                   processed == cache || processed >= total);
        }
        if (info.has_content) {
          if (const auto* ch = o.if_contains("choices");
              ch && ch->is_array() && !ch->as_array().empty()) {
            const json::value& c0 = ch->as_array()[0];
            if (c0.is_object()) {
              const json::object& c = c0.as_object();
              if (const auto* d = c.if_contains("delta"); d && d->is_object()) {
                text += Str(d->as_object(), "content");
              } else {
                text += Str(c, "text");
              }
            }
          }
          ++generated;
          if (!generating) {
            generating = true;
            job.state["progress"] =
                ProgressObject("generating", generated, max_tokens, "tokens", {}, {});
            SetStatus(job, "generating", label);
          } else {
            const double s = std::chrono::duration<double>(Clock::now() - started).count();
            Progress(job, ProgressObject(
                              "generating", generated, max_tokens, "tokens",
                              s > 0 ? std::optional<double>(generated / s) : std::nullopt, {}));
          }
        }
      }
      return true;
    };
    auto res = StreamingPost(
        env_.gateway_host, env_.gateway_port, "/v1/chat/completions", headers, body_text,
        header_timeout, header_timeout, [&] { return ShouldStop(job); }, on_piece);
    if (res.ok() && res->stopped) {
      if (!stopping_) AbandonedSlots(job, target);
      out.step = Stopped(job);
      return out;
    }
    std::string failure;
    bool retry = false;
    if (!res.ok()) {
      failure = res.status().message();
      retry = true;
    } else if (res->status == 200 && done && stream_error.empty()) {
      out.step = Step::kNext;
      out.text = std::move(text);
      out.prompt_tokens = usage ? usage->prompt_tokens : prompt_total;
      out.completion_tokens = usage ? usage->completion_tokens : generated;
      return out;
    } else if (res->status == 200) {
      failure = stream_error.empty() ? "the engine's stream ended before [DONE]" : stream_error;
      retry = true;
    } else {
      failure = fmt::format("{} {}", res->status, net::OpenAiErrorMessage(res->body));
      retry = res->status == 503 || res->status == 429 || res->status == 502 || res->status == 504;
      if (res->status == 400 && failure.find("context") != std::string::npos) {
        Finish(job, "failed", "context_exceeded", "the engine refused the prompt: " + failure);
        out.step = Step::kDone;
        return out;
      }
    }
    ++failures;
    if (!retry || failures > 5 || Clock::now() > give_up_at) {
      Finish(job, "failed", "engine_error",
             fmt::format("lane {} failed after {} tries: {}", lane, failures, failure));
      out.step = Step::kDone;
      return out;
    }
    int wait_s = 2 * failures;
    if (res.ok() && !res->retry_after.empty()) {
      wait_s = std::clamp(std::atoi(res->retry_after.c_str()), 1, 30);
    }
    Log(job, fmt::format("engine call failed ({}); trying again in {} s", failure, wait_s));
    for (int i = 0; i < wait_s * 10 && !ShouldStop(job); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

// llama-server does not reliably stop a prompt when its client disconnects (research E §3.6,
// docs/INGEST.md): a slot still busy after an abandoned call would hold the engine for the rest
// of the prefill, so the engine is restarted.
void JobRunner::AbandonedSlots(Job& job, const LaneTarget* target) {
  if (target == nullptr || target->vllm_wire) return;
  auto busy = [&]() -> std::optional<bool> {
    net::BlockingHttpRequest req;
    req.target = "/slots";
    req.timeout = std::chrono::milliseconds(3000);
    auto res = net::BlockingHttp(target->host, target->port, req);
    if (!res.ok() || res->status != 200) return std::nullopt;
    json::error_code ec;
    const json::value v = json::parse(res->body, ec);
    if (ec || !v.is_array()) return std::nullopt;
    for (const json::value& s : v.as_array()) {
      if (!s.is_object()) continue;
      if (const auto* p = s.as_object().if_contains("is_processing");
          p && p->is_bool() && p->as_bool()) {
        return true;
      }
    }
    return false;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  std::optional<bool> b = busy();
  while (b.value_or(false) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    b = busy();
  }
  if (!b.has_value()) return;
  if (!*b) {
    Log(job, fmt::format("engine {} stopped the abandoned prompt", target->engine));
    return;
  }
  if (!env_.supervised || !target->managed) {
    Log(job, fmt::format("engine {} is still processing the abandoned prompt and is not managed "
                         "here; it stays busy until the prompt ends",
                         target->engine));
    return;
  }
  net::BlockingHttpRequest req;
  req.method = "POST";
  req.target = fmt::format("/admin/engines/{}/restart", target->engine);
  if (!env_.admin_key.empty()) req.headers["Authorization"] = "Bearer " + env_.admin_key;
  req.timeout = std::chrono::milliseconds(120'000);
  auto res = net::BlockingHttp(env_.gateway_host, env_.gateway_port, req);
  Log(job, fmt::format("engine {} was still processing the abandoned prompt (llama-server does not "
                       "stop on disconnect); restarted it{}",
                       target->engine, res.ok() && res->status == 200 ? "" : ": restart failed"));
}

JobRunner::Step JobRunner::AnalyseStage(Job& job) {
  const json::object plan = job.state["plan"].as_object();
  const std::string packed = job.dir + "/packed.txt";
  const std::string instructions = Instructions(job);
  const uint64_t max_tokens = U64(plan, "max_tokens", env_.config.ingest.max_tokens);
  const uint64_t prompt_tokens = U64(plan, "prompt_tokens");
  uint64_t usage_prompt = 0, usage_completion = 0, calls = 0;
  std::string result;
  if (Str(plan, "strategy") != "split") {
    std::string user = instructions + "\n\n" + ReadWhole(packed);
    CallOutcome r = Call(job, user, max_tokens, "", prompt_tokens);
    if (r.step != Step::kNext) return r.step;
    result = std::move(r.text);
    usage_prompt = r.prompt_tokens;
    usage_completion = r.completion_tokens;
    calls = 1;
  } else {
    const json::array& part_ranges = plan.at("part_ranges").as_array();
    const size_t n = part_ranges.size();
    const uint64_t part_max = U64(plan, "part_max_tokens", max_tokens);
    std::map<int, JobPart> done;
    for (JobPart& p : store_->Parts(job.rec.id)) {
      if (p.status == "completed") done.emplace(p.index, std::move(p));
    }
    if (!done.empty())
      Log(job, fmt::format("{} of {} parts were finished before; kept", done.size(), n));
    auto files = ReadIndex(job.dir + "/packed.index");
    for (size_t i = 0; i < n; ++i) {
      if (done.count(static_cast<int>(i)) != 0) continue;
      std::vector<ByteRange> ranges;
      for (const json::value& r : part_ranges[i].as_array()) {
        const json::array& a = r.as_array();
        ranges.push_back(ByteRange{a[0].to_number<uint64_t>(), a[1].to_number<uint64_t>()});
      }
      auto text = ReadRanges(packed, ranges);
      if (!text.ok()) {
        Finish(job, "failed", "internal_error", text.status().message());
        return Step::kDone;
      }
      // The shared instructions come first and are the same in every part, so the engine's
      // prompt cache reuses them from one part to the next.
      const std::string user = fmt::format(
          "{}\n\nThe tree is too large for one prompt, so it comes in {} parts; this is part {} of "
          "{}. Analyse what this part holds; a final pass will combine the analyses of all parts."
          "\n\n{}",
          instructions, n, i + 1, n, *text);
      CallOutcome r = Call(job, user, part_max, fmt::format("part {} of {}", i + 1, n),
                           U64(plan, "part_budget") + U64(plan, "instruction_tokens"));
      if (r.step != Step::kNext) return r.step;
      JobPart part{job.rec.id, static_cast<int>(i), "completed", r.text,
                   json::serialize(json::object{{"prompt_tokens", r.prompt_tokens},
                                                {"completion_tokens", r.completion_tokens}})};
      store_->PutPart(part);
      (void)store_->AppendEvent(
          job.rec.id, "part",
          json::serialize(json::object{{"index", i},
                                       {"parts", n},
                                       {"status", "completed"},
                                       {"prompt_tokens", r.prompt_tokens},
                                       {"completion_tokens", r.completion_tokens}}));
      done.emplace(static_cast<int>(i), std::move(part));
    }
    std::string combined = fmt::format(
        "{}\n\nThe tree was analysed in {} parts. Below are the analyses of the parts, in order. "
        "Write the final analysis of the whole tree from them.\n",
        instructions, n);
    for (auto& [i, p] : done) {
      combined += fmt::format("\n<part_analysis index=\"{}\">\n{}\n</part_analysis>\n", i + 1,
                              p.result_text);
      const json::object u = ParseObject(p.usage_json);
      usage_prompt += U64(u, "prompt_tokens");
      usage_completion += U64(u, "completion_tokens");
      ++calls;
    }
    CallOutcome r = Call(job, combined, max_tokens, "final pass over the parts",
                         EstimateTokensFromBytes(combined.size()));
    if (r.step != Step::kNext) return r.step;
    result = std::move(r.text);
    usage_prompt += r.prompt_tokens;
    usage_completion += r.completion_tokens;
    ++calls;
  }
  job.rec.result_text = std::move(result);
  job.rec.usage_json =
      json::serialize(json::object{{"prompt_tokens", usage_prompt},
                                   {"completion_tokens", usage_completion},
                                   {"total_tokens", usage_prompt + usage_completion},
                                   {"engine_calls", calls}});
  job.state["progress"] = ProgressObject("completed", 1, 1, "job", {}, 0.0);
  Finish(job, "completed", "", "");
  return Step::kDone;
}

}  // namespace cortex::ingest
