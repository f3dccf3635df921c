// Through the gateway vs straight to the engine: same client, same engine, one run.
//
// Starts `cortex sim --flavor llama.cpp` (instant tokens) and `cortex up` in front of it, then
// measures, for both paths alternately:
//   1. latency of complete (non-streamed) responses at concurrency 1, p50 and p99;
//   2. time to the first streamed byte at concurrency 1, p50 and p99;
//   3. throughput (requests/s) at concurrency 64;
//   4. streams held: N concurrent streams through the gateway (a slow engine keeps them open),
//      and the gateway's resident memory per stream.
// The client is one asio thread with keep-alive connections (net::HttpConnection), the same
// code for both paths, so the difference is the gateway's cost.
//
//   cortex_gateway_bench CORTEX_BINARY [--requests N] [--seconds S] [--streams N]
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "load_client.h"
#include "model/synthetic_model.h"
#include "net/http_client.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace {

using namespace cortex;
using namespace cortex::bench;

// Opens `n` streams through `port`, waits until every one has its first byte, samples the RSS of
// `pid`, then closes them. Returns the number of streams that were open at the sample.
int HoldStreams(uint16_t port, int n, pid_t pid, uint64_t* rss_kib) {
  using namespace std::chrono_literals;
  asio::io_context io;
  int open = 0;
  int finished = 0;
  std::vector<std::shared_ptr<net::HttpConnection>> conns;
  asio::steady_timer all_open(io);
  all_open.expires_at(asio::steady_timer::time_point::max());
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto c = co_await net::HttpConnection::Connect(io.get_executor(), "127.0.0.1", port, 30s);
          if (c.ok()) {
            std::shared_ptr<net::HttpConnection> conn(std::move(*c));
            conns.push_back(conn);
            net::HttpRequest req{http::verb::post, "/v1/chat/completions", 11};
            req.set(http::field::host, "127.0.0.1");
            req.set(http::field::content_type, "application/json");
            req.body() = Body(true, 30000);
            if ((co_await conn->Write(req, 60s)).ok() && (co_await conn->ReadHeader(120s)).ok()) {
              auto piece = co_await conn->ReadSome(120s);
              if (piece.ok() && !piece->empty()) ++open;
            }
          }
          if (++finished == n) all_open.cancel();
        },
        asio::detached);
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await all_open.async_wait(asio::as_tuple(asio::use_awaitable));
        std::this_thread::sleep_for(500ms);  // let the gateway settle
        *rss_kib = RssKiB(pid);
        for (auto& c : conns)
          c->Abort();
      },
      asio::detached);
  io.run();
  return open;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORTEX_BINARY [--requests N] [--seconds S] [--streams N]\n",
                 argv[0]);
    return 2;
  }
  const std::string cortex = argv[1];
  int requests = 2000;
  double seconds = 10;
  int streams = 5000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") requests = std::stoi(argv[i + 1]);
    if (flag == "--seconds") seconds = std::stod(argv[i + 1]);
    if (flag == "--streams") streams = std::stoi(argv[i + 1]);
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  testing::TempDir dir;
  testing::SyntheticModelSpec spec;
  if (!testing::WriteSyntheticModel(dir.File("m.gguf"), spec).ok()) return 3;

  // One slot per concurrent request we send, 1024 tokens each: the engine never queues, so
  // what we measure is the gateway.
  auto start_sim = [&](uint16_t port, int itl_ms, int slots, const std::string& log) {
    return testing::Subprocess::Start({cortex,
                                       "sim",
                                       "--flavor",
                                       "llama.cpp",
                                       "-m",
                                       dir.File("m.gguf"),
                                       "--host",
                                       "127.0.0.1",
                                       "--port",
                                       std::to_string(port),
                                       "-np",
                                       std::to_string(slots),
                                       "-c",
                                       std::to_string(1024 * slots),
                                       "--sim-load-seconds",
                                       "0",
                                       "--sim-ttft-ms",
                                       "0",
                                       "--sim-itl-ms",
                                       std::to_string(itl_ms)},
                                      dir.File(log));
  };
  auto start_gateway = [&](uint16_t port, uint16_t engine_port, const std::string& name,
                           const std::string& engine = "llama.cpp") {
    std::ofstream(dir.File(name + ".yaml")) << fmt::format(
        "machine: {{memory: 16GiB, bandwidth: 100GB/s}}\n"
        "engines:\n  sim: {{engine: {}, url: \"http://127.0.0.1:{}\"}}\n"
        "lanes:\n  bench: {{engine: sim, max_concurrency: 100000, queue: 100000}}\n"
        "gateway: {{listen: \"127.0.0.1:{}\", probe_interval: 5}}\n",
        engine, engine_port, port);
    return testing::Subprocess::Start({cortex, "up", "-c", dir.File(name + ".yaml")},
                                      dir.File(name + ".log"));
  };

  // Instant engine for latency and throughput.
  const uint16_t sim_port = testing::PickFreePort();
  auto sim = start_sim(sim_port, 0, 256, "sim.log");
  const uint16_t gw_port = testing::PickFreePort();
  auto gw = start_gateway(gw_port, sim_port, "gw");
  if (!sim.ok() || !gw.ok() || !WaitHealthy(sim_port, std::chrono::seconds(30)) ||
      !WaitHealthy(gw_port, std::chrono::seconds(30), "/lanes/bench/health")) {
    std::fprintf(stderr, "could not start sim and gateway; logs in %s\n", dir.path().c_str());
    return 3;
  }
  Sequential(sim_port, 200, false);  // warm up both paths
  Sequential(gw_port, 200, false);

  // Alternate blocks so both paths see the same machine state.
  Latencies direct, through, direct_s, through_s;
  for (int block = 0; block < 10; ++block) {
    auto append = [](Latencies& into, const Latencies& from) {
      into.first_us.insert(into.first_us.end(), from.first_us.begin(), from.first_us.end());
      into.total_us.insert(into.total_us.end(), from.total_us.begin(), from.total_us.end());
      into.failures += from.failures;
    };
    append(direct, Sequential(sim_port, requests / 10, false));
    append(through, Sequential(gw_port, requests / 10, false));
    append(direct_s, Sequential(sim_port, requests / 10, true));
    append(through_s, Sequential(gw_port, requests / 10, true));
  }
  // Throughput, and the CPU each process spends per request: on a small machine the three
  // processes share the cores, so CPU per request is the figure that travels.
  int tp_fail_direct = 0, tp_fail_gw = 0;
  uint64_t n_direct = 0, n_gw = 0;
  const double sim_cpu0 = CpuSeconds((*sim)->pid());
  const double tp_direct = Throughput(sim_port, 64, seconds, &tp_fail_direct, &n_direct);
  const double sim_cpu1 = CpuSeconds((*sim)->pid()), gw_cpu1 = CpuSeconds((*gw)->pid());
  const double tp_gw = Throughput(gw_port, 64, seconds, &tp_fail_gw, &n_gw);
  const double gw_cpu2 = CpuSeconds((*gw)->pid());

  std::printf("\n## Gateway overhead (one run)\n\n");
  std::printf("| measure | direct | through gateway | added |\n|---|---:|---:|---:|\n");
  auto row = [](const char* what, const std::vector<double>& d, const std::vector<double>& g,
                double p) {
    const double a = Percentile(d, p), b = Percentile(g, p);
    std::printf("| %s | %.0f us | %.0f us | %.0f us |\n", what, a, b, b - a);
  };
  row("complete response, c=1, p50", direct.total_us, through.total_us, 0.50);
  row("complete response, c=1, p99", direct.total_us, through.total_us, 0.99);
  row("first streamed byte, c=1, p50", direct_s.first_us, through_s.first_us, 0.50);
  row("first streamed byte, c=1, p99", direct_s.first_us, through_s.first_us, 0.99);
  std::printf("| throughput, c=64 | %.0f req/s | %.0f req/s | %.1f%% of direct |\n", tp_direct,
              tp_gw, 100.0 * tp_gw / tp_direct);
  std::printf("| CPU per request, c=64 | engine %.0f us | gateway %.0f us | |\n",
              1e6 * (sim_cpu1 - sim_cpu0) / static_cast<double>(std::max<uint64_t>(n_direct, 1)),
              1e6 * (gw_cpu2 - gw_cpu1) / static_cast<double>(std::max<uint64_t>(n_gw, 1)));
  std::printf(
      "\nrequests per latency series: %zu; failures: %d %d %d %d; throughput failures: %d %d\n",
      direct.total_us.size(), direct.failures, through.failures, direct_s.failures,
      through_s.failures, tp_fail_direct, tp_fail_gw);
  (*gw)->Stop();
  (*sim)->Stop();

  // Held streams: a slow engine (one token a second) keeps every stream open. llama-server
  // stops at 256 slots, so this engine is the vLLM flavor, which takes as many sequences as
  // --max-num-seqs allows (a 0.5B model keeps 12 KiB of KV cache a token: 16 GiB is plenty).
  const uint16_t slow_port = testing::PickFreePort();
  auto slow = testing::Subprocess::Start({cortex,
                                          "sim",
                                          "--flavor",
                                          "vllm",
                                          "Qwen/Qwen2.5-0.5B-Instruct",
                                          "--served-model-name",
                                          "qwen",
                                          "--max-model-len",
                                          "32768",
                                          "--max-num-seqs",
                                          std::to_string(streams + 16),
                                          "--kv-cache-memory-bytes",
                                          "16G",
                                          "--host",
                                          "127.0.0.1",
                                          "--port",
                                          std::to_string(slow_port),
                                          "--sim-load-seconds",
                                          "0",
                                          "--sim-ttft-ms",
                                          "0",
                                          "--sim-itl-ms",
                                          "1000"},
                                         dir.File("slow.log"));
  const uint16_t gw2_port = testing::PickFreePort();
  auto gw2 = start_gateway(gw2_port, slow_port, "gw2", "vllm");
  if (!slow.ok() || !gw2.ok() || !WaitHealthy(slow_port, std::chrono::seconds(30)) ||
      !WaitHealthy(gw2_port, std::chrono::seconds(30), "/lanes/bench/health")) {
    std::fprintf(stderr, "could not start the slow sim and gateway; logs in %s\n",
                 dir.path().c_str());
    return 3;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t idle_rss = RssKiB((*gw2)->pid());
  uint64_t held_rss = 0;
  const int open = HoldStreams(gw2_port, streams, (*gw2)->pid(), &held_rss);
  std::printf("\n| streams held through the gateway | %d of %d |\n|---|---:|\n", open, streams);
  std::printf("| gateway RSS idle | %.1f MiB |\n", static_cast<double>(idle_rss) / 1024);
  std::printf("| gateway RSS with the streams | %.1f MiB |\n",
              static_cast<double>(held_rss) / 1024);
  if (open > 0) {
    std::printf("| memory per held stream | %.1f KiB |\n",
                static_cast<double>(held_rss - std::min(held_rss, idle_rss)) / open);
  }
  (*gw2)->Stop();
  (*slow)->Stop();
  return 0;
}
