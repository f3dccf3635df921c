// The supervisor end to end: `cortex up` launching real engine processes (`cortex sim`, or a
// real llama-server when CORTEX_LLAMA_SERVER is set), restarting them, swapping them under the
// memory ledger, bursting, and never leaving one behind.
//
// Memory sizes come from the planner itself (`cortex plan --json` on the same config), so the
// pool can be set to "fits normally, not with the burst" without hard-coding the planner's
// numbers here.
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "gateway/sse.h"
#include "integration/sim_harness.h"
#include "model/synthetic_model.h"
#include "support/temp_dir.h"
#include "support/wait_for.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

enum class Engines { kSim, kLlamaServer };

std::string Name(Engines e) {
  return e == Engines::kSim ? "Sim" : "LlamaServer";
}

bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  // A zombie waiting for its new parent (init) to reap it has stopped running.
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// A `cortex up` over engines written into a temporary config.
class Deployment {
 public:
  explicit Deployment(Engines engines) : engines_(engines) {
    SyntheticModelSpec spec;
    spec.n_ctx_train = 1 << 16;
    EXPECT_TRUE(WriteSyntheticModel(dir_.File("m.gguf"), spec).ok());
    gateway_port_ = PickFreePort();
  }
  ~Deployment() {
    if (cortex_) cortex_->Stop(5000ms);
  }

  // A llama.cpp engine: the simulator in its llama.cpp flavor, or a real llama-server.
  std::string LlamaEngine(const std::string& name, uint16_t port, int ctx,
                          const std::string& extra_yaml = "") const {
    std::string yaml = "  " + name + ":\n";
    if (engines_ == Engines::kSim) {
      yaml += "    engine: sim\n";
    } else {
      yaml += "    engine: llama.cpp\n    binary: " + std::string(LlamaServerBinary()) + "\n";
    }
    yaml += "    model: " + dir_.File("m.gguf") + "\n";
    yaml += "    port: " + std::to_string(port) + "\n    budget: BUDGET\n";
    yaml += "    flags: { ctx-size: " + std::to_string(ctx) + ", parallel: 1, cache-ram: 0";
    yaml += engines_ == Engines::kSim
                ? ", flavor: llama.cpp, sim-load-seconds: 0.3, sim-ttft-ms: 20, sim-itl-ms: 5 }\n"
                : ", n-gpu-layers: 0 }\n";
    return yaml + extra_yaml;
  }

  // Writes the config with `memory` as the machine's memory and pool.
  void Write(const std::string& engines_yaml, const std::string& lanes_yaml,
             const std::string& memory = "64GiB", const std::string& supervisor_yaml = "") {
    // Budgets may not exceed the pool; the ledger counts planned bytes, not budgets.
    std::string engines = engines_yaml;
    const std::string budget = memory == "64GiB" ? "1GiB" : memory;
    for (size_t at; (at = engines.find("BUDGET")) != std::string::npos;)
      engines.replace(at, 6, budget);
    std::ofstream out(dir_.File("cortex.yaml"));
    out << "machine: { memory: " << memory << ", gpu_pool: " << memory << ", bandwidth: 256GB/s }\n"
        << "engines:\n"
        << engines << "lanes:\n"
        << lanes_yaml << "gateway: { listen: 127.0.0.1:" << gateway_port_
        << ", probe_interval: 1 }\n"
        << "supervisor: { log_dir: " << dir_.File("logs")
        << ", restart_backoff: 0.2, stop_timeout: 5"
        << (supervisor_yaml.empty() ? "" : ", " + supervisor_yaml) << " }\n";
  }

  // The planned total of each engine under `profile`, from `cortex plan --json`.
  std::map<std::string, uint64_t> PlannedBytes(const std::string& profile) {
    const std::string out = dir_.File("plan-" + profile + ".json");
    auto p = Subprocess::Start(
        {CORTEX_BINARY, "plan", "-c", dir_.File("cortex.yaml"), "--json", "--profile", profile},
        out);
    EXPECT_TRUE(p.ok());
    if (!p.ok()) return {};
    EXPECT_TRUE(WaitFor([&] { return (*p)->Poll().has_value(); }, 60s, "cortex plan to exit"));
    std::map<std::string, uint64_t> bytes;
    const json::value plan = ParseJson(ReadWholeFile(out));
    if (!plan.is_object()) return bytes;
    for (const json::value& e : plan.at("engines").as_array()) {
      if (!e.at("resident").as_bool()) continue;
      bytes[std::string(e.at("name").as_string())] =
          e.at("memory").at("total_bytes").to_number<uint64_t>();
    }
    return bytes;
  }

  // Starts `cortex up` and waits until every engine in `ready` is ready.
  void Up(const std::vector<std::string>& ready) {
    log_ = dir_.File("cortex-up.log");
    std::vector<std::string> argv = launcher_;
    for (const char* arg : {CORTEX_BINARY, "up", "-c"})
      argv.emplace_back(arg);
    argv.push_back(dir_.File("cortex.yaml"));
    auto p = Subprocess::Start(argv, log_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    cortex_ = std::move(*p);
    for (const std::string& e : ready) {
      // A cortex that exited (a config it refused) fails at once rather than after the wait.
      ASSERT_TRUE(WaitFor([&] { return State(e) == "ready" || cortex_->Poll().has_value(); }, 60s,
                          "engine " + e + " to be ready"))
          << ReadWholeFile(log_);
      ASSERT_EQ(State(e), "ready") << e << " not ready; cortex up said:\n"
                                   << ReadWholeFile(log_) << "\nengine log:\n"
                                   << ReadWholeFile(dir_.File("logs/" + e + ".log"));
    }
  }

  json::value Status() {
    net::BlockingHttpRequest req;
    req.target = "/admin/status";
    req.timeout = 5s;
    auto r = net::BlockingHttp("127.0.0.1", gateway_port_, req);
    if (!r.ok() || r->status != 200) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    return ec ? json::value(nullptr) : v;
  }
  json::object Engine(const std::string& name) {
    const json::value s = Status();
    if (!s.is_object()) return {};
    for (const json::value& e : s.at("engines").as_array()) {
      if (e.at("name").as_string() == name) return e.as_object();
    }
    return {};
  }
  std::string State(const std::string& engine) {
    const json::object e = Engine(engine);
    return e.contains("state") ? std::string(e.at("state").as_string()) : "";
  }
  pid_t Pid(const std::string& engine) {
    const json::object e = Engine(engine);
    return e.contains("pid") && e.at("pid").is_number() ? e.at("pid").to_number<pid_t>() : 0;
  }

  StatusOr<net::BlockingHttpResult> Chat(const std::string& lane,
                                         std::chrono::milliseconds timeout = 60s) {
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/v1/chat/completions";
    req.headers["Content-Type"] = "application/json";
    req.body = R"({"model":")" + lane +
               R"(","messages":[{"role":"user","content":"hello"}],"max_tokens":4})";
    req.timeout = timeout;
    return net::BlockingHttp("127.0.0.1", gateway_port_, req);
  }

  net::BlockingHttpResult Admin(const std::string& method, const std::string& target,
                                const std::string& body = "") {
    return Http(gateway_port_, method, target, body, {}, 120s);
  }

  // Every ledger event keeps the committed sum within the pool.
  void ExpectLedgerNeverOverPool() {
    const json::value ledger = ParseJson(Admin("GET", "/admin/ledger").body);
    ASSERT_TRUE(ledger.is_object());
    const uint64_t pool = ledger.at("pool_bytes").to_number<uint64_t>();
    for (const json::value& e : ledger.at("events").as_array()) {
      EXPECT_LE(e.at("committed_after").to_number<uint64_t>(), pool)
          << "ledger over the pool at event " << json::serialize(e);
    }
  }

  // Up() starts cortex through this command (it must exec cortex, keeping the pid).
  void LaunchUnder(std::vector<std::string> launcher) { launcher_ = std::move(launcher); }

  Subprocess& cortex() { return *cortex_; }
  const std::string& log() const { return log_; }
  const TempDir& dir() const { return dir_; }
  uint16_t gateway_port() const { return gateway_port_; }

 private:
  Engines engines_;
  TempDir dir_;
  uint16_t gateway_port_ = 0;
  std::string log_;
  std::vector<std::string> launcher_;
  std::unique_ptr<Subprocess> cortex_;
};

class SupervisorTest : public ::testing::TestWithParam<Engines> {
 protected:
  void SetUp() override {
    if (GetParam() == Engines::kLlamaServer && LlamaServerBinary() == nullptr) {
      GTEST_SKIP() << "CORTEX_LLAMA_SERVER is not set: no real llama-server to supervise";
    }
  }
};

TEST_P(SupervisorTest, RestartsAKilledEngineAndAnswersRequestsInTheGapWithoutAReset) {
  Deployment d(GetParam());
  d.Write(
      d.LlamaEngine("alpha", PickFreePort(), 2048) + d.LlamaEngine("beta", PickFreePort(), 2048),
      "  a: { engine: alpha }\n  b: { engine: beta }\n");
  d.Up({"alpha", "beta"});
  ASSERT_EQ(d.Chat("a")->status, 200);
  ASSERT_EQ(d.Chat("b")->status, 200);

  const pid_t old_pid = d.Pid("alpha");
  ASSERT_GT(old_pid, 0);
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);

  // Requests keep coming while the engine is down and restarting: each gets an HTTP answer,
  // 200 after a wait or 503 with Retry-After; never a reset or another error.
  int ok = 0;
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    auto r = d.Chat("a");
    ASSERT_TRUE(r.ok()) << "a request in the gap got no HTTP answer: " << r.status().ToString();
    if (r->status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(r->status, 503) << r->body;
      EXPECT_FALSE(r->header("retry-after").empty()) << r->body;
    }
  }
  EXPECT_GT(ok, 0);
  ASSERT_TRUE(
      WaitFor([&] { return d.State("alpha") == "ready"; }, 30s, "alpha to be restarted and ready"));
  const json::object alpha = d.Engine("alpha");
  EXPECT_NE(alpha.at("pid").to_number<pid_t>(), old_pid);
  EXPECT_EQ(alpha.at("restarts").to_number<int>(), 1);
  EXPECT_TRUE(ProcessGone(old_pid));
  // The other lane never noticed.
  EXPECT_EQ(d.Chat("b")->status, 200);
  EXPECT_EQ(d.Engine("beta").at("restarts").to_number<int>(), 0);
}

TEST_P(SupervisorTest, BurstRoundTripPausesTheOtherEngineAndGrowsTheContextWithinTheLedger) {
  Deployment d(GetParam());
  const uint16_t deep_port = PickFreePort();
  const std::string burst =
      "    profiles:\n      burst: { flags: { ctx-size: 16384 }, pauses: [fast] }\n";
  const std::string engines =
      d.LlamaEngine("deep", deep_port, 2048, burst) + d.LlamaEngine("fast", PickFreePort(), 2048);
  const std::string lanes =
      "  reader: { engine: deep }\n"
      "  quick: { engine: fast, fallback: [reader] }\n"
      "  strict: { engine: fast }\n";
  d.Write(engines, lanes);
  // A pool that holds deep and fast normally, but not deep's burst beside fast.
  auto normal = d.PlannedBytes("normal");
  auto bursting = d.PlannedBytes("burst");
  ASSERT_TRUE(normal.count("deep") && normal.count("fast") && bursting.count("deep"));
  ASSERT_GT(bursting["deep"], normal["deep"]);
  const uint64_t pool = normal["deep"] + normal["fast"] + (bursting["deep"] - normal["deep"]) / 2;
  d.Write(engines, lanes, std::to_string(pool) + "B", "load_wait: 1");
  d.Up({"deep", "fast"});

  auto n_ctx = [&] {
    const json::value props = ParseJson(Http(deep_port, "GET", "/props").body);
    return props.at("default_generation_settings").at("n_ctx").to_number<int>();
  };
  EXPECT_EQ(n_ctx(), 2048);

  auto on = d.Admin("POST", "/admin/burst?wait=1", R"({"on": true, "engine": "deep"})");
  ASSERT_EQ(on.status, 200) << on.body;
  const json::value s = ParseJson(on.body);
  EXPECT_TRUE(s.at("burst").at("active").as_bool());
  EXPECT_TRUE(s.at("burst").at("settled").as_bool());
  EXPECT_EQ(d.State("deep"), "ready");
  EXPECT_EQ(d.Engine("deep").at("profile").as_string(), "burst");
  EXPECT_TRUE(d.Engine("fast").at("paused").as_bool());
  EXPECT_EQ(d.State("fast"), "stopped");
  // The bursting engine's own view: a larger context.
  EXPECT_EQ(n_ctx(), 16384);

  // The paused lane with a fallback is served by it; the one without waits (bounded by
  // load_wait) and gets 503 with Retry-After.
  auto quick = d.Chat("quick");
  ASSERT_TRUE(quick.ok());
  EXPECT_EQ(quick->status, 200) << quick->body;
  const auto t0 = std::chrono::steady_clock::now();
  auto strict = d.Chat("strict");
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  EXPECT_EQ(strict->status, 503) << strict->body;
  EXPECT_FALSE(strict->header("retry-after").empty());
  EXPECT_NE(strict->body.find("paused"), std::string::npos) << strict->body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);

  auto off = d.Admin("POST", "/admin/burst?wait=1", R"({"on": false})");
  ASSERT_EQ(off.status, 200) << off.body;
  ASSERT_TRUE(WaitFor([&] { return d.State("deep") == "ready" && d.State("fast") == "ready"; }, 30s,
                      "deep and fast to be ready after the burst"));
  EXPECT_EQ(n_ctx(), 2048);
  EXPECT_EQ(d.Chat("strict")->status, 200);
  EXPECT_EQ(d.Chat("reader")->status, 200);

  // From the ledger's own log: never over the pool, and deep's burst reservation came only
  // after fast and deep had released theirs.
  d.ExpectLedgerNeverOverPool();
  const json::value ledger = ParseJson(d.Admin("GET", "/admin/ledger").body);
  int fast_released = -1, deep_released = -1, burst_reserved = -1;
  int i = 0;
  for (const json::value& e : ledger.at("events").as_array()) {
    const std::string kind(e.at("kind").as_string()), engine(e.at("engine").as_string());
    if (kind == "release" && engine == "fast" && fast_released < 0) fast_released = i;
    if (kind == "release" && engine == "deep" && deep_released < 0) deep_released = i;
    if (kind == "reserve" && engine == "deep" && e.at("profile").as_string() == "burst") {
      burst_reserved = i;
    }
    ++i;
  }
  ASSERT_GE(burst_reserved, 0) << json::serialize(ledger);
  EXPECT_LT(fast_released, burst_reserved);
  EXPECT_LT(deep_released, burst_reserved);
}

TEST_P(SupervisorTest, APromptOnlyTheBurstContextHoldsBringsTheBurstOnAndIsServed) {
  Deployment d(GetParam());
  const uint16_t deep_port = PickFreePort();
  const std::string burst =
      "    profiles:\n      burst: { flags: { ctx-size: 16384 }, pauses: [fast] }\n";
  const std::string engines =
      d.LlamaEngine("deep", deep_port, 2048, burst) + d.LlamaEngine("fast", PickFreePort(), 2048);
  const std::string lanes = "  reader: { engine: deep }\n  quick: { engine: fast }\n";
  d.Write(engines, lanes);
  auto normal = d.PlannedBytes("normal");
  auto bursting = d.PlannedBytes("burst");
  ASSERT_TRUE(normal.count("deep") && normal.count("fast") && bursting.count("deep"));
  const uint64_t pool = normal["deep"] + normal["fast"] + (bursting["deep"] - normal["deep"]) / 2;
  d.Write(engines, lanes, std::to_string(pool) + "B");
  d.Up({"deep", "fast"});

  // More tokens than the normal 2048 (the simulator counts about one per byte), far fewer
  // than the burst's 16384.
  std::string prompt;
  for (int i = 0; i < 700; ++i)
    prompt += "word" + std::to_string(i % 10) + " ";
  auto chat = [&](bool stream) {
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/v1/chat/completions";
    req.headers["Content-Type"] = "application/json";
    req.body = json::serialize(json::object{
        {"model", "reader"},
        {"stream", stream},
        {"max_tokens", 4},
        {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}}});
    req.timeout = 120s;
    return net::BlockingHttp("127.0.0.1", d.gateway_port(), req);
  };
  auto burst_off = [&] {
    return WaitFor(
        [&] {
          const json::value s = d.Status();
          return s.is_object() && !s.at("burst").at("active").as_bool() &&
                 s.at("burst").at("settled").as_bool() && d.State("deep") == "ready" &&
                 d.State("fast") == "ready";
        },
        60s, "the burst to end and settle with deep and fast ready");
  };

  // Streamed: the response starts at once with a keep-alive comment saying why it waits, then
  // the engine's events under the burst profile, then [DONE].
  auto streamed = chat(true);
  ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
  EXPECT_EQ(streamed->status, 200) << streamed->body;
  EXPECT_EQ(streamed->body.rfind(": cortex: the prompt has ", 0), 0) << streamed->body;
  EXPECT_NE(streamed->body.find("burst profile"), std::string::npos);
  EXPECT_NE(streamed->body.find("data: [DONE]"), std::string::npos) << streamed->body;
  EXPECT_EQ(streamed->body.find("\"error\""), std::string::npos) << streamed->body;
  // Nobody holds it after the request: it goes off and the paused engine comes back.
  ASSERT_TRUE(burst_off()) << json::serialize(d.Status());

  // Not streamed: the client simply waits and gets the answer.
  auto whole = chat(false);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->status, 200) << whole->body;
  ASSERT_TRUE(burst_off());

  // The ledger says who asked: each switch names the request that needed it.
  d.ExpectLedgerNeverOverPool();
  const json::value ledger = ParseJson(d.Admin("GET", "/admin/ledger").body);
  int on_events = 0, off_events = 0;
  for (const json::value& e : ledger.at("events").as_array()) {
    const std::string reason(e.at("reason").as_string());
    if (reason.rfind("burst on: request ", 0) == 0) ++on_events;
    if (reason.rfind("burst off: request ", 0) == 0) ++off_events;
    if (!reason.empty()) {
      EXPECT_NE(reason.find("on lane reader"), std::string::npos) << reason;
    }
  }
  EXPECT_GE(on_events, 2) << json::serialize(ledger);
  EXPECT_GE(off_events, 2) << json::serialize(ledger);

  // Holders: the burst stays on until the last one lets go; an operator's plain off ends it.
  auto hold = [&](bool on, const std::string& reason) {
    return d.Admin("POST", "/admin/burst?wait=1",
                   json::serialize(json::object{{"on", on}, {"reason", reason}}));
  };
  ASSERT_EQ(hold(true, "maintenance").status, 200);
  ASSERT_EQ(hold(true, "ingest job ing_test").status, 200);
  const json::value still = ParseJson(hold(false, "ingest job ing_test").body);
  EXPECT_TRUE(still.at("burst").at("active").as_bool()) << json::serialize(still);
  EXPECT_EQ(json::serialize(still.at("burst").at("held_by")), R"(["maintenance"])");
  ASSERT_EQ(d.Admin("POST", "/admin/burst?wait=1", R"({"on": false})").status, 200);
  ASSERT_TRUE(burst_off());
}

// With `ingest.burst: never` the same prompt is refused with both numbers and no burst starts.
TEST(SupervisorBurstTest, BurstNeverRefusesAPromptOnlyTheBurstContextHolds) {
  Deployment d(Engines::kSim);
  const std::string burst =
      "    profiles:\n      burst: { flags: { ctx-size: 16384 }, pauses: [fast] }\n";
  d.Write(d.LlamaEngine("deep", PickFreePort(), 2048, burst) +
              d.LlamaEngine("fast", PickFreePort(), 2048),
          "  reader: { engine: deep }\n  quick: { engine: fast }\n", "64GiB",
          "load_wait: 1 }\ningest: { burst: never");
  d.Up({"deep", "fast"});
  std::string prompt;
  for (int i = 0; i < 700; ++i)
    prompt += "word" + std::to_string(i % 10) + " ";
  auto r =
      Http(d.gateway_port(), "POST", "/v1/chat/completions",
           json::serialize(json::object{
               {"model", "reader"},
               {"max_tokens", 4},
               {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}}}),
           {}, 30s);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("context_length_exceeded"), std::string::npos) << r.body;
  const json::value s = d.Status();
  EXPECT_FALSE(s.at("burst").at("active").as_bool());
  EXPECT_EQ(d.State("fast"), "ready");
}

TEST_P(SupervisorTest, LeavesNoEngineBehindWhenCortexIsInterruptedTerminatedOrKilled) {
  for (int signal : {SIGINT, SIGTERM, SIGKILL}) {
    SCOPED_TRACE(strsignal(signal));
    Deployment d(GetParam());
    d.Write(
        d.LlamaEngine("alpha", PickFreePort(), 2048) + d.LlamaEngine("beta", PickFreePort(), 2048),
        "  a: { engine: alpha }\n  b: { engine: beta }\n");
    d.Up({"alpha", "beta"});
    const pid_t alpha = d.Pid("alpha");
    const pid_t beta = d.Pid("beta");
    ASSERT_GT(alpha, 0);
    ASSERT_GT(beta, 0);
    ASSERT_EQ(kill(d.cortex().pid(), signal), 0);
    ASSERT_TRUE(WaitFor([&] { return d.cortex().Poll().has_value(); }, 15s, "cortex to exit"));
    EXPECT_TRUE(WaitFor([&] { return ProcessGone(alpha) && ProcessGone(beta); }, 5s,
                        "both engines to be gone"))
        << "an engine outlived cortex after signal " << signal;
  }
}

TEST_P(SupervisorTest, SwapsBetweenTwoEnginesThatCannotBothFitWithoutThrash) {
  Deployment d(GetParam());
  const std::string engines =
      d.LlamaEngine("alpha", PickFreePort(), 2048) + d.LlamaEngine("beta", PickFreePort(), 2048);
  const std::string lanes = "  a: { engine: alpha }\n  b: { engine: beta }\n";
  d.Write(engines, lanes);
  auto normal = d.PlannedBytes("normal");
  ASSERT_TRUE(normal.count("alpha") && normal.count("beta"));
  // Room for one at a time.
  d.Write(engines, lanes, std::to_string(std::max(normal["alpha"], normal["beta"]) + 1024) + "B");
  d.Up({"alpha"});
  EXPECT_EQ(d.State("beta"), "stopped");

  // 24 requests alternating between the lanes, 8 at a time.
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < 3; ++k) {
        auto r = d.Chat((c + k) % 2 == 0 ? "a" : "b", 90s);
        (r.ok() && r->status == 200 ? ok : failed)++;
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), 24);
  EXPECT_EQ(failed.load(), 0);
  const json::value s = d.Status();
  // Turns, not a swap per request: the waiters of one engine are served together.
  EXPECT_GE(s.at("swaps").to_number<int>(), 1);
  EXPECT_LE(s.at("swaps").to_number<int>(), 4);
  d.ExpectLedgerNeverOverPool();
}

INSTANTIATE_TEST_SUITE_P(Engines, SupervisorTest,
                         ::testing::Values(Engines::kSim, Engines::kLlamaServer),
                         [](const auto& info) { return Name(info.param); });

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// `launch: docker`: the supervisor runs `docker compose ... up SERVICE` on a compose file it
// writes for the engine's profile. A stand-in `docker` on PATH records its argv and runs the
// service's `command:` with the simulator, as the image's llama-server entrypoint would.
TEST(SupervisorDockerTest, RunsADockerEngineAsTheOnlyServiceOfItsComposeFile) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 is needed for the stand-in docker";
  }
  Deployment d(Engines::kSim);
  const std::string bin = d.dir().File("bin");
  std::filesystem::create_directories(bin);
  {
    std::ofstream fake(bin + "/docker");
    fake << "#!/usr/bin/env python3\n"
            "import json, os, sys\n"
            "args = sys.argv[1:]\n"
            "open(os.environ['FAKE_DOCKER_LOG'], 'a').write(json.dumps(args) + '\\n')\n"
            "pidfile = os.environ['FAKE_DOCKER_PIDFILE']\n"
            "if args[0] == 'inspect':\n"
            "    print(open(pidfile).read().strip()); sys.exit(0)\n"
            "if 'ps' in args:\n"
            "    print('f00dcafe0001'); sys.exit(0)\n"
            "compose = args[args.index('-f') + 1]\n"
            "command, inside = [], False\n"
            "for line in open(compose):\n"
            "    s = line.strip()\n"
            "    if s == 'command:': inside = True; continue\n"
            "    if inside and s.startswith('- '): command.append(json.loads(s[2:]).replace('$$', "
            "'$')); continue\n"
            "    inside = False\n"
            "# Like a container: the engine runs apart from the compose client (its own\n"
            "# session), and the client lives until it exits and passes SIGTERM on.\n"
            "import signal, subprocess\n"
            "child = subprocess.Popen([os.environ['FAKE_DOCKER_SIM'], 'sim', '--flavor', "
            "'llama.cpp'] + command, start_new_session=True)\n"
            "open(pidfile, 'w').write(str(child.pid))\n"
            "signal.signal(signal.SIGTERM, lambda *a: child.terminate())\n"
            "sys.exit(child.wait())\n";
  }
  std::filesystem::permissions(bin + "/docker", std::filesystem::perms::owner_all);
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  setenv("PATH", (bin + ":" + old_path).c_str(), 1);
  setenv("FAKE_DOCKER_LOG", d.dir().File("docker-argv.log").c_str(), 1);
  setenv("FAKE_DOCKER_SIM", CORTEX_BINARY, 1);
  setenv("FAKE_DOCKER_PIDFILE", d.dir().File("container.pid").c_str(), 1);
  const uint16_t port = PickFreePort();
  d.Write("  boxed:\n    engine: llama.cpp\n    launch: docker\n    model: " +
              d.dir().File("m.gguf") + "\n    port: " + std::to_string(port) +
              "\n    budget: BUDGET\n    flags: { ctx-size: 2048, parallel: 1, cache-ram: 0 }\n",
          "  boxed-lane: { engine: boxed }\n");
  d.Up({"boxed"});
  setenv("PATH", old_path.c_str(), 1);
  auto r = d.Chat("boxed-lane");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;

  const std::string argv = ReadWholeFile(d.dir().File("docker-argv.log"));
  EXPECT_NE(argv.find(R"(["compose", "-p", "cortex", "-f", )"), std::string::npos) << argv;
  EXPECT_NE(argv.find(R"("up", "--no-log-prefix", "--abort-on-container-exit", "boxed"])"),
            std::string::npos)
      << argv;
  const std::string compose = ReadWholeFile(d.dir().File("logs/boxed.compose.yml"));
  EXPECT_NE(compose.find("\"/dev/kfd\""), std::string::npos) << compose;
  EXPECT_NE(compose.find("\"--fit\""), std::string::npos) << compose;
  const pid_t pid = d.Pid("boxed");
  ASSERT_GT(pid, 0);
  // Memory is read from the container (found through compose and docker inspect), not from
  // the compose client cortex started.
  ASSERT_TRUE(WaitFor(
      [&] {
        const json::object e = d.Engine("boxed");
        return e.contains("container") && e.at("container").is_object() &&
               e.at("actual_bytes").is_number();
      },
      15s, "the container to be found and its memory read"))
      << json::serialize(d.Engine("boxed")) << d.Admin("GET", "/admin/engines/boxed/logs").body
      << ReadWholeFile(d.dir().File("docker-argv.log"));
  const json::object container = d.Engine("boxed").at("container").as_object();
  const pid_t inside = std::stoi(ReadWholeFile(d.dir().File("container.pid")));
  EXPECT_EQ(container.at("pid").to_number<pid_t>(), inside);
  EXPECT_NE(inside, pid);
  EXPECT_EQ(container.at("id"), "f00dcafe0001");
  EXPECT_NE(ReadWholeFile(d.dir().File("logs/boxed.log")).find("container f00dcafe0001 (pid "),
            std::string::npos);
  EXPECT_GT(d.Engine("boxed").at("actual_bytes").to_number<uint64_t>(), 1u << 20);
  ASSERT_EQ(kill(d.cortex().pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitFor([&] { return d.cortex().Poll().has_value(); }, 15s, "cortex to exit"));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }, 5s, "the compose client to be gone"));
  EXPECT_TRUE(
      WaitFor([&] { return ProcessGone(inside); }, 5s, "the container's engine to be gone"));
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// CPU time (user + system) a process has used, from /proc/PID/stat.
std::chrono::milliseconds CpuTime(pid_t pid) {
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  uint64_t ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stoull(field);
  }
  return std::chrono::milliseconds(ticks * 1000 / ::sysconf(_SC_CLK_TCK));
}

// Issue 13: cortex started with a low descriptor limit and more connections held open than it
// has descriptors (each sending half a request). It used to spin at 100% of a core with /health
// dead until the connections went. Now it closes the longest-idle connection for each new one,
// stays quiet, answers /health, and its engine is never restarted for want of a probe socket.
TEST(SupervisorDescriptorTest, ClientsHoldingMoreConnectionsThanDescriptorsNeitherSpinNorRestart) {
  Deployment d(Engines::kSim);
  d.Write(d.LlamaEngine("e", PickFreePort(), 2048), "  s: { engine: e }\n");
  d.LaunchUnder({"/usr/bin/prlimit", "--nofile=128:128", "--"});
  d.Up({"e"});
  const pid_t engine = d.Pid("e");
  ASSERT_GT(engine, 0);
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held;
  for (int i = 0; i < 300; ++i) {
    auto sock = std::make_unique<boost::asio::ip::tcp::socket>(io);
    boost::system::error_code ec;
    sock->connect({boost::asio::ip::make_address("127.0.0.1"), d.gateway_port()}, ec);
    if (ec) continue;
    boost::asio::write(*sock, boost::asio::buffer(std::string_view("GET /v1/models HTTP/1.1\r\n")),
                       ec);
    held.push_back(std::move(sock));
  }
  ASSERT_GT(held.size(), 200u);  // more than cortex's 128 descriptors
  std::this_thread::sleep_for(500ms);
  const auto before = CpuTime(d.cortex().pid());
  std::this_thread::sleep_for(2s);
  const auto used = CpuTime(d.cortex().pid()) - before;
  EXPECT_LT(used.count(), 500) << "ms of CPU in two seconds (spinning takes all of it)";
  auto health = Http(d.gateway_port(), "GET", "/health", "", {}, 5s);
  EXPECT_EQ(health.status, 200) << health.body;
  // Three liveness probes 2 s apart would have killed the engine had they found no socket.
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(d.Pid("e"), engine);
  EXPECT_EQ(d.Engine("e").at("restarts").to_number<int>(), 0);
  const std::string metrics = Http(d.gateway_port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cortex_client_connections_shed_total{reason=\"idle_closed\"}"),
            std::string::npos);
  EXPECT_EQ(d.Chat("s")->status, 200);
  EXPECT_NE(ReadWholeFile(d.log()).find("descriptor limit is 128"), std::string::npos)
      << ReadWholeFile(d.log());
}

// An engine that stops answering while its process lives (a deadlock, a stuck driver call) is
// killed after three silent health probes and restarted like a crashed one.
TEST(SupervisorLivenessTest, RestartsAnEngineThatHangs) {
  Deployment d(Engines::kSim);
  d.Write(d.LlamaEngine("stuck", PickFreePort(), 2048, ""), "  s: { engine: stuck }\n");
  // The simulator hangs after one generation request: it keeps its sockets and answers nothing.
  std::string config = ReadWholeFile(d.dir().File("cortex.yaml"));
  const size_t at = config.find("sim-load-seconds");
  ASSERT_NE(at, std::string::npos);
  config.insert(at, "sim-hang-after: 1, ");
  std::ofstream(d.dir().File("cortex.yaml")) << config;
  d.Up({"stuck"});
  const pid_t first = d.Pid("stuck");
  ASSERT_EQ(d.Chat("s")->status, 200);
  // Hung now: the supervisor notices within a few probes and starts a new process.
  ASSERT_TRUE(WaitFor([&] { return d.Pid("stuck") != first && d.State("stuck") == "ready"; }, 30s,
                      "a new stuck process to be ready"))
      << ReadWholeFile(d.dir().File("logs/stuck.log"));
  EXPECT_EQ(d.Engine("stuck").at("restarts").to_number<int>(), 1);
  EXPECT_NE(ReadWholeFile(d.dir().File("logs/stuck.log")).find("health probes in a row"),
            std::string::npos);
  EXPECT_EQ(d.Chat("s")->status, 200);
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// vLLM answers 404 to any `model` but its served name; the supervisor launches it with
// --served-model-name set to the engine's name, and the gateway must rewrite to that.
TEST(SupervisorVllmTest, RoutesALaneToALaunchedVllmEngineUnderItsServedName) {
  Deployment d(Engines::kSim);
  d.Write(
      "  fast:\n    engine: sim\n    model: { hf: Qwen/Qwen2.5-0.5B-Instruct, quant: bf16 }\n"
      "    port: " +
          std::to_string(PickFreePort()) +
          "\n    budget: 3584MiB\n    flags: { flavor: vllm, max-model-len: 4096, "
          "sim-load-seconds: 0.3 }\n",
      "  quick: { engine: fast }\n");
  d.Up({"fast"});
  auto r = d.Chat("quick");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ParseJson(r->body).at("model").as_string(), "fast");
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// SIGTERM with a request in flight: the engine is stopped under it, and the client still gets
// an HTTP answer (a 503 saying cortex is shutting down), not a reset.
TEST(SupervisorShutdownTest, AnswersARequestInFlightWhenCortexIsTerminated) {
  Deployment d(Engines::kSim);
  const uint16_t port = PickFreePort();
  std::string engine = d.LlamaEngine("slow", port, 2048);
  const size_t at = engine.find("sim-itl-ms: 5");
  ASSERT_NE(at, std::string::npos);
  engine.replace(at, 13, "sim-itl-ms: 300");
  d.Write(engine, "  s: { engine: slow }\n");
  d.Up({"slow"});
  StatusOr<net::BlockingHttpResult> result = Status::IoError("not run");
  std::thread client([&] {
    net::BlockingHttpRequest req;
    req.method = "POST";
    req.target = "/v1/chat/completions";
    req.headers["Content-Type"] = "application/json";
    req.body = R"({"model":"s","messages":[{"role":"user","content":"hi"}],"max_tokens":30})";
    req.timeout = 30s;
    result = net::BlockingHttp("127.0.0.1", d.gateway_port(), req);
  });
  // In flight: the engine is generating it (30 tokens at 300 ms: about 9 s to go).
  auto generating = [&] {
    const json::value slots = ParseJson(Http(port, "GET", "/slots").body);
    if (!slots.is_array()) return false;
    for (const json::value& slot : slots.as_array()) {
      const json::value* busy =
          slot.is_object() ? slot.as_object().if_contains("is_processing") : nullptr;
      if (busy != nullptr && busy->is_bool() && busy->as_bool()) return true;
    }
    return false;
  };
  // EXPECT, not ASSERT: the client thread must be joined whatever happens.
  EXPECT_TRUE(WaitFor(generating, 10s, "the engine to be generating the request"));
  ASSERT_EQ(kill(d.cortex().pid(), SIGTERM), 0);
  client.join();
  ASSERT_TRUE(result.ok()) << "the client got no HTTP answer: " << result.status().ToString();
  EXPECT_EQ(result->status, 503) << result->body;
  EXPECT_FALSE(result->header("retry-after").empty());
  ASSERT_TRUE(WaitFor([&] { return d.cortex().Poll().has_value(); }, 15s, "cortex to exit"));
  EXPECT_EQ(*d.cortex().Poll(), 0);
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// The monitor reads what an engine really holds (RSS of its process group) and the supervisor
// compares it with the plan. The simulator really touches `sim-hold-memory` x its planned
// bytes, so the comparison can be checked both ways: within the margin no warning; with a
// margin smaller than the process's own baseline RSS, a warning in status and in /metrics.
TEST(SupervisorMemoryTest, ComparesWhatAnEngineReallyHoldsWithItsPlan) {
  for (const double margin : {0.3, 0.01}) {
    SCOPED_TRACE(margin);
    Deployment d(Engines::kSim);
    // 64 Ki cells of 1 KiB: 64 MiB of KV, so what is held dwarfs the process's own few MiB.
    std::string engine = d.LlamaEngine("holder", PickFreePort(), 65536);
    const size_t at = engine.find("sim-load-seconds");
    ASSERT_NE(at, std::string::npos);
    // n-gpu-layers 0: the simulator presents as a CPU build, and so must the plan it is
    // compared with (a GPU plan has device and host compute buffers).
    engine.insert(at, "sim-hold-memory: 1, n-gpu-layers: 0, ");
    d.Write(engine, "  h: { engine: holder }\n", "64GiB",
            "memory_drift: " + std::to_string(margin));
    d.Up({"holder"});
    json::object e;
    ASSERT_TRUE(WaitFor(
        [&] {
          e = d.Engine("holder");
          return e.contains("expected_bytes") && e.at("expected_bytes").is_number() &&
                 e.at("actual_bytes").is_number() &&
                 e.at("actual_bytes").to_number<double>() >
                     0.9 * e.at("expected_bytes").to_number<double>();
        },
        20s, "the hold to show in the engine's measured memory"))
        << json::serialize(e);
    // One more sample, taken after the engine was ready (Up waited for that, and the simulator
    // is ready only once its hold is complete): only then is its memory compared with the
    // plan. Samples come every 2 s and say nothing of themselves, but each rereads
    // /proc/meminfo, whose available memory moves between any two reads on a running machine,
    // and the engine's size: a newer sample shows as a change of either.
    auto last_sample = [&] {
      const json::value s = d.Status();
      if (!s.is_object()) return std::string();
      std::string sample = json::serialize(s.at("machine").at("meminfo"));
      for (const json::value& x : s.at("engines").as_array()) {
        if (x.at("name") == "holder") sample += json::serialize(x.at("actual_bytes"));
      }
      return sample;
    };
    const std::string sampled = last_sample();
    ASSERT_TRUE(WaitFor([&] { return last_sample() != sampled; }, 15s,
                        "a memory sample of the ready engine"))
        << sampled;
    e = d.Engine("holder");
    const double expected = e.at("expected_bytes").to_number<double>();
    const double actual = e.at("actual_bytes").to_number<double>();
    EXPECT_GT(expected, 60.0 * (1 << 20));
    EXPECT_NEAR(actual / expected, 1.0, 0.25) << json::serialize(e);
    const std::string metrics = Http(d.gateway_port(), "GET", "/metrics").body;
    // The machine as the kernel reports it, beside the plan.
    const json::value machine = d.Status().at("machine");
    ASSERT_TRUE(machine.at("meminfo").at("present").as_bool()) << json::serialize(machine);
    EXPECT_GT(machine.at("meminfo").at("used_bytes").to_number<uint64_t>(),
              e.at("actual_bytes").to_number<uint64_t>() / 2);
    EXPECT_EQ(machine.at("planned").at("memory_bytes").to_number<uint64_t>(), uint64_t{64} << 30);
    EXPECT_TRUE(machine.at("amdgpu").at("present").is_bool());
    EXPECT_NE(metrics.find("cortex_machine_memory_bytes{kind=\"available\"} "), std::string::npos);
    if (margin > 0.1) {
      EXPECT_TRUE(e.at("memory_warning").is_null()) << json::serialize(e);
      EXPECT_NE(metrics.find("cortex_engine_memory_drift{engine=\"holder\"} 0"), std::string::npos);
    } else {
      ASSERT_TRUE(e.at("memory_warning").is_string()) << json::serialize(e);
      EXPECT_NE(std::string(e.at("memory_warning").as_string()).find("planned"), std::string::npos);
      EXPECT_NE(metrics.find("cortex_engine_memory_drift{engine=\"holder\"} 1"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// An operator's stop holds until their start: the lane answers 503 saying so (no load on
// demand); a restart of the stopped engine starts it.
TEST(SupervisorAdminTest, StopKeepsAnEngineDownUntilRestartedByTheOperator) {
  Deployment d(Engines::kSim);
  d.Write(d.LlamaEngine("alpha", PickFreePort(), 2048), "  a: { engine: alpha }\n");
  d.Up({"alpha"});
  const pid_t first = d.Pid("alpha");
  ASSERT_EQ(d.Admin("POST", "/admin/engines/alpha/stop").status, 200);
  ASSERT_TRUE(WaitFor([&] { return d.State("alpha") == "stopped"; }, 10s, "alpha to be stopped"));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(first); }, 5s, "alpha's process to be gone"));
  auto r = d.Chat("a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("stopped by an operator"), std::string::npos) << r->body;
  EXPECT_FALSE(r->header("retry-after").empty());

  ASSERT_EQ(d.Admin("POST", "/admin/engines/alpha/restart").status, 200);
  ASSERT_TRUE(WaitFor([&] { return d.State("alpha") == "ready"; }, 20s, "alpha to be ready again"));
  EXPECT_EQ(d.Chat("a")->status, 200);
  EXPECT_EQ(d.Admin("POST", "/admin/engines/nosuch/start").status, 404);
}

// An engine that cannot start fails after max_restarts; its clients are told why in the
// engine's own words, not the supervisor's notes.
TEST(SupervisorAdminTest, AnEngineInACrashLoopFailsWithItsOwnLastLines) {
  Deployment d(Engines::kSim);
  std::string engine = d.LlamaEngine("broken", PickFreePort(), 2048);
  const size_t at = engine.find("sim-load-seconds");
  ASSERT_NE(at, std::string::npos);
  engine.insert(at, "sim-no-such-option: 1, ");  // the simulator refuses it and exits 2
  d.Write(engine, "  b: { engine: broken }\n", "64GiB", "max_restarts: 1");
  d.Up({});
  ASSERT_TRUE(WaitFor([&] { return d.State("broken") == "failed"; }, 20s, "broken to fail"));
  auto r = d.Chat("b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("unknown simulator option --sim-no-such-option"), std::string::npos)
      << r->body;
  EXPECT_EQ(r->body.find("[cortex]"), std::string::npos) << r->body;
  const json::object e = d.Engine("broken");
  EXPECT_EQ(e.at("restarts").to_number<int>(), 1);
  EXPECT_TRUE(e.at("failure").is_string());
}

}  // namespace
}  // namespace cortex::testing

namespace cortex::testing {
namespace {

// Reads GET /admin/events on its own thread and keeps every event (its type and JSON data).
class AdminEventsReader {
 public:
  struct Event {
    std::string type;
    json::value data;
  };
  explicit AdminEventsReader(uint16_t port)
      : thread_([this, port] {
          net::BlockingHttpRequest req;
          req.target = "/admin/events";
          req.headers["Accept"] = "text/event-stream";
          req.timeout = 10s;
          gateway::SseSplitter splitter;
          std::vector<std::string> pieces;
          auto r = net::BlockingHttp("127.0.0.1", port, req, [&](std::string_view piece) {
            pieces.clear();
            splitter.Feed(piece, &pieces);
            for (const std::string& text : pieces) {
              const gateway::SseFields f = gateway::ParseEventFields(text);
              std::lock_guard lock(mu_);
              events_.push_back(Event{f.event, ParseJson(f.data)});
            }
            return !stop_;
          });
          std::lock_guard lock(mu_);
          if (r.ok()) content_type_ = r->header("content-type");
        }) {}
  ~AdminEventsReader() { Finish(); }
  // Leaves the stream (at its next event); returns the response's Content-Type.
  std::string Finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return content_type_;
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  // The first event at or after `from` for which `pred` holds.
  std::optional<Event> WaitFor(size_t from, const std::function<bool(const Event&)>& pred,
                               std::chrono::milliseconds deadline) {
    std::optional<Event> found;
    // The member WaitFor hides the shared one here; the caller asserts on what is returned.
    (void)cortex::testing::WaitFor(
        [&] {
          const std::vector<Event> all = events();
          for (size_t i = from; i < all.size(); ++i) {
            if (pred(all[i])) {
              found = all[i];
              return true;
            }
          }
          return false;
        },
        deadline, "an event");
    return found;
  }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
  std::string content_type_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string EngineStateIn(const json::value& snapshot, const std::string& engine) {
  if (!snapshot.is_object()) return "";
  for (const json::value& e : snapshot.at("engines").as_array()) {
    if (e.at("name").as_string() == engine) return std::string(e.at("state").as_string());
  }
  return "";
}

// The dashboard's feed: a whole snapshot first, then a `change` event carrying the new state
// and the ledger's release once an engine stops — without polling /admin/status.
TEST(SupervisorEventsTest, StreamsASnapshotThenEveryChangeWithTheLedgerEvents) {
  Deployment d(Engines::kSim);
  d.Write(
      d.LlamaEngine("alpha", PickFreePort(), 2048) + d.LlamaEngine("beta", PickFreePort(), 2048),
      "  a: { engine: alpha }\n  b: { engine: beta }\n");
  d.Up({"alpha", "beta"});
  AdminEventsReader reader(d.gateway_port());
  auto first = reader.WaitFor(
      0, [](const AdminEventsReader::Event&) { return true; }, 10s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type, "snapshot");
  ASSERT_TRUE(first->data.is_object()) << "no JSON in the first event";
  EXPECT_EQ(EngineStateIn(first->data, "alpha"), "ready");
  EXPECT_EQ(first->data.at("lanes").as_array().size(), 2u);
  EXPECT_GT(first->data.at("ledger").at("committed_bytes").to_number<uint64_t>(), 0u);
  const uint64_t seq = first->data.at("seq").to_number<uint64_t>();

  const size_t before = reader.events().size();
  ASSERT_EQ(d.Admin("POST", "/admin/engines/alpha/stop").status, 200);
  auto stopped = reader.WaitFor(
      before,
      [](const AdminEventsReader::Event& e) { return EngineStateIn(e.data, "alpha") == "stopped"; },
      10s);
  ASSERT_TRUE(stopped.has_value()) << reader.events().size() << " events, none with alpha stopped";
  EXPECT_EQ(stopped->type, "change");
  EXPECT_GT(stopped->data.at("seq").to_number<uint64_t>(), seq);
  EXPECT_EQ(EngineStateIn(stopped->data, "beta"), "ready");
  bool release_seen = false;
  for (const json::value& e : stopped->data.at("ledger_events").as_array()) {
    release_seen |= e.at("engine") == "alpha" && e.at("kind") == "release";
  }
  EXPECT_TRUE(release_seen) << json::serialize(stopped->data.at("ledger_events"));
  // The lanes carry the gateway's own counts: a request served shows within a tick.
  ASSERT_EQ(d.Chat("b")->status, 200);
  auto counted = reader.WaitFor(
      before,
      [](const AdminEventsReader::Event& e) {
        if (!e.data.is_object()) return false;
        for (const json::value& l : e.data.at("lanes").as_array()) {
          if (l.at("name") == "b" && l.at("requests").to_number<double>() >= 1) return true;
        }
        return false;
      },
      5s);
  ASSERT_TRUE(counted.has_value());
  EXPECT_TRUE(counted->data.at("ingest").at("enabled").is_bool());
  // With nothing changing, the stream still ticks, so measured memory stays fresh.
  const size_t now = reader.events().size();
  auto tick = reader.WaitFor(
      now, [](const AdminEventsReader::Event& e) { return e.type == "tick"; }, 5s);
  EXPECT_TRUE(tick.has_value());
  EXPECT_EQ(reader.Finish(), "text/event-stream");
}

// `cortex top` piped: the first snapshot, then a block per change, as plain text; `-n 1` stops
// after one; with no cortex up it says so and exits 1.
TEST(SupervisorEventsTest, TopPrintsASnapshotThenEachChangeWhenPiped) {
  Deployment d(Engines::kSim);
  d.Write(d.LlamaEngine("alpha", PickFreePort(), 2048), "  a: { engine: alpha }\n");
  d.Up({"alpha"});
  const std::string config = d.dir().File("cortex.yaml");
  const std::string once_log = d.dir().File("top-once.log");
  auto once = Subprocess::Start({CORTEX_BINARY, "top", "-c", config, "-n", "1"}, once_log);
  ASSERT_TRUE(once.ok());
  ASSERT_TRUE(WaitFor([&] { return (*once)->Poll().has_value(); }, 15s, "cortex top -n 1 to exit"));
  EXPECT_EQ((*once)->Poll(), 0) << ReadWholeFile(once_log);
  const std::string one = ReadWholeFile(once_log);
  EXPECT_NE(one.find(" snapshot 127.0.0.1:"), std::string::npos) << one;
  EXPECT_NE(one.find("alpha"), std::string::npos) << one;
  EXPECT_NE(one.find("ready"), std::string::npos) << one;
  EXPECT_NE(one.find("ledger:"), std::string::npos) << one;

  const std::string follow_log = d.dir().File("top.log");
  auto follow = Subprocess::Start({CORTEX_BINARY, "top", "-c", config}, follow_log);
  ASSERT_TRUE(follow.ok());
  ASSERT_TRUE(
      WaitFor([&] { return ReadWholeFile(follow_log).find(" snapshot ") != std::string::npos; },
              15s, "cortex top to print its first snapshot"))
      << ReadWholeFile(follow_log);
  ASSERT_EQ(d.Admin("POST", "/admin/engines/alpha/stop").status, 200);
  // A change block whose engine line shows alpha stopped.
  auto shows_stopped = [&] {
    const std::string out = ReadWholeFile(follow_log);
    const size_t change = out.find(" change ");
    if (change == std::string::npos) return false;
    for (size_t at = out.find("\nalpha", change); at != std::string::npos;
         at = out.find("\nalpha", at + 1)) {
      const std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
      if (line.find("stopped") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(shows_stopped, 15s, "cortex top to show alpha stopped"))
      << ReadWholeFile(follow_log);
  EXPECT_FALSE((*follow)->Poll().has_value()) << "top should keep following";
  (*follow)->Stop();

  const std::string none_log = d.dir().File("top-none.log");
  auto none = Subprocess::Start(
      {CORTEX_BINARY, "top", "--url", "127.0.0.1:" + std::to_string(PickFreePort())}, none_log);
  ASSERT_TRUE(none.ok());
  ASSERT_TRUE(WaitFor([&] { return (*none)->Poll().has_value(); }, 15s,
                      "cortex top with no cortex up to exit"));
  EXPECT_EQ((*none)->Poll(), 1);
  EXPECT_NE(ReadWholeFile(none_log).find("is `cortex up` running?"), std::string::npos)
      << ReadWholeFile(none_log);
}

// `cortex top` on a terminal (a pseudo-terminal here, as over ssh): the alternate screen, a
// memory bar and the tables, redrawn each second; `q` quits and gives the terminal back.
TEST(SupervisorEventsTest, TopOnATerminalRedrawsOneScreenAndQuitsOnQ) {
  Deployment d(Engines::kSim);
  d.Write(d.LlamaEngine("alpha", PickFreePort(), 2048), "  a: { engine: alpha }\n");
  d.Up({"alpha"});
  const std::string config = d.dir().File("cortex.yaml");
  int master = -1;
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 120;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    execl(CORTEX_BINARY, CORTEX_BINARY, "top", "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string screen;
  auto read_for = [&](std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(master, buf, sizeof(buf));
      if (n <= 0) return;  // EIO: the program has exited and closed the terminal
      screen.append(buf, static_cast<size_t>(n));
    }
  };
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = screen.find(what); at != std::string::npos; at = screen.find(what, at + 1))
      ++n;
    return n;
  };
  EXPECT_TRUE(WaitFor(
      [&] {
        read_for(50ms);
        return count("q quits") >= 2;
      },
      10s, "a first screen and one redraw"))
      << screen;
  EXPECT_NE(screen.find("\x1b[?1049h"), std::string::npos) << "not on the alternate screen";
  EXPECT_NE(screen.find("memory ["), std::string::npos) << screen;
  EXPECT_NE(screen.find("alpha"), std::string::npos) << screen;
  ASSERT_EQ(::write(master, "q", 1), 1);
  int status = -1;
  const ::testing::AssertionResult exited = WaitFor(
      [&] {
        read_for(50ms);  // returns at once once the terminal is closed: the exit is moments away
        return ::waitpid(pid, &status, WNOHANG) == pid;
      },
      10s, "cortex top to exit after q");
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(exited) << "q did not quit";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  read_for(100ms);
  EXPECT_NE(screen.rfind("\x1b[?1049l"), std::string::npos) << "the terminal was not given back";
  ::close(master);
}

}  // namespace
}  // namespace cortex::testing
