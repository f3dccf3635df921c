// The load client the gateway benchmarks share: one asio thread, keep-alive connections
// (net::HttpConnection), the same code whatever it talks to, so two targets measured with it
// differ only by what is behind them.
#pragma once

#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace cortex::bench {

using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace http = net::http;

using namespace cortex;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace http = net::http;

inline double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

inline uint64_t RssKiB(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

inline bool WaitHealthy(uint16_t port, std::chrono::seconds timeout,
                        const std::string& path = "/health") {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    net::BlockingHttpRequest req;
    req.target = path;
    req.timeout = std::chrono::milliseconds(500);
    auto r = net::BlockingHttp("127.0.0.1", port, req);
    if (r.ok() && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

inline std::string Body(bool stream, int max_tokens) {
  return fmt::format(
      R"({{"model":"bench","messages":[{{"role":"user","content":"hello there"}}],"max_tokens":{},"stream":{}}})",
      max_tokens, stream ? "true" : "false");
}

// One request on `conn` (reconnecting when needed). Returns the time to the first body byte
// (`first`) and to the end of the body (`total`); false on failure.
inline asio::awaitable<bool> Exchange(asio::io_context& io, uint16_t port,
                                      std::unique_ptr<net::HttpConnection>& conn,
                                      const std::string& body, Clock::duration* first,
                                      Clock::duration* total) {
  using namespace std::chrono_literals;
  if (!conn || !conn->reusable()) {
    auto c = co_await net::HttpConnection::Connect(io.get_executor(), "127.0.0.1", port, 5s);
    if (!c.ok()) co_return false;
    conn = std::move(*c);
  }
  net::HttpRequest req{http::verb::post, "/v1/chat/completions", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  const auto start = Clock::now();
  if (!(co_await conn->Write(req, 30s)).ok()) {
    conn.reset();
    co_return false;
  }
  if (auto h = co_await conn->ReadHeader(60s); !h.ok() || conn->status() != 200) {
    static int reported = 0;
    if (reported++ < 3) {
      const std::string why = h.ok() ? fmt::format("HTTP {}", conn->status()) : h.ToString();
      std::fprintf(stderr, "request to port %u failed: %s\n", port, why.c_str());
    }
    conn.reset();
    co_return false;
  }
  bool got_first = false;
  for (;;) {
    auto piece = co_await conn->ReadSome(60s);
    if (!piece.ok()) {
      conn.reset();
      co_return false;
    }
    if (!got_first && !piece->empty()) {
      *first = Clock::now() - start;
      got_first = true;
    }
    if (piece->empty()) break;
  }
  *total = Clock::now() - start;
  co_return true;
}

struct Latencies {
  std::vector<double> first_us;
  std::vector<double> total_us;
  int failures = 0;
};

// `n` sequential requests on one keep-alive connection.
inline Latencies Sequential(uint16_t port, int n, bool stream) {
  asio::io_context io;
  Latencies out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::unique_ptr<net::HttpConnection> conn;
        const std::string body = Body(stream, 4);
        for (int i = 0; i < n; ++i) {
          Clock::duration first{}, total{};
          if (co_await Exchange(io, port, conn, body, &first, &total)) {
            out.first_us.push_back(Micros(first));
            out.total_us.push_back(Micros(total));
          } else {
            ++out.failures;
          }
        }
      },
      asio::detached);
  io.run();
  return out;
}

// CPU time (user + system) `pid` has used so far, in seconds.
inline double CpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// `concurrency` connections sending back to back for `seconds`; returns completed requests/s
// and adds the completed requests to `completed`.
inline double Throughput(uint16_t port, int concurrency, double seconds, int* failures,
                         uint64_t* completed) {
  asio::io_context io;
  uint64_t done = 0;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
  for (int c = 0; c < concurrency; ++c) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          std::unique_ptr<net::HttpConnection> conn;
          const std::string body = Body(false, 4);
          while (Clock::now() < end) {
            Clock::duration first{}, total{};
            if (co_await Exchange(io, port, conn, body, &first, &total)) {
              ++done;
            } else {
              ++*failures;
            }
          }
        },
        asio::detached);
  }
  const auto start = Clock::now();
  io.run();
  *completed += done;
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace cortex::bench
