// The gateway's request path end to end, in one process (gateway_fixture.h): queueing,
// fallback, a client that leaves, an engine that restarts or ends a stream early, residency's
// answers. No test sleeps to let something happen: each waits for the condition itself.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway/gateway_fixture.h"
#include "support/wait_for.h"

namespace cortex::gateway::testing {
namespace {

using namespace std::chrono_literals;
using cortex::testing::WaitFor;
namespace json = boost::json;

const char* kOneLane = R"(
engines:
  a: { engine: llama.cpp, url: "ENGINE_A_URL" }
lanes:
  coder: { engine: a, max_concurrency: 1, queue: 1, max_queue_wait: 10 }
)";

// An engine answer the test lets go of: requests wait on `gate` until Open().
struct Gate {
  explicit Gate(asio::io_context& io) : timer(io) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  void Open() {
    open = true;
    timer.cancel();
  }
  asio::awaitable<void> Pass(net::Responder& res) {
    ++waiting;
    while (!open && !res.client_gone())
      co_await res.Wait(timer);
    --waiting;
  }
  asio::steady_timer timer;
  bool open = false;
  int waiting = 0;
};

class GatewayInProcessTest : public GatewayFixture {};

TEST_F(GatewayInProcessTest, ServesAQueuedRequestWhenTheSlotFreesAndRefusesBeyondTheQueue) {
  Gate gate(io);
  a.handler = [&](net::HttpRequest&, net::Responder& res) -> asio::awaitable<void> {
    co_await gate.Pass(res);
    co_await TestEngine::Answer(res);
  };
  StartGateway(kOneLane);
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("coder", "state") == "\"up\""; }, 5s, "lane coder up"));
  const std::string body = R"({"model":"coder","messages":[{"role":"user","content":"x"}]})";
  auto first = std::async(std::launch::async, [&] { return Post("/v1/chat/completions", body); });
  ASSERT_TRUE(WaitFor([&] { return OnIo([&] { return gate.waiting; }) == 1; }, 5s,
                      "the first request to reach the engine"));
  auto second = std::async(std::launch::async, [&] { return Post("/v1/chat/completions", body); });
  ASSERT_TRUE(WaitFor([&] { return LaneField("coder", "queue_depth") == "1"; }, 5s,
                      "the second request to be queued"));
  auto third = Post("/v1/chat/completions", body);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(third->header("retry-after"), "1");
  EXPECT_NE(third->body.find("queue_full"), std::string::npos);

  OnIo([&] { gate.Open(); });
  auto r1 = first.get();
  auto r2 = second.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(OnIo([&] { return a.requests; }), 2);
  EXPECT_EQ(Metric(R"(cortex_rejections_total{lane="coder",reason="queue_full"})"), "1");
  EXPECT_EQ(Metric(R"(cortex_requests_total{code="200",lane="coder"})"), "2");
  EXPECT_EQ(Metric(R"(cortex_tokens_total{direction="prompt",lane="coder"})"), "14");
}

TEST_F(GatewayInProcessTest, AnEngineThatGoesDownIsServedByTheFallbackLane) {
  StartGateway(R"(
engines:
  a: { engine: llama.cpp, url: "ENGINE_A_URL" }
  b: { engine: llama.cpp, url: "ENGINE_B_URL" }
lanes:
  coder: { engine: a, fallback: [reader] }
  reader: { engine: b }
)");
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("coder", "state") == "\"up\""; }, 5s, "lane coder up"));
  OnIo([&] { a.Stop(); });
  ASSERT_TRUE(WaitFor([&] { return LaneField("coder", "engine_state") == "\"down\""; }, 10s,
                      "engine a down once its probes fail"));
  EXPECT_EQ(LaneField("coder", "state"), "\"degraded\"");
  auto r = Post("/v1/chat/completions", R"({"model":"coder","messages":[]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(OnIo([&] { return b.requests; }), 1);
  EXPECT_EQ(Metric(R"(cortex_fallbacks_total{lane="coder",reason="down",to="reader"})"), "1");
}

// Issue 13: a client of a non-streamed request that sends one more byte and then closes used to
// keep its engine generating to the end.
TEST_F(GatewayInProcessTest, AClientThatSendsAByteMoreAndLeavesCancelsTheEngineRequest) {
  bool engine_saw_leave = false;
  a.handler = [&](net::HttpRequest&, net::Responder& res) -> asio::awaitable<void> {
    engine_saw_leave = !co_await res.Sleep(30s);  // a long generation
  };
  StartGateway(kOneLane);
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("coder", "state") == "\"up\""; }, 5s, "lane coder up"));
  {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string body = R"({"model":"coder","messages":[]})";
    const std::string request =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(sock, asio::buffer(request));
    ASSERT_TRUE(
        WaitFor([&] { return OnIo([&] { return a.requests; }) == 1; }, 5s, "the engine busy"));
    asio::write(sock, asio::buffer(std::string_view("x")));
  }  // the client closes
  EXPECT_TRUE(WaitFor([&] { return OnIo([&] { return engine_saw_leave; }); }, 5s,
                      "the engine to see its request cancelled"));
}

TEST_F(GatewayInProcessTest, AClientThatLeavesMidStreamCancelsTheEngineRequest) {
  bool engine_saw_leave = false;
  a.handler = [&](net::HttpRequest&, net::Responder& res) -> asio::awaitable<void> {
    http::response_header<> head;
    head.set(http::field::content_type, "text/event-stream");
    co_await res.StartChunked(std::move(head), http::status::ok);
    for (int i = 0; i < 1000 && !res.client_gone(); ++i) {
      const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":"x"}}]})"
                                "\n\n";
      if (!co_await res.WriteChunk(event)) break;
      co_await res.Sleep(20ms);
    }
    engine_saw_leave = res.client_gone();
  };
  StartGateway(kOneLane);
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("coder", "state") == "\"up\""; }, 5s, "lane coder up"));
  int events = 0;
  net::BlockingHttpRequest req;
  req.method = "POST";
  req.target = "/v1/chat/completions";
  req.body = R"({"model":"coder","stream":true,"messages":[]})";
  req.headers["Content-Type"] = "application/json";
  // The client reads two events, then hangs up.
  auto r = net::BlockingHttp("127.0.0.1", port, req, [&](std::string_view piece) {
    events += piece.find("data:") != std::string_view::npos ? 1 : 0;
    return events < 2;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(WaitFor([&] { return OnIo([&] { return engine_saw_leave; }); }, 5s,
                      "the engine to see its connection closed"));
  // The slot is free again: the next request is served at once.
  a.handler = [](net::HttpRequest&, net::Responder& res) { return TestEngine::Answer(res); };
  auto next = Post("/v1/chat/completions", R"({"model":"coder"})");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, 200);
}

TEST_F(GatewayInProcessTest, AStreamTheEngineEndsWithoutDoneEndsWithOneErrorEvent) {
  a.handler = [](net::HttpRequest&, net::Responder& res) -> asio::awaitable<void> {
    http::response_header<> head;
    head.set(http::field::content_type, "text/event-stream");
    co_await res.StartChunked(std::move(head), http::status::ok);
    const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":"x"}}]})"
                              "\n\n";
    co_await res.WriteChunk(event);
    co_await res.FinishChunked();  // no [DONE]
  };
  StartGateway(kOneLane);
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("coder", "state") == "\"up\""; }, 5s, "lane coder up"));
  auto r = Post("/v1/chat/completions", R"({"model":"coder","stream":true})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(R"("content":"x")"), std::string::npos);
  EXPECT_NE(r->body.find("engine_stream_incomplete"), std::string::npos) << r->body;
  EXPECT_EQ(Metric(R"(cortex_request_errors_total{lane="coder",type="engine_stream_incomplete"})"),
            "1");
}

TEST_F(GatewayInProcessTest, ARestartingSupervisedEngineIsEnteredAgainAndServesTheRequest) {
  residency.managed = {"a"};
  StartGateway(kOneLane, /*with_residency=*/true);
  OnIo([&] { a.Stop(); });  // crashed: connections are refused
  auto pending = std::async(std::launch::async,
                            [&] { return Post("/v1/chat/completions", R"({"model":"coder"})"); });
  ASSERT_TRUE(WaitFor([&] { return OnIo([&] { return residency.left.size(); }) >= 1; }, 5s,
                      "the request to leave the unreachable engine"));
  OnIo([&] { a.Start(); });  // back, on the same port
  auto r = pending.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  OnIo([&] {
    EXPECT_GE(residency.entered.size(), 2u);
    EXPECT_EQ(residency.entered.size(), residency.left.size());  // every Enter was left
    ASSERT_EQ(a.bodies.size(), 1u);
    // A supervised engine gets the name its launch gave it.
    EXPECT_EQ(json::parse(a.bodies[0]).at("model"), "served-a");
  });
}

TEST_F(GatewayInProcessTest, AnEngineResidencyRefusesGivesA503WithItsRetryAfter) {
  residency.managed = {"a"};
  residency.script.push_back({ResidencyPort::Access::kTimedOut, "engine a is still loading", 7});
  StartGateway(kOneLane, /*with_residency=*/true);
  auto r = Post("/v1/chat/completions", R"({"model":"coder"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "7");
  EXPECT_NE(r->body.find("lane_loading"), std::string::npos);
  EXPECT_NE(r->body.find("still loading"), std::string::npos);
  EXPECT_EQ(OnIo([&] { return a.requests; }), 0);
}

TEST_F(GatewayInProcessTest, RefusalsAreOpenAiErrorsAndLeaveTheEngineAlone) {
  StartGateway(kOneLane);
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{
           {"{not json", 400, "invalid_json"},
           {R"({"model":"coder","max_tokens":1e999})", 400, "invalid_number"},
           {R"({"model":5})", 400, "invalid_type"},
           {R"({"model":"nope"})", 404, "model_not_found"},
       }) {
    auto r = Post("/v1/chat/completions", c.body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, c.status) << c.body;
    json::error_code ec;
    const json::value v = json::parse(r->body, ec);
    ASSERT_FALSE(ec) << r->body;
    EXPECT_EQ(v.at("error").at("code"), json::value(c.code)) << c.body;
  }
  auto wrong = Get("/v1/chat/completions");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("allow"), "POST");
  EXPECT_EQ(OnIo([&] { return a.requests; }), 0);
}

TEST_F(GatewayInProcessTest, AClientsBadRequestsNeverCountAgainstTheEngineOfAnotherLane) {
  // The engine refuses what this client sends (a 400, as llama-server does for a prompt it
  // cannot read); the gateway refuses 1e999 itself. Neither is the engine failing, so the other
  // lane on the same engine keeps serving and the engine stays up.
  a.handler = [](net::HttpRequest& req, net::Responder& res) -> asio::awaitable<void> {
    if (req.body().find("\"bad\"") != std::string::npos) {
      net::HttpResponse r = TestEngine::Json(
          R"({"error":{"code":400,"message":"invalid prompt","type":"invalid_request_error"}})");
      r.result(http::status::bad_request);
      co_await res.Send(std::move(r));
      co_return;
    }
    co_await TestEngine::Answer(res);
  };
  StartGateway(R"(
engines:
  a: { engine: llama.cpp, url: "ENGINE_A_URL" }
lanes:
  coder: { engine: a }
  reader: { engine: a }
)");
  ASSERT_TRUE(
      WaitFor([&] { return LaneField("reader", "state") == "\"up\""; }, 5s, "lane reader up"));
  for (int i = 0; i < 12; ++i) {
    auto refused = Post("/v1/chat/completions", R"({"model":"coder","messages":"bad"})");
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->status, 400) << refused->body;
    auto infinite = Post("/v1/chat/completions", R"({"model":"coder","max_tokens":1e999})");
    ASSERT_TRUE(infinite.ok());
    EXPECT_EQ(infinite->status, 400);
    auto served = Post("/v1/chat/completions", R"({"model":"reader","messages":[]})");
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(served->status, 200) << "round " << i << ": " << served->body;
  }
  EXPECT_EQ(LaneField("reader", "engine_state"), "\"up\"");
  EXPECT_EQ(LaneField("coder", "engine_state"), "\"up\"");
  EXPECT_EQ(OnIo([&] { return a.requests; }), 24);  // the 1e999 ones never reached it
}

}  // namespace
}  // namespace cortex::gateway::testing
