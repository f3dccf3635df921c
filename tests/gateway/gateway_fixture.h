// An in-process gateway for tests: the Gateway, a scripted engine (TestEngine, an HttpServer on
// a loopback port in this process) and a scripted ResidencyPort (FakeResidency), all on one
// io_context that a background thread runs. Tests talk to the gateway over real sockets
// (BlockingHttp, or a raw socket for disconnects) from the test thread and wait on conditions,
// never on sleeps: queueing, fallback, disconnect and restart behave the same on every run.
//
// Everything the gateway and the engine touch lives on the io thread; the test reads and
// changes it through OnIo(), which runs a function there and waits for it.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config_loader.h"
#include "gateway/gateway.h"
#include "gateway/residency_port.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "support/subprocess.h"

namespace cortex::gateway::testing {

namespace asio = boost::asio;
namespace http = net::http;

// A loopback engine whose answers the test writes: `handler` sees every request (the body and
// target are recorded first). Stop() closes its socket and its connections (an engine that
// crashed); Start() listens again on the same port (its restart).
class TestEngine {
 public:
  using Handler = std::function<asio::awaitable<void>(net::HttpRequest&, net::Responder&)>;

  explicit TestEngine(asio::io_context& io) : io_(io) {}

  // REQUIRES: on the io thread (or before it runs).
  void Start() {
    server_ = std::make_unique<net::HttpServer>(
        io_, net::HttpServerOptions{},
        [this](net::HttpRequest& req, net::Responder& res) -> asio::awaitable<void> {
          if (req.target() == "/health") {
            co_await res.Send(Json(R"({"status":"ok"})"));
            co_return;
          }
          if (req.target() == "/props") {
            co_await res.Send(Json(props));
            co_return;
          }
          ++requests;
          bodies.push_back(req.body());
          co_await handler(req, res);
        },
        [](http::status status, std::string_view message) {
          net::HttpResponse r{status, 11};
          r.body() = std::string(message);
          return r;
        });
    const Status s = server_->Listen("127.0.0.1", port_);
    EXPECT_TRUE(s.ok()) << s.message();
    port_ = server_->port();
    server_->Start();
  }
  void Stop() { server_.reset(); }
  uint16_t port() const { return port_; }

  static net::HttpResponse Json(std::string body) {
    net::HttpResponse r{http::status::ok, 11};
    r.set(http::field::content_type, "application/json");
    r.body() = std::move(body);
    return r;
  }

  // A whole chat answer with usage.
  static asio::awaitable<void> Answer(net::Responder& res) {
    co_await res.Send(
        Json(R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],)"
             R"("usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}})"));
  }

  Handler handler = [](net::HttpRequest&, net::Responder& res) { return Answer(res); };
  std::string props = R"({"default_generation_settings":{"n_ctx":4096},"total_slots":4})";
  int requests = 0;
  std::vector<std::string> bodies;

 private:
  asio::io_context& io_;
  std::unique_ptr<net::HttpServer> server_;
  uint16_t port_ = 0;
};

// A ResidencyPort whose answers the test scripts. Enter() returns the next scripted entry
// (kReady once the script is empty) and counts the calls; Leave() counts too.
class FakeResidency : public ResidencyPort {
 public:
  bool Manages(const std::string& engine) const override { return managed.count(engine) > 0; }
  std::string ServedName(const std::string& engine) const override { return "served-" + engine; }
  bool Unavailable(const std::string& engine) const override {
    return unavailable.count(engine) > 0;
  }
  asio::awaitable<Entry> Enter(const std::string& engine, std::chrono::steady_clock::time_point,
                               net::Responder&) override {
    entered.push_back(engine);
    if (script.empty()) co_return Entry{};
    Entry e = script.front();
    script.pop_front();
    co_return e;
  }
  void Leave(const std::string& engine) override { left.push_back(engine); }
  void SetEngineListener(EngineListener l) override { listener = std::move(l); }
  std::optional<uint64_t> BurstContext(const std::string&) const override { return std::nullopt; }
  Status HoldBurst(const std::string&, const std::string&) override {
    return Status::InvalidArgument("no burst here");
  }
  void ReleaseBurst(const std::string&, const std::string&) override {}
  bool BurstReady(const std::string&) const override { return false; }
  std::string MetricsText() const override { return ""; }
  boost::json::object Snapshot() const override { return {}; }
  void SetChangeListener(std::function<void()>) override {}
  asio::awaitable<void> HandleAdmin(net::HttpRequest&, net::Responder& res) override {
    co_await res.Send(TestEngine::Json("{}"));
  }

  std::set<std::string> managed;
  std::set<std::string> unavailable;
  std::deque<Entry> script;
  std::vector<std::string> entered;
  std::vector<std::string> left;
  EngineListener listener;
};

class GatewayFixture : public ::testing::Test {
 protected:
  // Starts the engines and a gateway over `lanes_yaml`, in which ENGINE_A_URL and ENGINE_B_URL
  // stand for the two test engines' urls. `residency` (optional) is set before the start.
  void StartGateway(const std::string& engines_and_lanes_yaml, bool with_residency = false) {
    a.Start();
    b.Start();
    uint16_t listen = cortex::testing::PickFreePort();
    while (listen == a.port() || listen == b.port())
      listen = cortex::testing::PickFreePort();
    std::string yaml = "machine: { memory: 16GiB, bandwidth: 100GB/s }\n" + engines_and_lanes_yaml +
                       "\ngateway: { listen: \"127.0.0.1:" + std::to_string(listen) +
                       "\", probe_interval: 0.2 }\n";
    for (auto [key, port] : {std::pair{"ENGINE_A_URL", a.port()}, {"ENGINE_B_URL", b.port()}}) {
      for (size_t at; (at = yaml.find(key)) != std::string::npos;) {
        yaml.replace(at, std::string(key).size(), "http://127.0.0.1:" + std::to_string(port));
      }
    }
    auto config = ParseConfig(yaml, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.status().message();
    gateway = std::make_unique<Gateway>(io, *config);
    if (with_residency) gateway->SetResidency(&residency);
    const Status s = gateway->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    port = gateway->port();
    thread = std::thread([this] { io.run(); });
  }

  void TearDown() override {
    if (thread.joinable()) {
      OnIo([this] {
        gateway->Stop();
        a.Stop();
        b.Stop();
      });
      work.reset();
      io.stop();
      thread.join();
    }
  }

  // Runs `fn` on the io thread and waits for it (runs it here when the gateway did not start).
  template <typename F>
  auto OnIo(F fn) -> decltype(fn()) {
    if (!thread.joinable()) return fn();
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  StatusOr<net::BlockingHttpResult> Post(const std::string& path, const std::string& body,
                                         std::map<std::string, std::string> headers = {}) {
    net::BlockingHttpRequest r;
    r.method = "POST";
    r.target = path;
    r.body = body;
    r.headers = std::move(headers);
    r.headers["Content-Type"] = "application/json";
    r.timeout = std::chrono::seconds(10);
    return net::BlockingHttp("127.0.0.1", port, r);
  }
  StatusOr<net::BlockingHttpResult> Get(const std::string& path) {
    net::BlockingHttpRequest r;
    r.target = path;
    r.timeout = std::chrono::seconds(10);
    return net::BlockingHttp("127.0.0.1", port, r);
  }
  // One field of GET /lanes/LANE/health, serialized ("\"up\"", "1"); "" when absent.
  std::string LaneField(const std::string& lane, const std::string& field) {
    auto r = Get("/lanes/" + lane + "/health");
    if (!r.ok()) return "";
    boost::json::error_code ec;
    const boost::json::value v = boost::json::parse(r->body, ec);
    if (ec || !v.is_object() || !v.as_object().contains(field)) return "";
    return boost::json::serialize(v.at(field));
  }

  // A metric's value as /metrics renders it ("" when the series is absent).
  std::string Metric(const std::string& series) {
    auto m = Get("/metrics");
    if (!m.ok()) return "";
    const size_t at = m->body.find(series + " ");
    if (at == std::string::npos) return "";
    const size_t end = m->body.find('\n', at);
    return m->body.substr(at + series.size() + 1, end - at - series.size() - 1);
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  TestEngine a{io};
  TestEngine b{io};
  FakeResidency residency;
  std::unique_ptr<Gateway> gateway;
  uint16_t port = 0;
  std::thread thread;
};

}  // namespace cortex::gateway::testing
