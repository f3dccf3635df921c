// Burst switch orchestration: how long `POST /admin/burst?wait=1` takes beyond the engines' own
// load time.
//
// Writes a config with three simulated engines on one pool: "deep" (llama.cpp flavor, synthetic
// GGUF) with a burst profile that pauses "fast-a" (vLLM flavor, sleep mode: slept) and "fast-b"
// (vLLM flavor, no sleep mode: stopped); each loads in --load seconds. Checks it with
// `cortex plan` (normal and burst), starts `cortex up`, waits for every engine to be ready, then
// N times turns the burst on and off with ?wait=1 and times each answer.
//
// A watcher thread follows the engine logs under the supervisor's log dir (inotify) and stamps
// every line as it appears, so each switch splits into: before the first engine start (drain,
// SIGTERM -> exit, ledger), the engines' own loads (process start to the engine's "loaded"
// line), readiness detection (engine's line -> the supervisor's "[cortex] ready"), and the
// answer (settled -> HTTP reply). References: `cortex sim` started alone with the same argv
// (cold start, polled every 2 ms), and POST /admin/engines/deep/restart.
//
//   cortex_burst_bench CORTEX_BINARY [--switches N] [--load SECONDS] [--keep]
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/demo_config.h"
#include "model/synthetic_model.h"
#include "net/http_client.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace {

using namespace cortex;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

const char* const kEngines[] = {"deep", "fast-a", "fast-b"};

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Nearest-rank percentile.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

StatusOr<net::BlockingHttpResult> Http(
    uint16_t port, const std::string& method, const std::string& target,
    const std::string& body = "", std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  net::BlockingHttpRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.timeout = timeout;
  if (!body.empty()) req.headers["content-type"] = "application/json";
  return net::BlockingHttp("127.0.0.1", port, req);
}

// Engine name -> state from /admin/status; empty on failure.
std::map<std::string, std::string> States(uint16_t port, json::object* root = nullptr) {
  std::map<std::string, std::string> out;
  auto r = Http(port, "GET", "/admin/status", "", std::chrono::seconds(5));
  if (!r.ok() || r->status != 200) return out;
  json::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return out;
  for (const json::value& e : v.as_object().at("engines").as_array()) {
    out[std::string(e.at("name").as_string())] = std::string(e.at("state").as_string());
  }
  if (root) *root = v.as_object();
  return out;
}

bool AllReady(const std::map<std::string, std::string>& s) {
  if (s.size() != std::size(kEngines)) return false;
  for (const auto& [name, state] : s)
    if (state != "ready") return false;
  return true;
}

// ---- log watcher ----

enum class Ev {
  kStop,       // [cortex] stopping: ...
  kSimTerm,    // engine's own shutdown line
  kExited,     // [cortex] exited / killed
  kStart,      // [cortex] starting (profile ...)
  kSimLoaded,  // engine's own "model loaded" / "Starting vLLM server" line
  kReady,      // [cortex] ready
  kSimSleep,   // engine: sleep the engine
  kAsleep,     // [cortex] asleep
  kSimWake,    // engine: wake up the engine
  kAwake,      // [cortex] awake
  kOther,
};

const char* EvName(Ev e) {
  switch (e) {
    case Ev::kStop:
      return "[cortex] stopping";
    case Ev::kSimTerm:
      return "engine: shutting down";
    case Ev::kExited:
      return "[cortex] exited";
    case Ev::kStart:
      return "[cortex] starting";
    case Ev::kSimLoaded:
      return "engine: loaded/listening";
    case Ev::kReady:
      return "[cortex] ready";
    case Ev::kSimSleep:
      return "engine: sleep";
    case Ev::kAsleep:
      return "[cortex] asleep";
    case Ev::kSimWake:
      return "engine: wake_up";
    case Ev::kAwake:
      return "[cortex] awake";
    case Ev::kOther:
      return "other";
  }
  return "?";
}

Ev Classify(const std::string& line) {
  auto has = [&](const char* s) { return line.find(s) != std::string::npos; };
  if (has("[cortex] stopping")) return Ev::kStop;
  if (has("[cortex] exited") || has("[cortex] killed by signal")) return Ev::kExited;
  if (has("[cortex] starting (profile")) return Ev::kStart;
  if (has("[cortex] ready")) return Ev::kReady;
  if (has("[cortex] asleep")) return Ev::kAsleep;
  if (has("[cortex] awake")) return Ev::kAwake;
  if (has("cleaning up before exit") || has("Shutting down")) return Ev::kSimTerm;
  if (has("llama_server: model loaded") || has("Starting vLLM server on")) return Ev::kSimLoaded;
  if (has("sleep the engine with level")) return Ev::kSimSleep;
  if (has("wake up the engine")) return Ev::kSimWake;
  return Ev::kOther;
}

struct Event {
  Clock::time_point t;
  std::string engine;
  Ev kind;
  std::string line;
};

// Follows DIR/ENGINE.log for every engine with inotify and stamps each complete line when it
// appears (the supervisor flushes every write).
class LogWatcher {
 public:
  explicit LogWatcher(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    inotify_add_watch(fd_, dir_.c_str(), IN_MODIFY | IN_CREATE);
    thread_ = std::thread([this] { Run(); });
  }
  ~LogWatcher() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::vector<Event> Between(Clock::time_point a, Clock::time_point b) {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const Event& e : events_)
      if (e.t >= a && e.t < b && e.kind != Ev::kOther) out.push_back(e);
    return out;
  }

 private:
  void Run() {
    std::map<std::string, std::pair<uint64_t, std::string>> files;  // offset, partial line
    char buf[8192];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, 20);
      while (read(fd_, buf, sizeof buf) > 0) {
      }
      const auto now = Clock::now();
      for (const char* name : kEngines) {
        const std::string path = dir_ + "/" + name + ".log";
        std::ifstream in(path, std::ios::binary);
        if (!in) continue;
        auto& [offset, partial] = files[name];
        in.seekg(static_cast<std::streamoff>(offset));
        std::string fresh((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (fresh.empty()) continue;
        offset += fresh.size();
        partial += fresh;
        size_t start = 0;
        std::lock_guard lock(mu_);
        for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
          std::string line = partial.substr(start, nl - start);
          events_.push_back(Event{now, name, Classify(line), std::move(line)});
        }
        partial.erase(0, start);
      }
    }
  }
  std::string dir_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Event> events_;
  std::thread thread_;
};

// ---- one switch, split into segments ----

struct Switch {
  double total_ms = 0;
  double pre_ms = 0;         // POST -> first engine start (drain, stop, exit, ledger)
  double load_ms = 0;        // union of [start, engine loaded] over the engines started
  int sequential_loads = 0;  // disjoint load intervals (each is one sim-load-seconds)
  double middle_ms = 0;      // gaps between load intervals (readiness detection, next start)
  double detect_ms = 0;      // last engine loaded -> its [cortex] ready
  double answer_ms = 0;      // last [cortex] ready -> HTTP answer
  std::vector<double> detect_each_ms;  // engine loaded -> [cortex] ready, every engine
  std::vector<Event> events;
  Clock::time_point t0;
};

Switch Analyse(Clock::time_point t0, Clock::time_point t1, std::vector<Event> events) {
  Switch s;
  s.t0 = t0;
  s.total_ms = Ms(t1 - t0);
  s.events = std::move(events);
  std::map<std::string, Clock::time_point> start, loaded, ready;
  for (const Event& e : s.events) {
    if (e.kind == Ev::kStart) start[e.engine] = e.t;
    if (e.kind == Ev::kSimLoaded) loaded[e.engine] = e.t;
    if (e.kind == Ev::kReady || e.kind == Ev::kAwake) ready[e.engine] = e.t;
  }
  std::vector<std::pair<Clock::time_point, Clock::time_point>> loads;
  for (const auto& [name, t] : start) {
    if (loaded.count(name)) {
      loads.push_back({t, loaded[name]});
      if (ready.count(name)) s.detect_each_ms.push_back(Ms(ready[name] - loaded[name]));
    }
  }
  std::sort(loads.begin(), loads.end());
  std::vector<std::pair<Clock::time_point, Clock::time_point>> merged;
  for (const auto& l : loads) {
    if (!merged.empty() && l.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, l.second);
    } else {
      merged.push_back(l);
    }
  }
  s.sequential_loads = static_cast<int>(merged.size());
  for (const auto& m : merged)
    s.load_ms += Ms(m.second - m.first);
  Clock::time_point last_ready = t0;
  for (const auto& [name, t] : ready)
    last_ready = std::max(last_ready, t);
  if (!merged.empty()) {
    s.pre_ms = Ms(merged.front().first - t0);
    s.detect_ms = Ms(std::max(last_ready, merged.back().second) - merged.back().second);
  }
  s.answer_ms = Ms(t1 - last_ready);
  s.middle_ms = s.total_ms - s.pre_ms - s.load_ms - s.detect_ms - s.answer_ms;
  return s;
}

void PrintTimeline(const char* title, const Switch& s) {
  std::printf("\n%s (ms after the POST; from the engine logs):\n\n", title);
  for (const Event& e : s.events)
    std::printf("  %8.1f  %-7s %-24s %.90s\n", Ms(e.t - s.t0), e.engine.c_str(), EvName(e.kind),
                e.line.c_str());
}

std::string ChatBody(const std::string& lane) {
  return fmt::format(
      R"({{"model":"{}","messages":[{{"role":"user","content":"hi"}}],"max_tokens":4}})", lane);
}

// Starts `argv` (the supervisor's argv for an engine, port replaced) and times it to /health 200.
double ColdStartMs(std::vector<std::string> argv, const std::string& log) {
  const uint16_t port = testing::PickFreePort();
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--port") argv[i + 1] = std::to_string(port);
  const auto t0 = Clock::now();
  auto p = testing::Subprocess::Start(argv, log);
  if (!p.ok()) return -1;
  double ms = -1;
  while (Clock::now() - t0 < std::chrono::seconds(30)) {
    auto r = Http(port, "GET", "/health", "", std::chrono::milliseconds(500));
    if (r.ok() && r->status == 200) {
      ms = Ms(Clock::now() - t0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  (*p)->Stop();
  return ms;
}

std::vector<std::string> Argv(const json::object& status, const std::string& engine,
                              const std::string& cortex) {
  std::vector<std::string> argv;
  for (const json::value& e : status.at("engines").as_array()) {
    if (e.at("name").as_string() != engine) continue;
    for (const json::value& a : e.at("flags").as_array())
      argv.emplace_back(a.as_string());
  }
  if (!argv.empty()) argv[0] = cortex;
  return argv;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORTEX_BINARY [--switches N] [--load SECONDS] [--keep]\n",
                 argv[0]);
    return 2;
  }
  const std::string cortex = argv[1];
  int switches = 10;
  double load = 0.5;
  bool keep = false;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--keep") keep = true;
    if (i + 1 >= argc) continue;
    if (flag == "--switches")
      switches = std::stoi(argv[++i]);
    else if (flag == "--load")
      load = std::stod(argv[++i]);
  }

  testing::TempDir dir;
  testing::SyntheticModelSpec deep = cli::DemoDeepReaderSpec();
  deep.name = "bench-deep";
  if (!testing::WriteSyntheticModel(dir.File("deep.gguf"), deep).ok()) return 3;

  const uint16_t gw = testing::PickFreePort();
  const std::string logs = dir.File("logs");
  const std::string yaml = fmt::format(
      R"(machine:
  memory: 14GiB
  gpu_pool: 11GiB
  bandwidth: 256GB/s
  reserve: {{ os: 2GiB, backend: 1GiB }}
engines:
  fast-a:
    engine: sim
    model: {{ hf: Qwen/Qwen2.5-0.5B-Instruct, quant: bf16 }}
    port: {}
    budget: 3584MiB
    flags: {{ flavor: vllm, served-model-name: Qwen/Qwen2.5-0.5B-Instruct, max-model-len: 16384, enable-sleep-mode: true, sim-load-seconds: {}, sim-ttft-ms: 0, sim-itl-ms: 1 }}
  fast-b:
    engine: sim
    model: {{ hf: Qwen/Qwen2.5-0.5B-Instruct, quant: bf16 }}
    port: {}
    budget: 3584MiB
    flags: {{ flavor: vllm, served-model-name: Qwen/Qwen2.5-0.5B-Instruct, max-model-len: 16384, sim-load-seconds: {}, sim-ttft-ms: 0, sim-itl-ms: 1 }}
  deep:
    engine: sim
    model: {}
    port: {}
    budget: 1536MiB
    flags: {{ flavor: llama.cpp, ctx-size: 65536, parallel: 1, cache-ram: 0, flash-attn: on, sim-load-seconds: {}, sim-ttft-ms: 0, sim-itl-ms: 1 }}
    profiles:
      burst:
        budget: 8GiB
        flags: {{ ctx-size: 524288 }}
        pauses: [fast-a, fast-b]
lanes:
  a: {{ engine: fast-a }}
  b: {{ engine: fast-b }}
  reader: {{ engine: deep, priority: batch }}
profiles:
  burst: {{ description: "deep takes the memory of fast-a and fast-b" }}
gateway: {{ listen: "127.0.0.1:{}" }}
supervisor: {{ log_dir: "{}", drain_timeout: 5, stop_timeout: 5, load_wait: 5 }}
)",
      testing::PickFreePort(), load, testing::PickFreePort(), load, dir.File("deep.gguf"),
      testing::PickFreePort(), load, gw, logs);
  // served-model-name is explicit: the supervisor would serve vLLM engines under the engine name
  // while the gateway rewrites `model` to the HF id (a 404 from the engine, 2026-11-29).
  // load_wait 5 s: a request to a paused lane waits that long for the burst to end, then 503.
  const std::string config = dir.File("burst.yaml");
  std::ofstream(config) << yaml;

  // The plan must fit normally and under the burst profile.
  for (const std::string profile : {"normal", "burst"}) {
    const std::string cmd = fmt::format("'{}' plan -c '{}' --profile {} > '{}' 2>&1", cortex,
                                        config, profile, dir.File("plan-" + profile + ".txt"));
    const int rc = std::system(cmd.c_str());
    if (rc != 0) {
      std::fprintf(stderr, "cortex plan --profile %s: exit %d\n%s", profile.c_str(), rc,
                   testing::ReadWholeFile(dir.File("plan-" + profile + ".txt")).c_str());
      return 3;
    }
  }

  LogWatcher watcher(logs);
  auto up = testing::Subprocess::Start({cortex, "up", "-c", config}, dir.File("up.log"));
  const auto boot0 = Clock::now();
  bool ready = false;
  while (up.ok() && Clock::now() - boot0 < std::chrono::seconds(60)) {
    if (AllReady(States(gw))) {
      ready = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!ready) {
    std::fprintf(stderr, "cortex up did not get every engine ready; files in %s\n%s",
                 dir.path().c_str(), testing::ReadWholeFile(dir.File("up.log")).c_str());
    if (up.ok()) (*up)->Stop();
    std::filesystem::remove_all("/tmp/cortex-burst-bench");
    std::filesystem::copy(dir.path(), "/tmp/cortex-burst-bench",
                          std::filesystem::copy_options::recursive);
    std::fprintf(stderr, "config and logs copied to /tmp/cortex-burst-bench\n");
    return 3;
  }
  json::object normal_status;
  States(gw, &normal_status);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // One switch: POST, wait for the answer, then a pause so the last log lines are in.
  auto burst = [&](bool on, Clock::time_point* t0, Clock::time_point* t1) {
    *t0 = Clock::now();
    auto r = Http(gw, "POST", "/admin/burst?wait=1", on ? R"({"on":true})" : R"({"on":false})");
    *t1 = Clock::now();
    bool settled = false;
    if (r.ok() && r->status == 200) {
      json::error_code ec;
      json::value v = json::parse(r->body, ec);
      settled = !ec && v.at("burst").at("settled").as_bool();
    }
    if (!settled) {
      std::fprintf(stderr, "burst %s: %s\n", on ? "on" : "off",
                   r.ok() ? r->body.substr(0, 300).c_str() : r.status().ToString().c_str());
    }
    return settled;
  };

  std::vector<Switch> ons, offs;
  json::object burst_status;
  int failures = 0;
  for (int i = 0; i < switches; ++i) {
    Clock::time_point a0, a1, b0, b1;
    failures += !burst(true, &a0, &a1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (i == 0) States(gw, &burst_status);
    failures += !burst(false, &b0, &b1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto after = Clock::now();
    ons.push_back(Analyse(a0, a1, watcher.Between(a0, b0)));
    offs.push_back(Analyse(b0, b1, watcher.Between(b0, after)));
    if (!AllReady(States(gw))) {
      std::fprintf(stderr, "switch %d: not every engine ready after burst off\n", i);
      ++failures;
    }
  }

  // References. (1) The deep engine restarted through the admin API, polled every 5 ms.
  std::vector<double> restart_ms;
  std::vector<Switch> restarts;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    auto r = Http(gw, "POST", "/admin/engines/deep/restart");
    if (!r.ok() || r->status != 200) {
      ++failures;
      continue;
    }
    bool left = false;  // the status must leave "ready" before it counts as ready again
    while (Clock::now() - t0 < std::chrono::seconds(30)) {
      const std::string st = States(gw)["deep"];
      if (st != "ready") left = true;
      if (left && st == "ready") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const auto t1 = Clock::now();
    restart_ms.push_back(Ms(t1 - t0));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    restarts.push_back(Analyse(t0, t1, watcher.Between(t0, Clock::now())));
  }
  // Requests to the paused lanes across a switch: sent while the burst is on, answered when
  // the burst is off and their engine is back (fast-a woken, fast-b restarted).
  struct Waited {
    std::vector<double> a_ms, b_ms;  // from the burst-off POST to the answer
    std::vector<int> a_status, b_status;
    std::vector<double> ready_a_ms, ready_b_ms;  // from the burst-off POST to [cortex] ready
    std::vector<double> on_a_ms;                 // a request to a paused lane during burst on
    std::vector<int> on_a_status;
  } waited;
  // Last, so that a gateway failure here cannot spoil the figures above.
  const int request_rounds = std::max(3, switches / 2);
  for (int i = 0; i < request_rounds && !(*up)->Poll(); ++i) {
    Clock::time_point a0, a1, b0, b1;
    // During the burst-on switch: a request to lane a (its engine is being slept).
    std::atomic<double> on_ms{-1};
    std::atomic<int> on_status{0};
    std::thread during([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const auto t = Clock::now();
      auto r = Http(gw, "POST", "/v1/chat/completions", ChatBody("a"));
      on_ms = Ms(Clock::now() - t);
      on_status = r.ok() ? r->status : -1;
    });
    failures += !burst(true, &a0, &a1);
    during.join();
    waited.on_a_ms.push_back(on_ms);
    waited.on_a_status.push_back(on_status);
    // Parked requests: sent while the burst is on.
    std::atomic<int> sa{0}, sb{0};
    Clock::time_point ta, tb;
    std::thread ra([&] {
      auto r = Http(gw, "POST", "/v1/chat/completions", ChatBody("a"));
      ta = Clock::now();
      sa = r.ok() ? r->status : -1;
    });
    std::thread rb([&] {
      auto r = Http(gw, "POST", "/v1/chat/completions", ChatBody("b"));
      tb = Clock::now();
      sb = r.ok() ? r->status : -1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    failures += !burst(false, &b0, &b1);
    ra.join();
    rb.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    waited.a_ms.push_back(Ms(ta - b0));
    waited.b_ms.push_back(Ms(tb - b0));
    waited.a_status.push_back(sa);
    waited.b_status.push_back(sb);
    for (const Event& e : watcher.Between(b0, Clock::now())) {
      if (e.kind != Ev::kReady) continue;
      if (e.engine == "fast-a") waited.ready_a_ms.push_back(Ms(e.t - b0));
      if (e.engine == "fast-b") waited.ready_b_ms.push_back(Ms(e.t - b0));
    }
  }

  std::optional<int> up_exit = (*up)->Poll();
  if (up_exit) {
    std::fprintf(stderr, "cortex up exited with status %d during the run; see %s\n", *up_exit,
                 dir.File("up.log").c_str());
    ++failures;
    keep = true;
  } else {
    (*up)->Stop(std::chrono::seconds(10));
  }

  // (2) The same engines started alone with the supervisor's argv, /health polled every 2 ms.
  std::vector<double> cold_deep, cold_deep_burst, cold_vllm;
  const auto deep_argv = Argv(normal_status, "deep", cortex);
  const auto deep_burst_argv = Argv(burst_status, "deep", cortex);
  const auto vllm_argv = Argv(normal_status, "fast-b", cortex);
  for (int i = 0; i < 5; ++i) {
    cold_deep.push_back(ColdStartMs(deep_argv, dir.File("cold.log")));
    cold_deep_burst.push_back(ColdStartMs(deep_burst_argv, dir.File("cold.log")));
    cold_vllm.push_back(ColdStartMs(vllm_argv, dir.File("cold.log")));
  }

  // ---- report ----
  auto col = [](const std::vector<Switch>& v, double Switch::*f) {
    std::vector<double> out;
    for (const Switch& s : v)
      out.push_back(s.*f);
    return out;
  };
  auto med = [](const std::vector<double>& v) { return Percentile(v, 0.5); };
  auto p90 = [](const std::vector<double>& v) { return Percentile(v, 0.9); };
  auto seq = [&](const std::vector<Switch>& v) {
    std::vector<double> out;
    for (const Switch& s : v)
      out.push_back(s.sequential_loads);
    return med(out);
  };
  auto detect_all = [](const std::vector<Switch>& v) {
    std::vector<double> out;
    for (const Switch& s : v)
      out.insert(out.end(), s.detect_each_ms.begin(), s.detect_each_ms.end());
    return out;
  };

  std::printf("\n## Burst switch orchestration (%d switches each way, sim-load-seconds %.2f)\n\n",
              switches, load);
  std::printf("| | burst on | burst off | deep restart (admin) |\n|---|---:|---:|---:|\n");
  auto row = [&](const char* what, double Switch::*f) {
    const auto a = col(ons, f), b = col(offs, f), c = col(restarts, f);
    auto z = [](double x) { return std::abs(x) < 0.5 ? 0.0 : x; };  // no "-0"
    std::printf("| %s | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f |\n", what, z(med(a)), z(p90(a)),
                z(med(b)), z(p90(b)), z(med(c)), z(p90(c)));
  };
  row("**total switch** (POST -> answer), median / p90 ms", &Switch::total_ms);
  std::printf("| sequential engine loads on the path (x %.0f ms nominal) | %.0f | %.0f | %.0f |\n",
              load * 1000, seq(ons), seq(offs), seq(restarts));
  row("engines' own load: `starting` -> engine's loaded line, ms", &Switch::load_ms);
  std::vector<double> over_on, over_off, over_rs, nominal_on, nominal_off, nominal_rs;
  for (const Switch& s : ons)
    over_on.push_back(s.total_ms - s.load_ms);
  for (const Switch& s : offs)
    over_off.push_back(s.total_ms - s.load_ms);
  for (const Switch& s : restarts)
    over_rs.push_back(s.total_ms - s.load_ms);
  for (const Switch& s : ons)
    nominal_on.push_back(s.total_ms - 1000 * load * s.sequential_loads);
  for (const Switch& s : offs)
    nominal_off.push_back(s.total_ms - 1000 * load * s.sequential_loads);
  for (const Switch& s : restarts)
    nominal_rs.push_back(s.total_ms - 1000 * load * s.sequential_loads);
  std::printf(
      "| **orchestration overhead** = total - own load, ms | %.0f / %.0f | %.0f / %.0f | "
      "%.0f / %.0f |\n",
      med(over_on), p90(over_on), med(over_off), p90(over_off), med(over_rs), p90(over_rs));
  std::printf(
      "| total - nominal sim-load-seconds, ms | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f |\n",
      med(nominal_on), p90(nominal_on), med(nominal_off), p90(nominal_off), med(nominal_rs),
      p90(nominal_rs));
  row("&nbsp;&nbsp;before the first start (drain, SIGTERM -> exit, ledger), ms", &Switch::pre_ms);
  row("&nbsp;&nbsp;between loads (readiness detection + next start), ms", &Switch::middle_ms);
  row("&nbsp;&nbsp;last engine loaded -> `[cortex] ready`, ms", &Switch::detect_ms);
  row("&nbsp;&nbsp;last ready -> HTTP answer (settle poll, 20 ms), ms", &Switch::answer_ms);
  {
    const auto a = detect_all(ons), b = detect_all(offs), c = detect_all(restarts);
    std::printf(
        "| readiness detection per engine (loaded line -> `[cortex] ready`), ms | %.0f / "
        "%.0f | %.0f / %.0f | %.0f / %.0f |\n",
        med(a), p90(a), med(b), p90(b), med(c), p90(c));
  }
  std::printf("\n| reference | median ms | p90 ms |\n|---|---:|---:|\n");
  std::printf("| deep restart via admin API, status polled every 5 ms | %.0f | %.0f |\n",
              med(restart_ms), p90(restart_ms));
  std::printf(
      "| `cortex sim` deep (normal flags) alone, cold start to /health 200 | %.0f | %.0f |\n",
      med(cold_deep), p90(cold_deep));
  std::printf(
      "| `cortex sim` deep (burst flags) alone, cold start to /health 200 | %.0f | %.0f |\n",
      med(cold_deep_burst), p90(cold_deep_burst));
  std::printf("| `cortex sim` vLLM fast-b alone, cold start to /health 200 | %.0f | %.0f |\n",
              med(cold_vllm), p90(cold_vllm));
  std::printf(
      "\n| request to a paused lane | median ms | p90 ms | statuses |\n|---|---:|---:|---|\n");
  auto statuses = [](const std::vector<int>& v) {
    std::string s;
    for (int x : v) {
      if (!s.empty()) s += ' ';
      s += std::to_string(x);
    }
    return s;
  };
  // Times only of requests that got an HTTP answer.
  auto answered = [](const std::vector<double>& ms, const std::vector<int>& st) {
    std::vector<double> out;
    for (size_t i = 0; i < ms.size() && i < st.size(); ++i)
      if (st[i] > 0) out.push_back(ms[i]);
    return out;
  };
  auto req_row = [&](const char* what, const std::vector<double>& ms, const std::vector<int>& st) {
    const auto ok = answered(ms, st);
    if (ok.empty()) {
      std::printf("| %s | - | - | %s |\n", what, statuses(st).c_str());
    } else {
      std::printf("| %s | %.0f | %.0f | %s |\n", what, med(ok), p90(ok), statuses(st).c_str());
    }
  };
  req_row("lane a, sent 20 ms into burst on, until answered (load_wait 5 s)", waited.on_a_ms,
          waited.on_a_status);
  req_row("lane a (slept), parked during burst: burst-off POST -> answer", waited.a_ms,
          waited.a_status);
  if (!waited.ready_a_ms.empty()) {
    std::printf(
        "| &nbsp;&nbsp;fast-a `[cortex] ready` after the burst-off POST | %.0f | %.0f | |\n",
        med(waited.ready_a_ms), p90(waited.ready_a_ms));
  }
  req_row("lane b (stopped), parked during burst: burst-off POST -> answer", waited.b_ms,
          waited.b_status);
  if (!waited.ready_b_ms.empty()) {
    std::printf(
        "| &nbsp;&nbsp;fast-b `[cortex] ready` after the burst-off POST | %.0f | %.0f | |\n",
        med(waited.ready_b_ms), p90(waited.ready_b_ms));
  }
  if (up_exit) {
    std::printf("\n`cortex up` exited with status %d during the run (128 + signal when killed)\n",
                *up_exit);
  }
  std::printf("\nfailures: %d\n", failures);

  if (!ons.empty()) {
    PrintTimeline("Sequence, burst on (switch 1)", ons.front());
    PrintTimeline("Sequence, burst off (switch 1)", offs.front());
  }
  if (!restarts.empty()) PrintTimeline("Sequence, deep restart (1)", restarts.front());

  if (keep) {
    const std::string kept = "/tmp/cortex-burst-bench";
    std::filesystem::remove_all(kept);
    std::filesystem::copy(dir.path(), kept, std::filesystem::copy_options::recursive);
    std::printf("\nconfig and logs copied to %s\n", kept.c_str());
  }
  return failures == 0 ? 0 : 1;
}
