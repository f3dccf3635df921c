#include "cli/ingest_commands.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/config_path.h"
#include "config/config_loader.h"
#include "deploy/engine_models.h"
#include "gateway/sse.h"
#include "ingest/archive_reader.h"
#include "ingest/lane_targets.h"
#include "ingest/packer.h"
#include "ingest/tar_writer.h"
#include "ingest/token_counter.h"
#include "net/http_client.h"

namespace cortex::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;

std::string Human(uint64_t n) {
  if (n >= (10ull << 30)) return fmt::format("{:.1f} GiB", n / double(1ull << 30));
  if (n >= (10ull << 20)) return fmt::format("{:.1f} MiB", n / double(1ull << 20));
  if (n >= (10ull << 10)) return fmt::format("{:.1f} KiB", n / double(1ull << 10));
  return fmt::format("{} B", n);
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string SkipSummary(const ingest::PackStats& stats) {
  std::string out;
  for (size_t i = 0; i < ingest::kSkipReasonCount; ++i) {
    if (stats.skipped[i] == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", stats.skipped[i],
                       ingest::SkipReasonName(static_cast<ingest::SkipReason>(i)));
  }
  return out.empty() ? "none" : out;
}

std::string TempPath(std::string_view what) {
  const char* tmp = std::getenv("TMPDIR");
  return fmt::format("{}/cortex-{}-{}-{}", tmp && *tmp ? tmp : "/tmp", what, getpid(),
                     std::chrono::steady_clock::now().time_since_epoch().count());
}

// ---- cortex pack ----

int PackTo(const PackCommandOptions& o, const std::string& out_path, ingest::PackStats* stats) {
  ingest::PackOptions options;
  std::error_code ec;
  Status s;
  if (fs::is_directory(o.input, ec)) {
    s = ingest::PackDirectory(o.input, options, out_path, stats);
  } else if (fs::exists(o.input, ec)) {
    ingest::ArchiveLimits limits;  // the defaults of ingest.*
    const std::string config_path = ConfigPath(o.config_path);
    if (!config_path.empty()) {
      if (auto config = LoadConfig(config_path); config.ok()) {
        limits.max_total_bytes = config->ingest.max_unpacked_bytes;
        limits.max_entries = config->ingest.max_entries;
        limits.max_entry_bytes = config->ingest.max_entry_bytes;
        limits.max_ratio = config->ingest.max_ratio;
        options.max_file_bytes = config->ingest.max_file_bytes;
      }
    }
    s = ingest::PackArchive(o.input, limits, options, out_path, out_path + ".spool", stats);
  } else {
    std::fprintf(stderr, "cortex pack: %s: no such file or directory\n", o.input.c_str());
    return 2;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "cortex pack: %s: %s\n", o.input.c_str(), s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void AddPackOptions(CLI::App& app, PackCommandOptions& options) {
  app.add_option("input", options.input, "a directory or an archive (zip, tar, tar.gz, ...)")
      ->required();
  app.add_option("-o,--output", options.output, "write the packed text here (default: stdout)");
  app.add_flag("--json", options.json,
               "print what was packed and left out as JSON on stdout (the text goes to -o)");
  app.add_option("--lane", options.lane,
                 "count exact tokens with this lane's engine (needs cortex up running)");
  app.add_option("-c,--config", options.config_path,
                 "deployment config for --lane and the ingest limits");
}

int RunPack(const PackCommandOptions& o) {
  const bool to_stdout = o.output.empty();
  const std::string out_path = to_stdout ? TempPath("pack") : o.output;
  ingest::PackStats stats;
  if (int rc = PackTo(o, out_path, &stats); rc != 0) {
    if (to_stdout) std::remove(out_path.c_str());
    return rc;
  }
  std::optional<uint64_t> tokens;
  std::string token_note;
  if (!o.lane.empty()) {
    const std::string path = ConfigPathOrDemo(o.config_path);
    StatusOr<Config> config = Status::NotFound("no config");
    if (path.empty()) {
      token_note = "no config: tokens estimated from bytes";
    } else {
      config = LoadConfig(path);
    }
    if (config.ok()) {
      const auto lanes = ingest::LaneTargets(*config, ResolveEngineModels(*config));
      const ingest::LaneTarget* target = nullptr;
      for (const auto& t : lanes) {
        if (t.lane == o.lane) target = &t;
      }
      if (target == nullptr) {
        std::fprintf(stderr, "cortex pack: no lane \"%s\" in %s\n", o.lane.c_str(), path.c_str());
        if (to_stdout) std::remove(out_path.c_str());
        return 2;
      }
      ingest::TokenizeEndpoint ep{target->host, target->port, target->vllm_wire,
                                  target->served_name, target->slots};
      auto n = ingest::CountFileTokens(ep, out_path);
      if (n.ok()) {
        tokens = *n;
      } else {
        token_note = "tokens estimated from bytes: " + n.status().message();
      }
    } else if (token_note.empty()) {
      token_note = "tokens estimated from bytes: " + config.status().message();
    }
  }
  const uint64_t estimate = ingest::EstimateTokensFromBytes(stats.output_bytes);
  if (o.json) {
    json::object skipped;
    for (size_t i = 0; i < ingest::kSkipReasonCount; ++i) {
      if (stats.skipped[i] > 0) {
        skipped[ingest::SkipReasonName(static_cast<ingest::SkipReason>(i))] = stats.skipped[i];
      }
    }
    json::array examples;
    for (const auto& [p, r] : stats.skip_examples) {
      examples.push_back(json::object{{"path", p}, {"reason", ingest::SkipReasonName(r)}});
    }
    json::array files;
    for (const auto& f : stats.files) {
      files.push_back(json::object{{"path", f.path}, {"offset", f.offset}, {"length", f.length}});
    }
    json::object out{{"input", o.input},
                     {"output", to_stdout ? json::value(nullptr) : json::value(o.output)},
                     {"entries", stats.entries},
                     {"files_seen", stats.files_seen},
                     {"files_packed", stats.files_packed},
                     {"files_skipped", skipped},
                     {"skipped_examples", examples},
                     {"content_bytes", stats.content_bytes},
                     {"output_bytes", stats.output_bytes},
                     {"tokens", tokens ? *tokens : estimate},
                     {"tokens_exact", tokens.has_value()},
                     {"files", files}};
    if (!token_note.empty()) out["tokens_note"] = token_note;
    std::printf("%s\n", json::serialize(out).c_str());
  } else if (to_stdout) {
    std::ifstream in(out_path, std::ios::binary);
    std::string buf(1 << 16, '\0');
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      std::fwrite(buf.data(), 1, static_cast<size_t>(in.gcount()), stdout);
    }
    std::fflush(stdout);
  }
  if (to_stdout) std::remove(out_path.c_str());
  std::fprintf(
      stderr, "cortex pack: %llu files packed (%s), left out: %s; %s tokens%s\n",
      static_cast<unsigned long long>(stats.files_packed), Human(stats.output_bytes).c_str(),
      SkipSummary(stats).c_str(),
      tokens ? fmt::format("{}", *tokens).c_str() : fmt::format("about {}", estimate).c_str(),
      tokens ? fmt::format(" (exact, lane {})", o.lane).c_str()
             : (token_note.empty() ? " (estimated from bytes; --lane counts exactly)"
                                   : " (" + token_note + ")")
                   .c_str());
  return 0;
}

// ---- cortex ingest ----

namespace {

// POSTs the file at `path` as the body, streaming it (an upload may be far larger than memory),
// with a progress line on stderr. Returns the answer.
StatusOr<net::BlockingHttpResult> Upload(const GatewayEndpoint& ep, const std::string& target,
                                         const std::string& path, const std::string& content_type,
                                         bool show_progress) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code bec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(ep.host, std::to_string(ep.port), bec);
  if (bec) return Status::IoError(fmt::format("{}:{}: {}", ep.host, ep.port, bec.message()));
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(endpoints, bec);
  if (bec) {
    return Status::IoError(fmt::format("cannot reach cortex up at {}:{} ({}); is it running?",
                                       ep.host, ep.port, bec.message()));
  }
  http::request<http::empty_body> req{http::verb::post, target, 11};
  req.set(http::field::host, ep.host);
  req.set(http::field::content_type, content_type);
  req.set(http::field::content_length, std::to_string(size));
  if (!ep.api_key.empty()) req.set(http::field::authorization, "Bearer " + ep.api_key);
  http::request_serializer<http::empty_body> sr{req};
  stream.expires_after(std::chrono::seconds(30));
  http::write_header(stream, sr, bec);
  if (bec) return Status::IoError("sending the upload: " + bec.message());
  std::string buf(1 << 20, '\0');
  uint64_t sent = 0;
  const auto started = std::chrono::steady_clock::now();
  auto last = started;
  beast::flat_buffer rbuf;
  while (sent < size) {
    in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(buf.size(), size - sent)));
    const size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) return Status::IoError(path + " shrank while it was uploaded");
    stream.expires_after(std::chrono::seconds(60));
    asio::write(stream, asio::buffer(buf.data(), n), bec);
    if (bec) break;  // the server may have answered early (413): read its answer below
    sent += n;
    const auto now = std::chrono::steady_clock::now();
    if (show_progress && (now - last > std::chrono::milliseconds(250) || sent == size)) {
      last = now;
      const double s = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "\r  uploading  %s of %s  %s/s   ", Human(sent).c_str(),
                   Human(size).c_str(), Human(static_cast<uint64_t>(s > 0 ? sent / s : 0)).c_str());
    }
  }
  if (show_progress) std::fprintf(stderr, "\n");
  http::response<http::string_body> res;
  stream.expires_after(std::chrono::seconds(120));
  http::read(stream, rbuf, res, bec);
  if (bec) return Status::IoError("reading the answer to the upload: " + bec.message());
  net::BlockingHttpResult out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  return out;
}

std::string ContentTypeFor(const std::string& path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".zip")) return "application/zip";
  if (ends(".tar")) return "application/x-tar";
  if (ends(".gz") || ends(".tgz")) return "application/gzip";
  if (ends(".zst") || ends(".tzst")) return "application/zstd";
  if (ends(".xz") || ends(".txz")) return "application/x-xz";
  if (ends(".7z")) return "application/x-7z-compressed";
  return "application/octet-stream";
}

StatusOr<net::BlockingHttpResult> Request(const GatewayEndpoint& ep, const std::string& method,
                                          const std::string& target) {
  net::BlockingHttpRequest req;
  req.method = method;
  req.target = target;
  if (!ep.api_key.empty()) req.headers["Authorization"] = "Bearer " + ep.api_key;
  req.timeout = std::chrono::milliseconds(30'000);
  auto res = net::BlockingHttp(ep.host, ep.port, req);
  if (!res.ok()) {
    return Status::IoError(fmt::format("cannot reach cortex up at {}:{} ({}); is it running?",
                                       ep.host, ep.port, res.status().message()));
  }
  return res;
}

std::string Get(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::string ProgressLine(const json::object& p) {
  const std::string stage = Get(p, "stage");
  const std::string unit = Get(p, "unit");
  std::string line = fmt::format("{:<18}", stage);
  const std::string done = Get(p, "done"), total = Get(p, "total");
  if (!done.empty()) {
    line += (total.empty() || total == "0") ? fmt::format(" {} {}", done, unit)
                                            : fmt::format(" {} of {} {}", done, total, unit);
  }
  if (const std::string rate = Get(p, "rate"); !rate.empty()) line += fmt::format("  {}/s", rate);
  if (const std::string eta = Get(p, "eta_s"); !eta.empty()) line += fmt::format("  ETA {} s", eta);
  return line;
}

// The job id Ctrl-C's message names (a signal handler may only write what is ready).
char g_interrupt_message[512];

void OnInterrupt(int) {
  const ssize_t ignored = write(2, g_interrupt_message, std::strlen(g_interrupt_message));
  (void)ignored;
  _exit(130);
}

// Follows the job's events until it ends; returns the exit code.
int Follow(const GatewayEndpoint& ep, const std::string& id, bool tty) {
  std::snprintf(g_interrupt_message, sizeof g_interrupt_message,
                "\ncortex ingest: stopped following; job %s keeps running (cortex jobs show %s, "
                "cortex jobs cancel %s)\n",
                id.c_str(), id.c_str(), id.c_str());
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  std::string last_status;
  int64_t last_seq = 0;
  for (int reconnects = 0; reconnects < 100; ++reconnects) {
    net::BlockingHttpRequest req;
    req.target = fmt::format("/v1/ingest/{}/events", id);
    if (!ep.api_key.empty()) req.headers["Authorization"] = "Bearer " + ep.api_key;
    if (last_seq > 0) req.headers["Last-Event-ID"] = std::to_string(last_seq);
    req.timeout = std::chrono::milliseconds(60'000);
    gateway::SseSplitter splitter;
    std::vector<std::string> events;
    bool terminal = false;
    auto res = net::BlockingHttp(ep.host, ep.port, req, [&](std::string_view piece) {
      events.clear();
      splitter.Feed(piece, &events);
      for (const std::string& ev : events) {
        std::string type, data;
        std::istringstream lines(ev);
        for (std::string line; std::getline(lines, line);) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.rfind("id: ", 0) == 0) last_seq = std::atoll(line.c_str() + 4);
          if (line.rfind("event: ", 0) == 0) type = line.substr(7);
          if (line.rfind("data: ", 0) == 0) data = line.substr(6);
        }
        json::error_code ec;
        json::value v = json::parse(data, ec);
        if (ec || !v.is_object()) continue;
        const json::object& o = v.as_object();
        if (type == "progress") {
          if (tty) std::fprintf(stderr, "\r  %-70s", ProgressLine(o).c_str());
          continue;
        }
        if (tty) std::fprintf(stderr, "\r%-74s\r", "");
        if (type == "status") {
          last_status = Get(o, "status");
          std::string extra = Get(o, "message");
          if (const auto* e = o.if_contains("error"); e && e->is_object()) {
            extra = Get(e->as_object(), "code") + ": " + Get(e->as_object(), "message");
          }
          std::fprintf(stderr, "  %-18s %s\n", last_status.c_str(), extra.c_str());
          if (last_status == "completed" || last_status == "failed" || last_status == "cancelled") {
            terminal = true;
          }
        } else if (type == "plan") {
          std::fprintf(stderr, "  %-18s lane %s, %s tokens, %s\n", "plan", Get(o, "lane").c_str(),
                       Get(o, "prompt_tokens").c_str(), Get(o, "why").c_str());
        } else if (type == "log" || type == "restart") {
          std::fprintf(stderr, "  %-18s %s\n", type.c_str(), Get(o, "message").c_str());
        } else if (type == "burst") {
          std::fprintf(stderr, "  %-18s %s %s\n", "burst", Get(o, "on") == "true" ? "on" : "off",
                       Get(o, "engine").c_str());
        } else if (type == "part") {
          std::fprintf(stderr, "  %-18s %s of %s done\n", "part",
                       std::to_string(std::atoll(Get(o, "index").c_str()) + 1).c_str(),
                       Get(o, "parts").c_str());
        }
      }
      return !terminal;
    });
    if (terminal ||
        (res.ok() && res->status == 200 && !last_status.empty() &&
         (last_status == "completed" || last_status == "failed" || last_status == "cancelled"))) {
      break;
    }
    if (res.ok() && res->status != 200) {
      std::fprintf(stderr, "cortex ingest: %s\n", net::OpenAiErrorMessage(res->body).c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // cortex up restarting: reconnect
  }
  signal(SIGINT, SIG_DFL);
  if (last_status == "completed") {
    auto r = Request(ep, "GET", fmt::format("/v1/ingest/{}/result", id));
    if (!r.ok() || r->status != 200) {
      std::fprintf(
          stderr, "cortex ingest: %s\n",
          r.ok() ? net::OpenAiErrorMessage(r->body).c_str() : r.status().message().c_str());
      return 1;
    }
    json::error_code ec;
    const json::value v = json::parse(r->body, ec);
    if (!ec && v.is_object()) {
      std::printf("%s\n", Get(v.as_object(), "text").c_str());
      std::fprintf(stderr, "  usage %s\n", Get(v.as_object(), "usage").c_str());
    }
    return 0;
  }
  return 1;
}

}  // namespace

void AddIngestOptions(CLI::App& app, IngestCommandOptions& options) {
  app.add_option("input", options.input, "a directory (sent as a tar stream) or an archive")
      ->required();
  app.add_option("--lane", options.lane, "the lane to analyse with (default: routed by size)");
  app.add_option("--prompt", options.prompt, "what to ask about the tree");
  app.add_option("--prompt-file", options.prompt_file, "read the prompt from this file");
  app.add_option("--max-tokens", options.max_tokens, "analysis tokens (default ingest.max_tokens)");
  app.add_option("--strategy", options.strategy, "auto (default), whole or split");
  app.add_flag("--follow", options.follow,
               "show live progress and print the result (default on a terminal)");
  app.add_flag("--no-follow", options.no_follow, "print the job id and return at once");
  AddTarget(app, options.target);
}

int RunIngest(const IngestCommandOptions& o) {
  auto ep = ResolveGateway(o.target);
  if (!ep.ok()) {
    std::fprintf(stderr, "cortex ingest: %s\n", ep.status().message().c_str());
    return 2;
  }
  std::string prompt = o.prompt;
  if (!o.prompt_file.empty()) {
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cortex ingest: cannot read %s\n", o.prompt_file.c_str());
      return 2;
    }
    std::ostringstream s;
    s << in.rdbuf();
    prompt = s.str();
  }
  const bool tty = isatty(2) != 0;
  const bool follow = o.no_follow ? false : (o.follow || isatty(1) != 0);
  std::error_code ec;
  std::string upload = o.input;
  std::string content_type = ContentTypeFor(o.input);
  std::string temp;
  if (fs::is_directory(o.input, ec)) {
    ingest::PackStats stats;
    auto files = ingest::ListDirectory(o.input, ingest::PackOptions{}, &stats);
    if (!files.ok()) {
      std::fprintf(stderr, "cortex ingest: %s\n", files.status().message().c_str());
      return 1;
    }
    temp = TempPath("upload") + ".tar";
    if (Status s = ingest::WriteTar(o.input, *files, temp); !s.ok()) {
      std::remove(temp.c_str());
      std::fprintf(stderr, "cortex ingest: %s\n", s.message().c_str());
      return 1;
    }
    std::fprintf(stderr, "cortex ingest: %zu files of %s as a tar stream (%s ignored here)\n",
                 files->size(), o.input.c_str(), SkipSummary(stats).c_str());
    upload = temp;
    content_type = "application/x-tar";
  } else if (!fs::exists(o.input, ec)) {
    std::fprintf(stderr, "cortex ingest: %s: no such file or directory\n", o.input.c_str());
    return 2;
  }
  std::string target = "/v1/ingest?name=" + PercentEncode(fs::path(o.input).filename().string());
  if (!o.lane.empty()) target += "&lane=" + PercentEncode(o.lane);
  if (!prompt.empty()) target += "&prompt=" + PercentEncode(prompt);
  if (o.max_tokens > 0) target += "&max_tokens=" + std::to_string(o.max_tokens);
  if (!o.strategy.empty()) target += "&strategy=" + PercentEncode(o.strategy);
  auto res = Upload(*ep, target, upload, content_type, tty);
  if (!temp.empty()) std::remove(temp.c_str());
  if (!res.ok()) {
    std::fprintf(stderr, "cortex ingest: %s\n", res.status().message().c_str());
    return 1;
  }
  if (res->status != 202) {
    std::fprintf(stderr, "cortex ingest: %d %s\n", res->status,
                 net::OpenAiErrorMessage(res->body).c_str());
    return 1;
  }
  json::error_code jec;
  const json::value job = json::parse(res->body, jec);
  const std::string id = !jec && job.is_object() ? Get(job.as_object(), "id") : "";
  if (id.empty()) {
    std::fprintf(stderr, "cortex ingest: unexpected answer: %s\n", res->body.c_str());
    return 1;
  }
  std::fprintf(stderr, "cortex ingest: job %s queued\n", id.c_str());
  if (!follow) {
    std::printf("%s\n", id.c_str());
    return 0;
  }
  return Follow(*ep, id, tty);
}

// ---- cortex jobs ----

CLI::App* AddJobsCommand(CLI::App& app, JobsCommandOptions& options) {
  CLI::App* jobs = app.add_subcommand("jobs", "Ingest jobs of the running cortex up");
  jobs->add_flag("--json", options.json, "print JSON as the gateway answers it");
  AddTarget(*jobs, options.target);
  for (const char* action : {"show", "cancel", "result"}) {
    CLI::App* sub = jobs->add_subcommand(
        action, std::string(action) == "show"     ? "a job's state, progress and input"
                : std::string(action) == "cancel" ? "stop a job"
                                                  : "a completed job's analysis");
    sub->add_option("id", options.id, "the job id")->required();
    sub->add_flag("--json", options.json, "print JSON as the gateway answers it");
    sub->callback([&options, action] { options.action = action; });
  }
  return jobs;
}

int RunJobs(const JobsCommandOptions& o) {
  auto ep = ResolveGateway(o.target);
  if (!ep.ok()) {
    std::fprintf(stderr, "cortex jobs: %s\n", ep.status().message().c_str());
    return 2;
  }
  std::string method = "GET", target = "/v1/ingest?limit=100";
  if (o.action == "show") target = "/v1/ingest/" + o.id;
  if (o.action == "result") target = "/v1/ingest/" + o.id + "/result";
  if (o.action == "cancel") {
    method = "POST";
    target = "/v1/ingest/" + o.id + "/cancel";
  }
  auto res = Request(*ep, method, target);
  if (!res.ok()) {
    std::fprintf(stderr, "cortex jobs: %s\n", res.status().message().c_str());
    return 1;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "cortex jobs: %s\n", net::OpenAiErrorMessage(res->body).c_str());
    return 1;
  }
  if (o.json) {
    std::printf("%s\n", res->body.c_str());
    return 0;
  }
  json::error_code ec;
  const json::value v = json::parse(res->body, ec);
  if (ec || !v.is_object()) {
    std::printf("%s\n", res->body.c_str());
    return 0;
  }
  const json::object& body = v.as_object();
  if (o.action == "result") {
    std::printf("%s\n", Get(body, "text").c_str());
    return 0;
  }
  auto row = [](const json::object& j) {
    const json::object* p = j.if_contains("progress") && j.at("progress").is_object()
                                ? &j.at("progress").as_object()
                                : nullptr;
    std::printf("%-32s %-18s %-14s %s\n", Get(j, "id").c_str(), Get(j, "status").c_str(),
                Get(j, "lane").c_str(), p ? ProgressLine(*p).c_str() : "");
  };
  if (o.action.empty()) {
    std::printf("%-32s %-18s %-14s %s\n", "ID", "STATUS", "LANE", "PROGRESS");
    if (const auto* d = body.if_contains("data"); d && d->is_array()) {
      for (const json::value& j : d->as_array()) {
        if (j.is_object()) row(j.as_object());
      }
    }
    return 0;
  }
  row(body);
  if (o.action == "show") {
    for (const char* key : {"input", "plan", "error", "burst", "attempts", "restarts"}) {
      const std::string value = Get(body, key);
      if (!value.empty()) std::printf("  %-9s %s\n", key, value.c_str());
    }
  }
  return 0;
}

}  // namespace cortex::cli
