// Proxied requests with and without 100 dashboards watching: same gateway, same engine, one run.
//
// Starts `cortex up` supervising one `cortex sim --flavor llama.cpp` (instant tokens), then
// alternates blocks with no /admin/events client and with N of them connected (each reading
// every event, on a thread of its own), measuring in each block:
//   1. latency of complete responses at concurrency 1, p50 and p99;
//   2. throughput (requests/s) at concurrency 16;
//   3. the gateway's CPU per proxied request.
// Then, with the N clients and no requests, the gateway's CPU per second and the events each
// client received, which is what the streams cost by themselves.
//
//   cortex_dashboard_bench CORTEX_BINARY [--clients N] [--requests N] [--seconds S] [--blocks N]
#include <sys/resource.h>

#include <atomic>

#include "load_client.h"
#include "model/synthetic_model.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace {

using namespace cortex;
using namespace cortex::bench;
using namespace std::chrono_literals;

// N clients of GET /admin/events on their own io thread, counting events and bytes.
class Dashboards {
 public:
  Dashboards(uint16_t port, int n) : work_(asio::make_work_guard(io_)) {
    for (int i = 0; i < n; ++i) {
      asio::co_spawn(io_, Watch(port), asio::detached);
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Dashboards() {
    asio::post(io_, [this] {
      stopping_ = true;
      for (auto& c : conns_)
        c->Abort();
      work_.reset();
    });
    thread_.join();
  }
  int connected() const { return connected_; }
  uint64_t events() const { return events_; }
  uint64_t bytes() const { return bytes_; }

 private:
  asio::awaitable<void> Watch(uint16_t port) {
    auto c = co_await net::HttpConnection::Connect(io_.get_executor(), "127.0.0.1", port, 10s);
    if (!c.ok() || stopping_) co_return;
    std::shared_ptr<net::HttpConnection> conn(std::move(*c));
    conns_.push_back(conn);
    net::HttpRequest req{http::verb::get, "/admin/events", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, "text/event-stream");
    if (!(co_await conn->Write(req, 10s)).ok() || !(co_await conn->ReadHeader(10s)).ok() ||
        conn->status() != 200) {
      std::fprintf(stderr, "an /admin/events client was refused\n");
      co_return;
    }
    bool counted = false;
    for (;;) {
      auto piece = co_await conn->ReadSome(10s);
      if (!piece.ok() || piece->empty()) co_return;
      bytes_ += piece->size();
      for (size_t at = piece->find("event: "); at != std::string::npos;
           at = piece->find("event: ", at + 1))
        ++events_;
      if (!counted) {
        counted = true;
        ++connected_;
      }
    }
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::shared_ptr<net::HttpConnection>> conns_;
  bool stopping_ = false;
  std::atomic<int> connected_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> bytes_{0};
  std::thread thread_;
};

struct Block {
  Latencies latency;
  double throughput = 0;
  double cpu_us_per_request = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s CORTEX_BINARY [--clients N] [--requests N] [--seconds S] "
                 "[--blocks N]\n",
                 argv[0]);
    return 2;
  }
  const std::string cortex = argv[1];
  int clients = 100, requests = 2000, blocks = 4;
  double seconds = 8;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--clients") clients = std::stoi(argv[i + 1]);
    if (flag == "--requests") requests = std::stoi(argv[i + 1]);
    if (flag == "--seconds") seconds = std::stod(argv[i + 1]);
    if (flag == "--blocks") blocks = std::max(1, std::stoi(argv[i + 1]));
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  testing::TempDir dir;
  if (!testing::WriteSyntheticModel(dir.File("m.gguf"), testing::SyntheticModelSpec{}).ok()) {
    return 3;
  }
  // The engine under the supervisor, as `cortex up` runs it, so each snapshot carries what a
  // real dashboard gets: engines, ledger, machine, lanes.
  const uint16_t sim_port = testing::PickFreePort();
  const uint16_t gw_port = testing::PickFreePort();
  std::ofstream(dir.File("gw.yaml")) << fmt::format(
      "machine: {{memory: 16GiB, gpu_pool: 16GiB, bandwidth: 100GB/s}}\n"
      "engines:\n  sim:\n    engine: sim\n    model: {}\n    port: {}\n    budget: 4GiB\n"
      "    flags: {{flavor: llama.cpp, ctx-size: 65536, parallel: 64, cache-ram: 0, "
      "sim-load-seconds: 0, sim-ttft-ms: 0, sim-itl-ms: 0}}\n"
      "lanes:\n  bench: {{engine: sim, max_concurrency: 100000, queue: 100000}}\n"
      "gateway: {{listen: \"127.0.0.1:{}\", probe_interval: 5}}\n"
      "supervisor: {{log_dir: {}}}\n"
      "ingest: {{dir: {}}}\n",
      dir.File("m.gguf"), sim_port, gw_port, dir.File("logs"), dir.File("ingest"));
  auto gw =
      testing::Subprocess::Start({cortex, "up", "-c", dir.File("gw.yaml")}, dir.File("gw.log"));
  if (!gw.ok() || !WaitHealthy(gw_port, 30s, "/lanes/bench/health")) {
    std::fprintf(stderr, "could not start the gateway and its engine; logs in %s\n",
                 dir.path().c_str());
    return 3;
  }
  const pid_t gw_pid = (*gw)->pid();
  Sequential(gw_port, 300, false);  // warm up

  // Alternate quiet and watched blocks so both see the same machine state.
  Block quiet, watched;
  int failures = 0;
  auto run_block = [&](Block& into) {
    const Latencies l = Sequential(gw_port, requests / blocks, false);
    into.latency.total_us.insert(into.latency.total_us.end(), l.total_us.begin(), l.total_us.end());
    into.latency.failures += l.failures;
    uint64_t done = 0;
    const double cpu0 = CpuSeconds(gw_pid);
    into.throughput += Throughput(gw_port, 16, seconds / blocks, &failures, &done) / blocks;
    into.cpu_us_per_request += 1e6 * (CpuSeconds(gw_pid) - cpu0) /
                               static_cast<double>(std::max<uint64_t>(done, 1)) / blocks;
  };
  int fully_connected = 0;
  double loaded_events_per_client_s = 0;
  for (int b = 0; b < blocks; ++b) {
    run_block(quiet);
    Dashboards d(gw_port, clients);
    for (int i = 0; i < 200 && d.connected() < clients; ++i)
      std::this_thread::sleep_for(50ms);
    fully_connected += d.connected() == clients ? 1 : 0;
    const uint64_t e0 = d.events();
    const auto t0 = Clock::now();
    run_block(watched);
    loaded_events_per_client_s += static_cast<double>(d.events() - e0) /
                                  std::chrono::duration<double>(Clock::now() - t0).count() /
                                  clients / blocks;
  }
  // The streams by themselves: N clients, no requests.
  double idle_cpu_per_s = 0, events_per_client_s = 0, bytes_per_client_s = 0;
  {
    Dashboards d(gw_port, clients);
    for (int i = 0; i < 200 && d.connected() < clients; ++i)
      std::this_thread::sleep_for(50ms);
    const uint64_t e0 = d.events(), b0 = d.bytes();
    const double cpu0 = CpuSeconds(gw_pid);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(5s);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    idle_cpu_per_s = (CpuSeconds(gw_pid) - cpu0) / s;
    events_per_client_s = static_cast<double>(d.events() - e0) / s / clients;
    bytes_per_client_s = static_cast<double>(d.bytes() - b0) / s / clients;
  }

  std::printf("\n## Proxied requests with %d dashboards on /admin/events (one run)\n\n", clients);
  std::printf("| measure | no dashboard | %d dashboards | change |\n|---|---:|---:|---:|\n",
              clients);
  for (double p : {0.50, 0.99}) {
    const double a = Percentile(quiet.latency.total_us, p),
                 b = Percentile(watched.latency.total_us, p);
    std::printf("| complete response, c=1, p%.0f | %.0f us | %.0f us | %+.0f us |\n", p * 100, a, b,
                b - a);
  }
  std::printf("| throughput, c=16 | %.0f req/s | %.0f req/s | %+.1f%% |\n", quiet.throughput,
              watched.throughput, 100.0 * (watched.throughput / quiet.throughput - 1));
  std::printf("| gateway CPU per request, c=16 | %.0f us | %.0f us | %+.0f us |\n",
              quiet.cpu_us_per_request, watched.cpu_us_per_request,
              watched.cpu_us_per_request - quiet.cpu_us_per_request);
  std::printf(
      "\nWith %d dashboards and no requests: gateway CPU %.1f%% of a core; each dashboard gets "
      "%.2f events/s, %.0f bytes/s.\n",
      clients, 100 * idle_cpu_per_s, events_per_client_s, bytes_per_client_s);
  std::printf("Under load each dashboard got %.1f events/s (a change at most every 50 ms).\n",
              loaded_events_per_client_s);
  std::printf("blocks: %d, all %d dashboards connected in %d; failures: %d %d %d\n", blocks,
              clients, fully_connected, quiet.latency.failures, watched.latency.failures, failures);
  // The size of one snapshot, for the record.
  net::BlockingHttpRequest req;
  req.target = "/admin/status";
  auto status = net::BlockingHttp("127.0.0.1", gw_port, req);
  std::printf("one /admin/status is %zu bytes; a snapshot adds the lanes' counts and jobs\n",
              status.ok() ? status->body.size() : 0);
  (*gw)->Stop();
  return 0;
}
