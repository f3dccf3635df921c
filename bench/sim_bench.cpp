// The simulator's pacing under load, measured from the client side.
//
// Each benchmark starts a real `cortex sim` process (the binary tests use), opens N concurrent
// streamed chat completions against it from one client thread (Asio coroutines over
// net::HttpConnection), timestamps every SSE token event as it arrives, and reports:
//   ttft_*  time from the request having been written to the socket to the first content token,
//           median and p99, ms;
//   itl_*   gaps between consecutive content tokens of one stream, median and p99, ms;
//   *_err   |median - configured| / configured, the figure the 10% target is about;
//   completed, failed   streams that reached [DONE] / did not;
//   sim_rss_mib         the simulator's peak RSS (VmHWM) after the run.
//   sim_cpu_s           CPU seconds the simulator used during the run.
// Configured pacing: --sim-ttft-ms 200 --sim-itl-ms 20, 50 tokens per stream (and a 1,000-stream
// run at 100 ms, 20 tokens). 1 and 64 streams use the llama.cpp flavor (-np 64, so no request
// queues); 1,000 streams the vLLM flavor (--max-num-seqs 1024; llama.cpp caps -np at 256).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/synthetic_model.h"
#include "net/http_client.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Pacing of one run: what the simulator is told, and how long each stream is.
struct Pace {
  double ttft_ms = 200;
  double itl_ms = 20;
  int tokens = 50;
};

struct StreamStats {
  std::vector<double> ttft_ms;
  std::vector<double> itl_ms;
  int completed = 0;
  int failed = 0;
};

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// One streamed request; every content event's arrival time goes into `stats`.
asio::awaitable<void> OneStream(uint16_t port, const std::string& body, StreamStats& stats) {
  auto ex = co_await asio::this_coro::executor;
  auto conn = co_await net::HttpConnection::Connect(ex, "127.0.0.1", port, 30s);
  if (!conn.ok()) {
    ++stats.failed;
    co_return;
  }
  net::HttpRequest req{net::http::verb::post, "/v1/chat/completions", 11};
  req.set(net::http::field::host, "127.0.0.1");
  req.set(net::http::field::content_type, "application/json");
  req.body() = body;
  if (!(co_await (*conn)->Write(req, 30s)).ok()) {
    ++stats.failed;
    co_return;
  }
  // TTFT counts from the moment the whole request has been handed to the socket.
  const Clock::time_point start = Clock::now();
  if (!(co_await (*conn)->ReadHeader(60s)).ok()) {
    ++stats.failed;
    co_return;
  }
  std::string pending;
  Clock::time_point last;
  bool first = true;
  bool done = false;
  for (;;) {
    auto piece = co_await (*conn)->ReadSome(60s);
    if (!piece.ok()) break;
    if (piece->empty()) break;
    const Clock::time_point now = Clock::now();
    pending += *piece;
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string_view event(pending.data(), end);
      if (event.find(R"("delta":{"content":")") != std::string_view::npos) {
        if (first) {
          stats.ttft_ms.push_back(Ms(now - start));
          first = false;
        } else {
          stats.itl_ms.push_back(Ms(now - last));
        }
        last = now;
      }
      if (event == "data: [DONE]") done = true;
      pending.erase(0, end + 2);
    }
  }
  ++(done ? stats.completed : stats.failed);
}

// `rounds` waves of `streams` concurrent requests, each wave after the previous finished.
StreamStats RunStreams(uint16_t port, const std::string& body, int streams, int rounds) {
  StreamStats stats;
  for (int r = 0; r < rounds; ++r) {
    asio::io_context io(1);
    for (int i = 0; i < streams; ++i)
      asio::co_spawn(io, OneStream(port, body, stats), asio::detached);
    io.run();
  }
  return stats;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// User + system CPU seconds the process has used (/proc/PID/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i >= 14) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

uint64_t PeakRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

bool WaitHealthy(uint16_t port) {
  for (int i = 0; i < 500; ++i) {
    net::BlockingHttpRequest req;
    req.target = "/health";
    req.timeout = 1s;
    auto r = net::BlockingHttp("127.0.0.1", port, req);
    if (r.ok() && r->status == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void RunSimBenchmark(benchmark::State& state, bool vllm, int streams, int rounds, int slots,
                     Pace pace = {}) {
  testing::TempDir dir;
  const uint16_t port = testing::PickFreePort();
  std::vector<std::string> argv = {CORTEX_BINARY, "sim"};
  if (vllm) {
    argv.insert(argv.end(),
                {"--flavor", "vllm", "Qwen/Qwen2.5-0.5B-Instruct", "--max-model-len", "4096",
                 "--kv-cache-memory-bytes", "4G", "--max-num-seqs", std::to_string(slots)});
  } else {
    const std::string model = dir.File("model.gguf");
    if (!testing::WriteSyntheticModel(model, testing::SyntheticModelSpec{}).ok()) {
      state.SkipWithError("cannot write the model");
      return;
    }
    argv.insert(argv.end(), {"--flavor", "llama.cpp", "-m", model, "-c",
                             std::to_string(256 * slots), "-np", std::to_string(slots)});
  }
  argv.insert(argv.end(), {"--host", "127.0.0.1", "--port", std::to_string(port),
                           "--sim-load-seconds", "0", "--sim-ttft-ms", std::to_string(pace.ttft_ms),
                           "--sim-itl-ms", std::to_string(pace.itl_ms)});
  auto proc = testing::Subprocess::Start(argv, dir.File("sim.log"));
  if (!proc.ok() || !WaitHealthy(port)) {
    state.SkipWithError("the simulator did not start");
    return;
  }
  const std::string body = R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":)" +
                           std::to_string(pace.tokens) + R"(,"stream":true})";
  StreamStats stats;
  const double cpu_before = CpuSeconds((*proc)->pid());
  for (auto _ : state) {
    stats = RunStreams(port, body, streams, rounds);
  }
  const double ttft_med = Percentile(stats.ttft_ms, 0.5);
  const double itl_med = Percentile(stats.itl_ms, 0.5);
  state.counters["streams"] = streams;
  state.counters["ttft_med_ms"] = ttft_med;
  state.counters["ttft_p99_ms"] = Percentile(stats.ttft_ms, 0.99);
  state.counters["ttft_cfg_ms"] = pace.ttft_ms;
  state.counters["ttft_err"] = std::abs(ttft_med - pace.ttft_ms) / pace.ttft_ms;
  state.counters["itl_med_ms"] = itl_med;
  state.counters["itl_p99_ms"] = Percentile(stats.itl_ms, 0.99);
  state.counters["itl_cfg_ms"] = pace.itl_ms;
  state.counters["itl_err"] = std::abs(itl_med - pace.itl_ms) / pace.itl_ms;
  state.counters["sim_cpu_s"] = CpuSeconds((*proc)->pid()) - cpu_before;
  state.counters["completed"] = stats.completed;
  state.counters["failed"] = stats.failed;
  state.counters["sim_rss_mib"] =
      static_cast<double>(PeakRssBytes((*proc)->pid())) / (1024.0 * 1024.0);
  (*proc)->Stop();
}

void BM_SimStreams_LlamaCpp_1(benchmark::State& state) {
  RunSimBenchmark(state, false, 1, 10, 64);
}
void BM_SimStreams_LlamaCpp_64(benchmark::State& state) {
  RunSimBenchmark(state, false, 64, 3, 64);
}
void BM_SimStreams_Vllm_1000(benchmark::State& state) {
  RunSimBenchmark(state, true, 1000, 1, 1024);
}
// 1,000 streams at 10 tokens/s each (about a 32B model's single-stream speed on the reference
// machine): 10,000 events/s in all instead of 50,000.
void BM_SimStreams_Vllm_1000_Itl100(benchmark::State& state) {
  RunSimBenchmark(state, true, 1000, 1, 1024, Pace{200, 100, 20});
}

// One iteration each: a run is already hundreds to tens of thousands of samples.
BENCHMARK(BM_SimStreams_LlamaCpp_1)
    ->Iterations(1)
    ->Repetitions(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimStreams_LlamaCpp_64)
    ->Iterations(1)
    ->Repetitions(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimStreams_Vllm_1000)
    ->Iterations(1)
    ->Repetitions(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimStreams_Vllm_1000_Itl100)
    ->Iterations(1)
    ->Repetitions(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cortex
