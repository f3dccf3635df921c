#include "ingest/ingest_service.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <map>

#include "ingest/job_view.h"
#include "ingest/multipart.h"

namespace cortex::ingest {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

net::HttpResponse JsonReply(http::status status, const json::value& body) {
  net::HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json");
  r.body() = json::serialize(body);
  r.prepare_payload();
  return r;
}

net::HttpResponse ErrorReply(http::status status, std::string_view message, std::string_view type,
                             std::string_view code) {
  net::HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json");
  r.body() = net::OpenAiErrorBody(message, type, code);
  r.prepare_payload();
  return r;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> QueryParams(std::string_view target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    out[PercentDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Content types a raw archive body may have: those of the formats libarchive reads, and
// application/octet-stream (curl --data-binary with no type, most upload tools).
bool IsArchiveType(std::string_view media) {
  static const char* const kTypes[] = {"application/zip",
                                       "application/x-zip-compressed",
                                       "application/x-tar",
                                       "application/gzip",
                                       "application/x-gzip",
                                       "application/x-gtar",
                                       "application/zstd",
                                       "application/x-zstd",
                                       "application/x-xz",
                                       "application/x-bzip2",
                                       "application/x-7z-compressed",
                                       "application/octet-stream",
                                       "application/x-compressed-tar"};
  for (const char* t : kTypes) {
    if (media == t) return true;
  }
  return false;
}

std::string HumanBytes(uint64_t n) {
  if (n >= (1ull << 30) && n % (1ull << 30) == 0) return fmt::format("{} GiB", n >> 30);
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} bytes", n);
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

// The fields of a submission, from the query or from multipart fields.
struct Submission {
  std::string prompt, lane, strategy, metadata, max_tokens, upload_name;
};

}  // namespace

StatusOr<std::unique_ptr<IngestService>> IngestService::Open(RunnerEnv env) {
  std::error_code ec;
  fs::create_directories(fs::path(env.dir) / "jobs", ec);
  if (ec) {
    return Status::IoError(fmt::format("cannot create ingest.dir {}: {}", env.dir, ec.message()));
  }
  auto store = JobStore::Open((fs::path(env.dir) / "jobs.db").string());
  if (!store.ok()) return store.status();
  return std::unique_ptr<IngestService>(new IngestService(std::move(env), std::move(*store)));
}

IngestService::IngestService(RunnerEnv env, std::unique_ptr<JobStore> store)
    : env_(std::move(env)), store_(std::move(store)) {}

IngestService::~IngestService() {
  StopRunner();
}

void IngestService::StartRunner(uint16_t gateway_port) {
  if (runner_) return;
  RunnerEnv env = env_;
  env.gateway_port = gateway_port;
  runner_ = std::make_unique<JobRunner>(std::move(env), store_.get());
  runner_->Start();
}

void IngestService::RequestStopRunner() {
  if (runner_) runner_->RequestStop();
}

void IngestService::StopRunner() {
  if (runner_) runner_->Stop();
}

json::array IngestService::RecentJobs(size_t limit) const {
  json::array jobs;
  for (const JobRecord& job : store_->ListJobs(static_cast<int>(limit), "")) {
    jobs.push_back(JobObject(job));
  }
  return jobs;
}

int IngestService::BurstRetryAfterSeconds() const {
  if (!runner_ || !runner_->HoldsBurst()) return 0;
  return std::max(1, runner_->RunningEtaSeconds());
}

asio::awaitable<void> IngestService::HandleIngest(net::HttpRequest& req, net::Responder& res) {
  const std::string_view target = req.target();
  std::string path(target.substr(0, target.find('?')));
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  const auto verb = req.method();
  if (path == "/v1/ingest") {
    if (verb == http::verb::post) {
      co_await Upload(req, res);
      co_return;
    }
    if (verb == http::verb::get) {
      auto q = QueryParams(target);
      int limit = 20;
      if (auto it = q.find("limit"); it != q.end())
        limit = std::clamp(std::atoi(it->second.c_str()), 1, 100);
      const std::vector<JobRecord> jobs = store_->ListJobs(limit + 1, q["after"]);
      json::array data;
      for (size_t i = 0; i < jobs.size() && i < static_cast<size_t>(limit); ++i) {
        data.push_back(JobObject(jobs[i]));
      }
      json::object body{{"object", "list"}, {"has_more", jobs.size() > static_cast<size_t>(limit)}};
      body["first_id"] = data.empty() ? json::value(nullptr) : data.front().at("id");
      body["last_id"] = data.empty() ? json::value(nullptr) : data.back().at("id");
      body["data"] = std::move(data);
      {
        net::HttpResponse reply_ = JsonReply(http::status::ok, body);
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    {
      net::HttpResponse reply_ = ErrorReply(http::status::method_not_allowed,
                                            "use POST to submit a job or GET to list them",
                                            "invalid_request_error", "method_not_allowed");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  // /v1/ingest/{id}[/action]
  const std::string rest = path.substr(std::string_view("/v1/ingest/").size());
  const size_t slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  std::optional<JobRecord> job = store_->GetJob(id);
  if (!job) {
    {
      net::HttpResponse reply_ =
          ErrorReply(http::status::not_found, fmt::format("no ingest job \"{}\"", id),
                     "invalid_request_error", "job_not_found");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (action.empty() && verb == http::verb::get) {
    {
      net::HttpResponse reply_ = JsonReply(http::status::ok, JobObject(*job));
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (action.empty() && verb == http::verb::delete_) {
    if (!IsTerminalStatus(job->status)) {
      {
        net::HttpResponse reply_ =
            ErrorReply(http::status::conflict,
                       fmt::format("job {} is {}; cancel it first (POST /v1/ingest/{}/cancel)", id,
                                   job->status, id),
                       "invalid_request_error", "job_running");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    std::error_code ec;
    fs::remove_all(fs::path(env_.dir) / "jobs" / id, ec);
    store_->DeleteJob(id);
    {
      net::HttpResponse reply_ =
          JsonReply(http::status::ok,
                    json::object{{"id", id}, {"object", "ingest.job.deleted"}, {"deleted", true}});
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (action == "cancel" && verb == http::verb::post) {
    if (!IsTerminalStatus(job->status)) {
      if (runner_) {
        runner_->Cancel(id);
      } else {
        store_->RequestCancel(id);
      }
      job = store_->GetJob(id);
    }
    {
      net::HttpResponse reply_ = JsonReply(http::status::ok, JobObject(*job));
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (action == "result" && verb == http::verb::get) {
    if (job->status != "completed") {
      {
        net::HttpResponse reply_ =
            ErrorReply(http::status::conflict,
                       job->status == "failed"
                           ? fmt::format("job {} failed: {}", id, job->error_message)
                           : fmt::format("job {} is {}; the result comes when it has completed", id,
                                         job->status),
                       "invalid_request_error", "job_not_completed");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    json::array parts;
    for (const JobPart& p : store_->Parts(id)) {
      parts.push_back(json::object{
          {"index", p.index}, {"text", p.result_text}, {"usage", ParseObject(p.usage_json)}});
    }
    {
      net::HttpResponse reply_ =
          JsonReply(http::status::ok, json::object{{"id", id},
                                                   {"object", "ingest.result"},
                                                   {"lane", job->lane},
                                                   {"text", job->result_text},
                                                   {"usage", ParseObject(job->usage_json)},
                                                   {"parts", std::move(parts)}});
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (action == "events" && verb == http::verb::get) {
    co_await Events(req, res, id);
    co_return;
  }
  {
    net::HttpResponse reply_ =
        ErrorReply(http::status::not_found,
                   fmt::format("no route {} {}", std::string(req.method_string()), path),
                   "invalid_request_error", "not_found");
    co_await res.Send(std::move(reply_));
  }
}

asio::awaitable<void> IngestService::Events(net::HttpRequest& req, net::Responder& res,
                                            const std::string& id) {
  int64_t after = 0;
  if (auto last = req["Last-Event-ID"]; !last.empty()) {
    after = std::atoll(std::string(last).c_str());
  } else if (auto q = QueryParams(req.target()); q.count("after")) {
    after = std::atoll(q["after"].c_str());
  }
  http::response_header<> header;
  header.set(http::field::content_type, "text/event-stream");
  header.set(http::field::cache_control, "no-cache");
  if (!co_await res.StartChunked(std::move(header), http::status::ok)) co_return;
  auto quiet_since = std::chrono::steady_clock::now();
  for (;;) {
    const std::optional<JobRecord> job = store_->GetJob(id);
    const std::vector<JobEvent> events = store_->Events(id, after, 200);
    std::string out;
    for (const JobEvent& e : events) {
      out += fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.seq, e.type, e.data_json);
      after = e.seq;
    }
    if (!out.empty()) {
      if (!co_await res.WriteChunk(out)) co_return;
      quiet_since = std::chrono::steady_clock::now();
    }
    // The job read before the events: when it was terminal then, every event is now sent.
    if (!job || (IsTerminalStatus(job->status) && events.size() < 200)) break;
    if (std::chrono::steady_clock::now() - quiet_since > 15s) {
      if (!co_await res.WriteChunk(std::string_view(kKeepAlive))) co_return;
      quiet_since = std::chrono::steady_clock::now();
    }
    if (events.size() < 200 && !co_await res.Sleep(250ms)) co_return;
  }
  co_await res.FinishChunked();
}

asio::awaitable<void> IngestService::Upload(net::HttpRequest& req, net::Responder& res) {
  const IngestConfig& ic = env_.config.ingest;
  const std::string content_type(req[http::field::content_type]);
  const std::string media = Lower(content_type.substr(0, content_type.find(';')));
  std::optional<std::string> boundary = MultipartBoundary(content_type);
  auto media_trimmed = media;
  while (!media_trimmed.empty() && media_trimmed.back() == ' ')
    media_trimmed.pop_back();
  if (!boundary && !IsArchiveType(media_trimmed)) {
    res.CloseAfterResponse();
    {
      net::HttpResponse reply_ = ErrorReply(
          http::status::unsupported_media_type,
          fmt::format("POST /v1/ingest takes an archive (Content-Type application/zip, "
                      "application/x-tar, application/gzip, application/zstd, application/x-xz, "
                      "application/octet-stream) or multipart/form-data with a \"file\" part; got "
                      "\"{}\"",
                      content_type),
          "invalid_request_error", "unsupported_media_type");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  const std::string length_field(req[http::field::content_length]);
  if (const uint64_t len = std::strtoull(length_field.c_str(), nullptr, 10);
      len > ic.max_upload_bytes) {
    res.CloseAfterResponse();
    {
      net::HttpResponse reply_ =
          ErrorReply(http::status::payload_too_large,
                     fmt::format("the upload is {} bytes, over ingest.max_upload ({})", len,
                                 HumanBytes(ic.max_upload_bytes)),
                     "invalid_request_error", "upload_too_large");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  Submission sub;
  {
    auto q = QueryParams(req.target());
    sub.prompt = q["prompt"];
    sub.lane = q["lane"];
    sub.strategy = q["strategy"];
    sub.metadata = q["metadata"];
    sub.max_tokens = q["max_tokens"];
    sub.upload_name = q["name"];
  }

  const std::string id = NewJobId();
  const fs::path dir = fs::path(env_.dir) / "jobs" / id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string upload = (dir / "upload").string();
  std::unique_ptr<std::FILE, FileCloser> file(ec ? nullptr : std::fopen(upload.c_str(), "wb"));
  auto discard = [&] {
    file.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  };
  if (!file) {
    discard();
    {
      net::HttpResponse reply_ =
          ErrorReply(http::status::internal_server_error,
                     fmt::format("cannot store the upload under {}", dir.string()), "server_error",
                     "storage_error");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  uint64_t file_bytes = 0;
  auto write = [&](std::string_view data) -> Status {
    if (data.empty()) return Status::Ok();
    if (std::fwrite(data.data(), 1, data.size(), file.get()) != data.size()) {
      return Status::IoError("cannot write the upload to disk (disk full?)");
    }
    file_bytes += data.size();
    return Status::Ok();
  };
  std::optional<MultipartReader> multipart;
  std::string field_name, field_value;
  bool in_file = false, saw_file = false;
  if (boundary) {
    MultipartReader::Callbacks cb;
    cb.on_part = [&](const MultipartPartHeaders& h) -> Status {
      field_name = h.name;
      field_value.clear();
      in_file = h.name == "file";
      if (in_file) {
        if (saw_file) return Status::InvalidArgument("more than one \"file\" part");
        saw_file = true;
        if (sub.upload_name.empty()) sub.upload_name = h.filename;
      }
      return Status::Ok();
    };
    cb.on_data = [&](std::string_view data) -> Status {
      if (in_file) return write(data);
      if (field_value.size() + data.size() > (1u << 20)) {
        return Status::InvalidArgument(fmt::format("field \"{}\" is over 1 MiB", field_name));
      }
      field_value.append(data);
      return Status::Ok();
    };
    cb.on_part_end = [&]() -> Status {
      if (field_name == "prompt") sub.prompt = field_value;
      if (field_name == "lane" || field_name == "model") sub.lane = field_value;
      if (field_name == "strategy") sub.strategy = field_value;
      if (field_name == "metadata") sub.metadata = field_value;
      if (field_name == "max_tokens") sub.max_tokens = field_value;
      in_file = false;
      return Status::Ok();
    };
    multipart.emplace(*boundary, std::move(cb));
  }
  auto body = co_await res.ReadBody(
      [&](std::string_view piece) { return multipart ? multipart->Feed(piece) : write(piece); },
      ic.max_upload_bytes, 60s);
  Status finish = body.ok() ? (multipart ? multipart->Finish() : Status::Ok()) : body.status();
  if (finish.ok() && std::fflush(file.get()) != 0)
    finish = Status::IoError("cannot write the upload");
  if (!finish.ok()) {
    discard();
    if (body.ok() || body.status().code() != Status::Code::kIoError || !res.client_gone()) {
      const bool too_large = !body.ok() && body.status().code() == Status::Code::kOutOfRange;
      res.CloseAfterResponse();
      {
        net::HttpResponse reply_ =
            too_large ? ErrorReply(http::status::payload_too_large,
                                   fmt::format("the upload is over ingest.max_upload ({}); nothing "
                                               "was kept",
                                               HumanBytes(ic.max_upload_bytes)),
                                   "invalid_request_error", "upload_too_large")
                      : ErrorReply(http::status::bad_request,
                                   "the upload could not be read: " + finish.message(),
                                   "invalid_request_error", "bad_upload");
        co_await res.Send(std::move(reply_));
      }
    }
    co_return;
  }
  // Checks that need the fields (multipart sends them after the header).
  std::string problem;
  std::string lane;
  if (!sub.lane.empty()) {
    const LaneConfig* l = env_.config.FindLane(sub.lane);
    if (l == nullptr) {
      std::string known;
      for (const LaneConfig& c : env_.config.lanes)
        known += (known.empty() ? "" : ", ") + c.name;
      discard();
      {
        net::HttpResponse reply_ = ErrorReply(
            http::status::not_found, fmt::format("no lane \"{}\" (lanes: {})", sub.lane, known),
            "invalid_request_error", "model_not_found");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    lane = l->name;
  }
  if (!sub.strategy.empty() && sub.strategy != "auto" && sub.strategy != "whole" &&
      sub.strategy != "split") {
    problem = fmt::format("strategy must be auto, whole or split, not \"{}\"", sub.strategy);
  }
  json::object request{{"prompt", sub.prompt}, {"lane", lane}};
  if (!sub.strategy.empty()) request["strategy"] = sub.strategy;
  if (!sub.max_tokens.empty()) {
    char* end = nullptr;
    const long long n = std::strtoll(sub.max_tokens.c_str(), &end, 10);
    if (end == sub.max_tokens.c_str() || *end != '\0' || n <= 0 || n > 1'000'000) {
      problem = fmt::format("max_tokens must be a whole number from 1 to 1000000, not \"{}\"",
                            sub.max_tokens);
    } else {
      request["max_tokens"] = n;
    }
  }
  if (!sub.metadata.empty()) {
    json::error_code jec;
    json::value m = json::parse(sub.metadata, jec);
    if (jec || !m.is_object()) {
      problem = "metadata must be a JSON object";
    } else {
      request["metadata"] = std::move(m);
    }
  }
  if (boundary && !saw_file) problem = "the multipart body has no \"file\" part";
  if (problem.empty() && file_bytes == 0) problem = "the upload is empty";
  if (!problem.empty()) {
    discard();
    {
      net::HttpResponse reply_ = ErrorReply(http::status::bad_request, problem,
                                            "invalid_request_error", "invalid_request");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  file.reset();
  request["upload_name"] = sub.upload_name;
  request["upload_bytes"] = file_bytes;
  request["content_type"] = boundary ? "multipart/form-data" : media_trimmed;

  JobRecord rec;
  rec.id = id;
  rec.status = "queued";
  rec.created_at = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  rec.lane = lane;
  rec.request_json = json::serialize(request);
  rec.state_json = json::serialize(json::object{{"input", json::object{{"bytes", file_bytes}}},
                                                {"progress", json::object{{"stage", "queued"},
                                                                          {"done", file_bytes},
                                                                          {"total", file_bytes},
                                                                          {"unit", "bytes"},
                                                                          {"rate", nullptr},
                                                                          {"eta_s", nullptr}}}});
  auto created = store_->CreateJob(
      rec, json::serialize(json::object{{"status", "queued"}, {"upload_bytes", file_bytes}}));
  if (!created.ok()) {
    discard();
    {
      net::HttpResponse reply_ =
          ErrorReply(http::status::internal_server_error, created.status().message(),
                     "server_error", "storage_error");
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (runner_) runner_->Wake();
  net::HttpResponse reply = JsonReply(http::status::accepted, JobObject(rec));
  reply.set(http::field::location, "/v1/ingest/" + id);
  co_await res.Send(std::move(reply));
}

}  // namespace cortex::ingest
