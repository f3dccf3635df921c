// Seismic ingest end to end: `cortex up` on simulated engines, an archive of the repository's
// own src/ uploaded to /v1/ingest, followed through its events to the analysis: unpack, pack,
// exact tokens from the engine, burst on for a prompt only the burst profile holds, prefill and
// generation, burst off; the same tree split into parts; and cortex killed with -9 mid-job and
// started again.
#include <archive.h>
#include <archive_entry.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/sim_harness.h"
#include "model/synthetic_model.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// A zip (or tar) of the files under `root`, written with libarchive in this process.
void WriteArchive(const std::string& root, const std::string& out, bool zip,
                  const std::function<bool(const fs::path&)>& keep = nullptr) {
  archive* a = archive_write_new();
  if (zip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
  }
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && (!keep || keep(e.path()))) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    const std::string content = ReadWholeFile(p.string());
    archive_entry* entry = archive_entry_new();
    const std::string name = "repo/" + fs::relative(p, fs::path(root).parent_path()).string();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, entry);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// A tar of `files` generated files of `bytes` each (a tree that takes a moment to pack).
void WriteGeneratedTar(const std::string& out, int files, size_t bytes) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  std::string content;
  for (size_t i = 0; content.size() < bytes; ++i)
    content += "word" + std::to_string(i % 97) + " ";
  content.resize(bytes);
  for (int i = 0; i < files; ++i) {
    archive_entry* entry = archive_entry_new();
    const std::string name = "gen/d" + std::to_string(i % 50) + "/f" + std::to_string(i) + ".txt";
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, entry);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// `cortex up` over two engines: `deep` (small normal context, a burst profile with a larger one
// that pauses `fast`) and `fast`. Simulated by default: contexts 16384 and 2^21 (the simulator
// holds no KV). With `llama_server`, real llama-server processes on the CPU with contexts 2048
// and 32768, which a small tree overflows and fills.
class IngestDeployment {
 public:
  explicit IngestDeployment(const std::string& deep_flags = "", const std::string& ingest = "",
                            const char* llama_server = nullptr) {
    SyntheticModelSpec spec;
    spec.n_ctx_train = 1 << 21;
    EXPECT_TRUE(WriteSyntheticModel(dir_.File("m.gguf"), spec).ok());
    port_ = PickFreePort();
    auto engine = [&](const std::string& name, int ctx, const std::string& extra,
                      const std::string& more_flags) {
      std::string yaml = "  " + name + ":\n";
      yaml += llama_server == nullptr
                  ? std::string("    engine: sim\n")
                  : "    engine: llama.cpp\n    binary: " + std::string(llama_server) + "\n";
      yaml += "    model: " + dir_.File("m.gguf") +
              "\n    port: " + std::to_string(PickFreePort()) +
              "\n    budget: 4GiB\n    flags: { ctx-size: " + std::to_string(ctx) +
              ", parallel: 1, cache-ram: 0";
      yaml += llama_server == nullptr
                  ? ", flavor: llama.cpp, sim-load-seconds: 0.2, sim-ttft-ms: 20, sim-itl-ms: 2"
                  : ", n-gpu-layers: 0, batch-size: 512, ubatch-size: 512";
      return yaml + more_flags + " }\n" + extra;
    };
    const int deep_ctx = llama_server == nullptr ? 16384 : 2048;
    const int burst_ctx = llama_server == nullptr ? 2097152 : 32768;
    std::ofstream out(dir_.File("cortex.yaml"));
    out << "machine: { memory: 32GiB, gpu_pool: 32GiB, bandwidth: 256GB/s }\n"
        << "engines:\n"
        << engine("deep", deep_ctx,
                  "    profiles:\n      burst: { flags: { ctx-size: " + std::to_string(burst_ctx) +
                      " }, pauses: [fast] }\n",
                  deep_flags)
        << engine("fast", llama_server == nullptr ? 8192 : 2048, "", "")
        << "lanes:\n  reader: { engine: deep }\n  quick: { engine: fast }\n"
        << "gateway: { listen: 127.0.0.1:" << port_ << ", probe_interval: 1 }\n"
        << "supervisor: { log_dir: " << dir_.File("logs") << ", restart_backoff: 0.2 }\n"
        << "ingest: { dir: " << dir_.File("ingest") << ", max_tokens: 64"
        << (ingest.empty() ? "" : ", " + ingest) << " }\n";
  }
  ~IngestDeployment() {
    if (cortex_) cortex_->Stop(5000ms);
  }

  void Up() {
    auto p = Subprocess::Start({CORTEX_BINARY, "up", "-c", dir_.File("cortex.yaml")},
                               dir_.File("cortex-up.log"));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    cortex_ = std::move(*p);
    std::string health;
    ASSERT_TRUE(WaitFor(
        [&] {
          net::BlockingHttpRequest req;
          req.target = "/health/lanes";
          req.timeout = 2s;
          auto r = net::BlockingHttp("127.0.0.1", port_, req);
          if (r.ok()) health = r->body;
          return (r.ok() && r->status == 200) || cortex_->Poll().has_value();
        },
        60s))
        << health << "\n"
        << Log() << "\nfast:\n"
        << ReadWholeFile(dir_.File("logs/fast.log")) << "\nstatus:\n"
        << Http(port_, "GET", "/admin/status").body;
    ASSERT_FALSE(cortex_->Poll().has_value()) << Log();
  }
  void Kill() {
    ::kill(cortex_->pid(), SIGKILL);
    cortex_->Poll();
    WaitFor([&] { return cortex_->Poll().has_value(); }, 10s);
    cortex_.reset();
  }

  std::string Submit(const std::string& archive_path, const std::string& query,
                     const std::string& content_type = "application/zip") {
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/v1/ingest" + query;
    req.body = ReadWholeFile(archive_path);
    req.headers["Content-Type"] = content_type;
    req.timeout = 60s;
    auto sent = net::BlockingHttp("127.0.0.1", port_, req);
    EXPECT_TRUE(sent.ok()) << sent.status().ToString() << " (" << req.body.size() << " bytes)\n"
                           << Log();
    if (!sent.ok()) return "";
    const net::BlockingHttpResult& r = *sent;
    EXPECT_EQ(r.status, 202) << r.body;
    const json::value job = ParseJson(r.body);
    return job.is_object() ? std::string(job.at("id").as_string()) : "";
  }
  json::value Job(const std::string& id) {
    return ParseJson(Http(port_, "GET", "/v1/ingest/" + id, "", {}, 5s).body);
  }
  std::string Status(const std::string& id) {
    const json::value j = Job(id);
    return j.is_object() ? std::string(j.at("status").as_string()) : "";
  }
  bool WaitTerminal(const std::string& id, std::chrono::milliseconds deadline) {
    return WaitFor(
        [&] {
          const std::string s = Status(id);
          return s == "completed" || s == "failed" || s == "cancelled";
        },
        deadline);
  }
  // Every event of the job: (type, data), read from the SSE stream to its end.
  std::vector<std::pair<std::string, json::value>> Events(const std::string& id) {
    auto r = Http(port_, "GET", "/v1/ingest/" + id + "/events", "", {}, 120s);
    std::vector<std::pair<std::string, json::value>> out;
    for (const std::string& ev : SseEvents(r.body)) {
      std::string type;
      json::value data;
      std::istringstream lines(ev);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("event: ", 0) == 0) type = line.substr(7);
        if (line.rfind("data: ", 0) == 0) data = ParseJson(line.substr(6));
      }
      if (!type.empty()) out.emplace_back(type, data);
    }
    return out;
  }
  std::vector<std::string> Statuses(
      const std::vector<std::pair<std::string, json::value>>& events) {
    std::vector<std::string> out;
    for (const auto& [type, data] : events) {
      if (type == "status" && (out.empty() || out.back() != data.at("status").as_string())) {
        out.emplace_back(data.at("status").as_string());
      }
    }
    return out;
  }
  void ExpectLedgerNeverOverPool() {
    const json::value ledger = ParseJson(Http(port_, "GET", "/admin/ledger").body);
    ASSERT_TRUE(ledger.is_object());
    const uint64_t pool = ledger.at("pool_bytes").to_number<uint64_t>();
    for (const json::value& e : ledger.at("events").as_array()) {
      EXPECT_LE(e.at("committed_after").to_number<uint64_t>(), pool) << json::serialize(e);
    }
  }
  std::string Log() { return ReadWholeFile(dir_.File("cortex-up.log")); }
  uint16_t port() const { return port_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Subprocess> cortex_;
};

std::string SourceTreeZip(const TempDir& dir) {
  const std::string zip = dir.File("src.zip");
  WriteArchive(std::string(CORTEX_SOURCE_DIR) + "/src", zip, true);
  return zip;
}

// The index of `s` in `v`, or v.size().
size_t IndexOf(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

TEST(IngestTest, SourceTreeGoesThroughBurstToAnAnalysisObservedThroughEvents) {
  IngestDeployment d;
  ASSERT_NO_FATAL_FAILURE(d.Up());
  const std::string id = d.Submit(SourceTreeZip(d.dir()), "?prompt=Review%20this");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(d.WaitTerminal(id, 180s)) << d.Log();
  const auto events = d.Events(id);
  const std::vector<std::string> statuses = d.Statuses(events);
  ASSERT_EQ(statuses.back(), "completed") << json::serialize(d.Job(id)) << d.Log();
  // Every stage in order.
  const std::vector<std::string> expected = {
      "queued",     "unpacking",  "packing",  "waiting_for_memory",
      "prefilling", "generating", "completed"};
  size_t at = 0;
  for (const std::string& s : expected) {
    const size_t i = IndexOf(statuses, s);
    ASSERT_LT(i, statuses.size()) << "no " << s << " status; job: " << json::serialize(d.Job(id))
                                  << "\nstatuses: " << json::serialize(json::value_from(statuses));
    EXPECT_GE(i, at) << s << " out of order";
    at = i;
  }
  // Burst on before the prefill, off before completion.
  size_t burst_on = events.size(), burst_off = events.size(), prefill = events.size(),
         done = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& [type, data] = events[i];
    if (type == "burst" && data.at("on").as_bool()) burst_on = std::min(burst_on, i);
    if (type == "burst" && !data.at("on").as_bool()) burst_off = i;
    if (type == "status" && data.at("status") == "prefilling") prefill = std::min(prefill, i);
    if (type == "status" && data.at("status") == "completed") done = i;
  }
  EXPECT_LT(burst_on, prefill);
  EXPECT_LT(burst_off, done);
  EXPECT_TRUE(events[burst_off].second.at("ok").as_bool());

  const json::value job = d.Job(id);
  EXPECT_EQ(job.at("object"), "ingest.job");
  EXPECT_EQ(job.at("lane"), "reader");
  EXPECT_TRUE(job.at("burst").as_bool());
  const json::object& input = job.at("input").as_object();
  EXPECT_GT(input.at("files_packed").to_number<int>(), 50);
  EXPECT_TRUE(input.at("tokens_exact").as_bool());
  EXPECT_GT(input.at("tokens").to_number<uint64_t>(), 16384u);
  EXPECT_EQ(job.at("plan").at("strategy"), "whole");

  const json::value result = ParseJson(Http(d.port(), "GET", "/v1/ingest/" + id + "/result").body);
  ASSERT_TRUE(result.is_object());
  EXPECT_FALSE(result.at("text").as_string().empty());
  EXPECT_GT(result.at("usage").at("prompt_tokens").to_number<uint64_t>(),
            input.at("tokens").to_number<uint64_t>());
  // Burst is off again and the other lane serves.
  const json::value status = ParseJson(Http(d.port(), "GET", "/admin/status").body);
  EXPECT_FALSE(status.at("burst").at("active").as_bool());
  d.ExpectLedgerNeverOverPool();
  // The ledger names the job as the reason for both switches.
  const json::value ledger = ParseJson(Http(d.port(), "GET", "/admin/ledger").body);
  int on = 0, off = 0;
  for (const json::value& e : ledger.at("events").as_array()) {
    if (e.at("reason").as_string() == "burst on: ingest job " + id) ++on;
    if (e.at("reason").as_string() == "burst off: ingest job " + id) ++off;
  }
  EXPECT_GE(on, 2) << json::serialize(ledger);
  EXPECT_GE(off, 2) << json::serialize(ledger);
}

TEST(IngestTest, SplitStrategyAnalysesEachPartThenRunsAFinalPass) {
  IngestDeployment d;
  ASSERT_NO_FATAL_FAILURE(d.Up());
  const std::string id = d.Submit(SourceTreeZip(d.dir()), "?strategy=split");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(d.WaitTerminal(id, 240s)) << d.Log();
  const json::value job = d.Job(id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job);
  EXPECT_FALSE(job.at("burst").as_bool());
  const int parts = job.at("plan").at("parts").to_number<int>();
  EXPECT_GE(parts, 2);
  const auto events = d.Events(id);
  int part_events = 0;
  for (const auto& [type, data] : events)
    part_events += type == "part";
  EXPECT_EQ(part_events, parts);
  const json::value result = ParseJson(Http(d.port(), "GET", "/v1/ingest/" + id + "/result").body);
  EXPECT_EQ(static_cast<int>(result.at("parts").as_array().size()), parts);
  EXPECT_EQ(result.at("usage").at("engine_calls").to_number<int>(), parts + 1);
  EXPECT_FALSE(result.at("text").as_string().empty());
}

TEST(IngestTest, KilledWhilePrefillingResumesAfterRestartAndFinishes) {
  // 100,000 prompt tokens per second: the tree (about 1.2M simulator tokens) takes ~12 s.
  IngestDeployment d(", sim-prefill-tps: 100000, ubatch-size: 2048");
  ASSERT_NO_FATAL_FAILURE(d.Up());
  const std::string id = d.Submit(SourceTreeZip(d.dir()), "");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitFor([&] { return d.Status(id) == "prefilling"; }, 120s))
      << json::serialize(d.Job(id)) << d.Log();
  // The lane the burst paused answers at once with the job's remaining time, not after
  // load_wait.
  const auto asked = std::chrono::steady_clock::now();
  auto paused = Http(
      d.port(), "POST", "/v1/chat/completions",
      R"({"model":"quick","messages":[{"role":"user","content":"hi"}],"max_tokens":2})", {}, 30s);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
  EXPECT_EQ(paused.status, 503) << paused.body;
  EXPECT_NE(paused.body.find("ingest job"), std::string::npos) << paused.body;
  const std::string retry_after = paused.header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GT(std::stoi(retry_after), 0);
  d.Kill();
  ASSERT_NO_FATAL_FAILURE(d.Up());
  ASSERT_TRUE(d.WaitTerminal(id, 240s)) << d.Log();
  const json::value job = d.Job(id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << d.Log();
  EXPECT_EQ(job.at("restarts").to_number<int>(), 1);
  EXPECT_GE(job.at("attempts").to_number<int>(), 2);
  bool restart_seen = false;
  int unpacking = 0;
  for (const auto& [type, data] : d.Events(id)) {
    if (type == "restart") {
      restart_seen = true;
      EXPECT_EQ(data.at("stage"), "prefilling");
    }
    if (type == "status" && data.at("status") == "unpacking") ++unpacking;
  }
  EXPECT_TRUE(restart_seen);
  EXPECT_EQ(unpacking, 1) << "the packed prompt was made again after the restart";
}

TEST(IngestTest, KilledWhilePackingRepacksAfterRestartAndFinishes) {
  IngestDeployment d;
  ASSERT_NO_FATAL_FAILURE(d.Up());
  // Many small entries: two passes over 15,000 headers take long enough to be killed in, and
  // the packed tree (about 1.6M simulator tokens) still fits the burst context whole.
  const std::string tar = d.dir().File("gen.tar");
  WriteGeneratedTar(tar, 15000, 40);
  const std::string id = d.Submit(tar, "", "application/x-tar");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string s = d.Status(id);
        return s == "packing" || s == "unpacking";
      },
      60s));
  d.Kill();
  ASSERT_NO_FATAL_FAILURE(d.Up());
  ASSERT_TRUE(d.WaitTerminal(id, 300s)) << d.Log();
  const json::value job = d.Job(id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << d.Log();
  EXPECT_EQ(job.at("input").at("files_packed").to_number<int>(), 15000);
  bool restart_seen = false;
  for (const auto& [type, data] : d.Events(id)) {
    if (type == "restart") {
      restart_seen = true;
      const std::string stage(data.at("stage").as_string());
      EXPECT_TRUE(stage == "packing" || stage == "unpacking") << stage;
    }
  }
  EXPECT_TRUE(restart_seen);
  // Nothing but the job's own files under its directory.
  for (const auto& e : fs::directory_iterator(d.dir().File("ingest/jobs/" + id))) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "upload" || name == "packed.txt" || name == "packed.index") << name;
  }
}

TEST(IngestTest, RefusesOversizedUnknownLaneAndWrongTypeWithClearErrors) {
  IngestDeployment d("", "max_upload: 1MiB");
  ASSERT_NO_FATAL_FAILURE(d.Up());
  auto big = Http(d.port(), "POST", "/v1/ingest", std::string(2 << 20, 'x'),
                  {{"Content-Type", "application/zip"}}, 30s);
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("1 MiB"), std::string::npos) << big.body;
  auto type = Http(d.port(), "POST", "/v1/ingest", "hello", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(type.status, 415) << type.body;
  auto lane =
      Http(d.port(), "POST", "/v1/ingest?lane=nope", "PK", {{"Content-Type", "application/zip"}});
  EXPECT_EQ(lane.status, 404) << lane.body;
  EXPECT_NE(lane.body.find("reader"), std::string::npos) << lane.body;
  auto missing = Http(d.port(), "GET", "/v1/ingest/ingest_000");
  EXPECT_EQ(missing.status, 404);
  // Nothing of the refused uploads stays behind.
  EXPECT_TRUE(fs::is_empty(d.dir().File("ingest/jobs")));
  // Garbage that claims to be a zip becomes a failed job that says why.
  const std::string junk = d.dir().File("junk.zip");
  std::ofstream(junk) << "this is not an archive";
  const std::string id = d.Submit(junk, "");
  ASSERT_TRUE(d.WaitTerminal(id, 30s));
  const json::value job = d.Job(id);
  EXPECT_EQ(job.at("status"), "failed");
  EXPECT_EQ(job.at("error").at("code"), "archive_unreadable");
}

TEST(IngestTest, CancelStopsAJobWhilePrefillingAndFreesTheEngine) {
  IngestDeployment d(", sim-prefill-tps: 2000, ubatch-size: 512");
  ASSERT_NO_FATAL_FAILURE(d.Up());
  const std::string id = d.Submit(SourceTreeZip(d.dir()), "?strategy=split");
  ASSERT_TRUE(WaitFor([&] { return d.Status(id) == "prefilling"; }, 120s)) << d.Log();
  auto r = Http(d.port(), "POST", "/v1/ingest/" + id + "/cancel");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(d.WaitTerminal(id, 30s)) << json::serialize(d.Job(id)) << d.Log();
  EXPECT_EQ(d.Status(id), "cancelled");
  // The lane serves again at once.
  auto chat = Http(
      d.port(), "POST", "/v1/chat/completions",
      R"({"model":"reader","messages":[{"role":"user","content":"hi"}],"max_tokens":2})", {}, 30s);
  EXPECT_EQ(chat.status, 200) << chat.body;
  auto del = Http(d.port(), "DELETE", "/v1/ingest/" + id);
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_FALSE(fs::exists(d.dir().File("ingest/jobs/" + id)));
}

TEST(IngestTest, CancelRestartsAnEngineThatKeepsProcessingAfterTheDisconnect) {
  // Like llama-server today (research E §3.6): closing the connection does not stop the slot.
  IngestDeployment d(", sim-prefill-tps: 2000, ubatch-size: 512, sim-ignore-disconnect: true");
  ASSERT_NO_FATAL_FAILURE(d.Up());
  const std::string id = d.Submit(SourceTreeZip(d.dir()), "?strategy=split");
  ASSERT_TRUE(WaitFor([&] { return d.Status(id) == "prefilling"; }, 120s)) << d.Log();
  EXPECT_EQ(Http(d.port(), "POST", "/v1/ingest/" + id + "/cancel").status, 200);
  ASSERT_TRUE(d.WaitTerminal(id, 60s)) << json::serialize(d.Job(id));
  EXPECT_EQ(d.Status(id), "cancelled");
  bool restarted = false;
  for (const auto& [type, data] : d.Events(id)) {
    if (type == "log" &&
        std::string(data.at("message").as_string()).find("restarted it") != std::string::npos) {
      restarted = true;
    }
  }
  EXPECT_TRUE(restarted);
  // The lane serves again without waiting out the abandoned prefill.
  auto chat = Http(
      d.port(), "POST", "/v1/chat/completions",
      R"({"model":"reader","messages":[{"role":"user","content":"hi"}],"max_tokens":2})", {}, 60s);
  EXPECT_EQ(chat.status, 200) << chat.body;
}

TEST(IngestLlamaServerTest, AJobRunsOnARealLlamaServerWithProgressFromTheEngine) {
  const char* binary = LlamaServerBinary();
  if (binary == nullptr) {
    GTEST_SKIP() << "CORTEX_LLAMA_SERVER is not set: no real llama-server to ingest with";
  }
  IngestDeployment d("", "", binary);
  ASSERT_NO_FATAL_FAILURE(d.Up());
  // A tree larger than deep's normal 2048 tokens and well inside its burst's 32768.
  const std::string tar = d.dir().File("sched.tar");
  WriteArchive(std::string(CORTEX_SOURCE_DIR) + "/src/sched", tar, false,
               [](const fs::path& p) { return p.extension() == ".h"; });
  const std::string id = d.Submit(tar, "?prompt=Summarise", "application/x-tar");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(d.WaitTerminal(id, 600s)) << json::serialize(d.Job(id)) << d.Log();
  const json::value job = d.Job(id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << d.Log();
  EXPECT_TRUE(job.at("input").at("tokens_exact").as_bool())
      << "counted by llama-server's /tokenize";
  EXPECT_TRUE(job.at("burst").as_bool());
  const uint64_t tokens = job.at("input").at("tokens").to_number<uint64_t>();
  EXPECT_GT(tokens, 2048u);

  // Progress the engine itself reported (prompt_progress), one per batch, ending at its total.
  uint64_t last_done = 0, total = 0;
  int ticks = 0;
  for (const auto& [type, data] : d.Events(id)) {
    if (type != "progress" || data.at("stage") != "prefilling") continue;
    const uint64_t done = data.at("done").to_number<uint64_t>();
    EXPECT_GE(done, last_done);
    last_done = done;
    total = data.at("total").to_number<uint64_t>();
    ++ticks;
  }
  EXPECT_GE(ticks, 2);
  EXPECT_EQ(last_done, total);
  EXPECT_GE(total, tokens) << "the engine's prompt holds the packed tree and the instructions";
  const json::value result = ParseJson(Http(d.port(), "GET", "/v1/ingest/" + id + "/result").body);
  EXPECT_EQ(result.at("usage").at("prompt_tokens").to_number<uint64_t>(), total);
  d.ExpectLedgerNeverOverPool();
}

}  // namespace
}  // namespace cortex::testing
