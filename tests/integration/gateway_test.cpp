// The gateway as clients meet it: `cortex up` over `cortex sim` engines, real processes on
// loopback ports, real HTTP.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "gateway/sse.h"
#include "model/synthetic_model.h"
#include "sim_harness.h"
#include "support/temp_dir.h"
#include "support/wait_for.h"

namespace cortex::testing {
namespace {

using namespace std::chrono_literals;

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteSyntheticModel(dir_.File("m.gguf"), SyntheticModelSpec{}).ok());
  }

  // A llama.cpp-flavored simulated engine; `args` are extra engine and --sim-* flags.
  std::unique_ptr<EngineProcess> Sim(const std::vector<std::string>& args, bool wait = true) {
    const uint16_t port = PickFreePort();
    std::vector<std::string> all = {"-m",
                                    dir_.File("m.gguf"),
                                    "--host",
                                    "127.0.0.1",
                                    "--port",
                                    std::to_string(port),
                                    "--sim-load-seconds",
                                    "0"};
    all.insert(all.end(), args.begin(), args.end());
    auto e =
        StartProcess(SimArgv("llama.cpp", all), port, dir_.File(fmt::format("sim{}.log", port)));
    if (e && wait) {
      EXPECT_TRUE(WaitHealthy(*e)) << e->Log();
    }
    return e;
  }

  // `cortex up` on `lanes_yaml` (the engines and lanes sections); waits until the gateway has
  // probed its engines once.
  std::unique_ptr<EngineProcess> Gateway(const std::string& engines_and_lanes,
                                         const std::string& gateway_extra = "") {
    const uint16_t port = PickFreePort();
    const std::string path = dir_.File(fmt::format("gw{}.yaml", port));
    std::ofstream(path) << "machine: {memory: 16GiB, bandwidth: 100GB/s}\n"
                        << engines_and_lanes
                        << fmt::format(
                               "gateway: {{listen: \"127.0.0.1:{}\", probe_interval: 0.2{}}}\n",
                               port, gateway_extra);
    auto g = StartProcess({CORTEX_BINARY, "up", "-c", path}, port,
                          dir_.File(fmt::format("gw{}.log", port)));
    if (g) {
      EXPECT_TRUE(WaitHealthy(*g)) << g->Log();
      EXPECT_TRUE(WaitFor([&] { return FirstProbesDone(g->port); }, 10s,
                          "the gateway's first probe of every engine"))
          << Http(g->port, "GET", "/health/lanes").body << "\n"
          << g->Log();
    }
    return g;
  }

  // GET /health/lanes: each lane's state, engine_state, in_flight and queue_depth.
  static boost::json::value Lanes(uint16_t port) {
    return ParseJson(Http(port, "GET", "/health/lanes").body);
  }

  // Whether every engine has been probed once: an engine's state is "unknown" only until its
  // first probe ends, and what that probe learns (context, slots, served name) is in place by
  // then.
  static bool FirstProbesDone(uint16_t port) {
    const boost::json::value lanes = Lanes(port);
    const boost::json::value* all = At(lanes, "lanes");
    if (all == nullptr || !all->is_object() || all->as_object().empty()) return false;
    for (const auto& [name, lane] : all->as_object()) {
      if (Str(lane, "engine_state") == "unknown") return false;
    }
    return true;
  }

  static std::string Engine(const std::string& name, uint16_t port) {
    return fmt::format("  {}: {{engine: llama.cpp, url: \"http://127.0.0.1:{}\"}}\n", name, port);
  }

  TempDir dir_;
};

std::string Chat(const std::string& lane, int max_tokens, bool stream,
                 const std::string& extra = "") {
  return fmt::format(
      R"({{"model":"{}","messages":[{{"role":"user","content":"hello"}}],"max_tokens":{},"stream":{}{}}})",
      lane, max_tokens, stream ? "true" : "false", extra);
}

TEST_F(GatewayTest, RoutesByLaneNameAliasAndHeader) {
  auto sim = Sim({"-np", "2"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) +
                    "lanes:\n  chat: {engine: e, aliases: [assistant]}\n");
  for (const std::string& body : {Chat("chat", 4, false), Chat("assistant", 4, false)}) {
    const auto r = Http(gw->port, "POST", "/v1/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Str(ParseJson(r.body), "object"), "chat.completion");
  }
  const auto by_header = Http(gw->port, "POST", "/v1/chat/completions", Chat("whatever", 4, false),
                              {{"X-Cortex-Lane", "chat"}});
  EXPECT_EQ(by_header.status, 200);
  const auto models = ParseJson(Http(gw->port, "GET", "/v1/models").body);
  EXPECT_EQ(Str(models, "data/0/id"), "chat");
  EXPECT_EQ(Str(models, "data/0/state"), "up");
  EXPECT_GT(Int(models, "data/0/context"), 0);
}

// vLLM answers 404 for any model name but its served one; an engine given only by url is asked
// for that name (/v1/models) and requests go out under it, whatever lane name the client used.
TEST_F(GatewayTest, LearnsTheServedNameOfAVllmEngineGivenByUrl) {
  const uint16_t port = PickFreePort();
  auto vllm = StartProcess(
      SimArgv("vllm", {"Qwen/Qwen2.5-0.5B-Instruct", "--served-model-name", "qwen-small",
                       "--max-model-len", "4096", "--kv-cache-memory-bytes", "1G", "--host",
                       "127.0.0.1", "--port", std::to_string(port), "--sim-load-seconds", "0"}),
      port, dir_.File("vllm.log"));
  ASSERT_TRUE(WaitHealthy(*vllm)) << vllm->Log();
  auto gw =
      Gateway(fmt::format("engines:\n  v: {{engine: vllm, url: \"http://127.0.0.1:{}\"}}\n", port) +
              "lanes:\n  reader: {engine: v}\n");
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("reader", 4, false));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Str(ParseJson(r.body), "model"), "qwen-small");
}

TEST_F(GatewayTest, UnknownLaneIs404NamingTheLanes) {
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("coder", 4, false));
  EXPECT_EQ(r.status, 404);
  const auto v = ParseJson(r.body);
  EXPECT_EQ(Str(v, "error/code"), "model_not_found");
  EXPECT_NE(Str(v, "error/message").find("lanes are: chat"), std::string::npos);
}

TEST_F(GatewayTest, MalformedJsonIsOur400NotTheEngines500) {
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", "{\"model\": \"chat\", ");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Str(ParseJson(r.body), "error/type"), "invalid_request_error");
  EXPECT_EQ(Str(ParseJson(r.body), "error/code"), "invalid_json");
}

TEST_F(GatewayTest, OversizedBodyIs413) {
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n",
                    ", max_body: 4KiB");
  const auto r = Http(gw->port, "POST", "/v1/chat/completions",
                      Chat("chat", 4, false, ",\"pad\":\"" + std::string(8192, 'x') + "\""));
  EXPECT_EQ(r.status, 413);
}

TEST_F(GatewayTest, AFullQueueGets429WithRetryAfter) {
  auto sim = Sim({"-np", "4", "--sim-itl-ms", "50"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) +
                    "lanes:\n  chat: {engine: e, max_concurrency: 1, queue: 1}\n");
  RawClient holder(gw->port), waiter(gw->port);
  ASSERT_TRUE(holder.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 200, true))));
  holder.Read(5s, "data:");
  ASSERT_TRUE(waiter.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 200, true))));
  boost::json::value lanes;
  EXPECT_TRUE(WaitFor(
      [&] {
        lanes = Lanes(gw->port);
        return Int(lanes, "lanes/chat/queue_depth") >= 1;
      },
      5s, "the second request to be queued behind the first"));
  EXPECT_EQ(Int(lanes, "lanes/chat/in_flight"), 1);
  EXPECT_EQ(Int(lanes, "lanes/chat/queue_depth"), 1);
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, false));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(Str(ParseJson(r.body), "error/type"), "rate_limit_error");
}

TEST_F(GatewayTest, AQueuedClientThatLeavesIsRemovedFromTheQueue) {
  auto sim = Sim({"-np", "4", "--sim-itl-ms", "50"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) +
                    "lanes:\n  chat: {engine: e, max_concurrency: 1, queue: 4}\n");
  RawClient holder(gw->port);
  ASSERT_TRUE(holder.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 200, true))));
  holder.Read(5s, "data:");
  {
    RawClient leaver(gw->port);
    ASSERT_TRUE(leaver.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 4, false))));
    int64_t queued = -1;
    EXPECT_TRUE(WaitFor(
        [&] {
          queued = Int(Lanes(gw->port), "lanes/chat/queue_depth");
          return queued >= 1;
        },
        5s, "the second client to be queued"));
    EXPECT_EQ(queued, 1);
  }  // the client disconnects while queued
  // Within 3 s: the holder's stream (200 tokens at 50 ms) still runs for several seconds, so a
  // leaver left in the queue could not have been admitted by then.
  int64_t depth = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        depth = Int(Lanes(gw->port), "lanes/chat/queue_depth");
        return depth == 0;
      },
      3s, "the client that left to be removed from the queue"));
  EXPECT_EQ(depth, 0);
}

// Whether any of the engine's slots is generating, from its own /slots.
bool EngineBusy(uint16_t port) {
  const auto slots = ParseJson(Http(port, "GET", "/slots").body);
  if (!slots.is_array()) return false;
  for (const auto& s : slots.as_array()) {
    if (s.is_object() && s.as_object().contains("is_processing") &&
        s.as_object().at("is_processing").as_bool()) {
      return true;
    }
  }
  return false;
}

TEST_F(GatewayTest, AClientThatDisconnectsMidStreamStopsTheEnginesWork) {
  auto sim = Sim({"-np", "2", "--sim-itl-ms", "20"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  {
    RawClient client(gw->port);
    ASSERT_TRUE(client.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 5000, true))));
    client.Read(5s, "\"content\":\"");
    EXPECT_TRUE(EngineBusy(sim->port));
  }  // gone, with 4,990 tokens to go
  // The stream had 4,990 tokens at 20 ms to go (100 s): idle within 5 s means it was stopped.
  EXPECT_TRUE(WaitFor([&] { return !EngineBusy(sim->port); }, 5s,
                      "the engine to stop generating for the client that left"))
      << "the engine kept generating for a client that left";
}

TEST_F(GatewayTest, AnEngineKilledMidStreamEndsTheStreamWithOneErrorEvent) {
  auto sim = Sim({"-np", "2", "--sim-itl-ms", "20"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  RawClient client(gw->port);
  ASSERT_TRUE(client.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 5000, true))));
  client.Read(5s, "\"content\":\"");
  ::kill(sim->process->pid(), SIGKILL);
  const std::string text = client.Read(5s, "0\r\n\r\n");  // the end of the chunked body
  const size_t body_at = text.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  size_t errors = 0;
  size_t pos = 0;
  while ((pos = text.find("data: {\"error\"", pos)) != std::string::npos) {
    ++errors;
    ++pos;
  }
  EXPECT_EQ(errors, 1u) << text.substr(text.size() > 600 ? text.size() - 600 : 0);
  EXPECT_EQ(text.find("[DONE]"), std::string::npos);
  EXPECT_NE(text.find("0\r\n\r\n"), std::string::npos) << "the stream did not end";
  const size_t last_error = text.rfind("data: {\"error\"");
  EXPECT_EQ(text.find("data: {\"choices\"", last_error), std::string::npos)
      << "events after the error";
}

TEST_F(GatewayTest, ASlowReaderDoesNotStallOtherStreams) {
  auto sim = Sim({"-np", "4", "--sim-itl-ms", "0", "--sim-ttft-ms", "0"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  // A client that asks for a long stream and never reads it, with a tiny receive buffer.
  RawClient slow(gw->port);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send(RequestText("POST", "/v1/chat/completions", Chat("chat", 200000, true))));
  ASSERT_TRUE(WaitFor([&] { return Int(Lanes(gw->port), "lanes/chat/in_flight") == 1; }, 5s,
                      "the slow client's stream to be admitted"));
  // Not a race: no assertion needs this to have happened. It gives the unread stream time to
  // fill the socket buffers so the request below meets a gateway whose writes to `slow` block;
  // were it too short the test would only prove less, never fail falsely.
  std::this_thread::sleep_for(500ms);
  const auto start = std::chrono::steady_clock::now();
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 50, true), {}, 10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("[DONE]"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // functional: not stuck behind it
}

TEST_F(GatewayTest, ALaneWhoseEngineIsDownFallsBack) {
  auto sim = Sim({});
  const uint16_t dead = PickFreePort();  // nothing listens there
  auto gw = Gateway("engines:\n" + Engine("gone", dead) + Engine("e", sim->port) +
                    "lanes:\n  main: {engine: gone, fallback: [backup]}\n  backup: {engine: e}\n"
                    "  alone: {engine: gone}\n");
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("main", 4, false));
  EXPECT_EQ(r.status, 200) << r.body;
  const auto lanes = ParseJson(Http(gw->port, "GET", "/health/lanes").body);
  EXPECT_EQ(Str(lanes, "lanes/main/state"), "degraded");
  EXPECT_EQ(Str(lanes, "lanes/alone/state"), "down");
  const auto alone = Http(gw->port, "POST", "/v1/chat/completions", Chat("alone", 4, false));
  EXPECT_EQ(alone.status, 503);
  EXPECT_FALSE(alone.header("retry-after").empty());
  EXPECT_EQ(Http(gw->port, "GET", "/lanes/alone/health").status, 503);
  EXPECT_EQ(Http(gw->port, "GET", "/lanes/backup/health").status, 200);
  const std::string metrics = Http(gw->port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cortex_fallbacks_total{lane=\"main\",reason=\"down\",to=\"backup\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(GatewayTest, APromptLongerThanTheLaneHoldsGoesToItsContextFallbackOrIsRefused) {
  auto small = Sim({"-c", "512", "-np", "1"});
  auto large = Sim({"-c", "65536", "-np", "1"});
  auto gw = Gateway("engines:\n" + Engine("small", small->port) + Engine("large", large->port) +
                    "lanes:\n  short: {engine: small, fallback_on_context: long}\n"
                    "  long: {engine: large}\n  strict: {engine: small}\n");
  std::string prompt;
  for (int i = 0; i < 1500; ++i)
    prompt += "word ";
  auto body = [&](const std::string& lane) {
    return fmt::format(
        R"({{"model":"{}","messages":[{{"role":"user","content":"{}"}}],"max_tokens":4}})", lane,
        prompt);
  };
  EXPECT_EQ(Http(gw->port, "POST", "/v1/chat/completions", body("short")).status, 200);
  const auto refused = Http(gw->port, "POST", "/v1/chat/completions", body("strict"));
  EXPECT_EQ(refused.status, 400);
  const auto v = ParseJson(refused.body);
  EXPECT_EQ(Str(v, "error/code"), "context_length_exceeded");
  EXPECT_NE(Str(v, "error/message").find("(512 tokens)"), std::string::npos) << refused.body;
}

TEST_F(GatewayTest, ALoadingEngineGets503WithRetryAfter) {
  auto sim = Sim({"--sim-load-seconds", "30"}, /*wait=*/false);
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) +
                    "lanes:\n  chat: {engine: e, max_queue_wait: 0.3}\n");
  // The first probe may have come before the engine listened (down); the next finds it loading.
  std::string state;
  EXPECT_TRUE(WaitFor(
      [&] {
        state = Str(ParseJson(Http(gw->port, "GET", "/lanes/chat/health").body), "state");
        return state == "loading";
      },
      10s, "the gateway to see the engine loading"))
      << "lane state " << state;
  const auto r = Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, false));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("retry-after"), "5");
  EXPECT_EQ(Str(ParseJson(r.body), "error/code"), "lane_loading");
}

TEST_F(GatewayTest, ClientKeysAreRequiredWhenConfigured) {
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n",
                    ", api_keys: [s3cret]");
  EXPECT_EQ(Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, false)).status, 401);
  EXPECT_EQ(Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, false),
                 {{"Authorization", "Bearer wrong"}})
                .status,
            401);
  EXPECT_EQ(Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, false),
                 {{"Authorization", "Bearer s3cret"}})
                .status,
            200);
  EXPECT_EQ(Http(gw->port, "GET", "/health").status, 200);  // health stays open
}

TEST_F(GatewayTest, StreamsCarryUsageOnlyWhenTheClientAsks) {
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  const auto plain = Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, true));
  EXPECT_EQ(plain.header("content-type"), "text/event-stream");
  EXPECT_EQ(plain.header("x-accel-buffering"), "no");
  EXPECT_EQ(plain.body.find("\"usage\""), std::string::npos) << plain.body;
  EXPECT_NE(plain.body.find("data: [DONE]"), std::string::npos);
  const auto asked = Http(gw->port, "POST", "/v1/chat/completions",
                          Chat("chat", 4, true, R"(,"stream_options":{"include_usage":true})"));
  EXPECT_NE(asked.body.find("\"choices\":[],"), std::string::npos) << asked.body;
  // The gateway counted the tokens either way.
  const std::string metrics = Http(gw->port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cortex_tokens_total{direction=\"completion\",lane=\"chat\"} 8"),
            std::string::npos)
      << metrics;
}

// Engines given by url (no supervisor): /admin/events still streams the lanes with the
// gateway's own counts, behind the admin key.
TEST_F(GatewayTest, AdminEventsWithoutASupervisorStreamTheLanesBehindTheAdminKey) {
  auto sim = Sim({"-np", "2"});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n",
                    ", admin_key: sesame");
  EXPECT_EQ(Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 2, false)).status, 200);
  EXPECT_EQ(Http(gw->port, "GET", "/admin/events").status, 401);
  net::BlockingHttpRequest req;
  req.target = "/admin/events";
  req.headers["Authorization"] = "Bearer sesame";
  std::string first;
  auto r = net::BlockingHttp("127.0.0.1", gw->port, req, [&](std::string_view piece) {
    first.append(piece);
    return first.find("\n\n", first.find("data:")) == std::string::npos;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header("content-type"), "text/event-stream");
  const gateway::SseFields f = gateway::ParseEventFields(first);
  EXPECT_EQ(f.event, "snapshot");
  const boost::json::value v = ParseJson(f.data);
  ASSERT_TRUE(v.is_object()) << first;
  EXPECT_TRUE(v.at("engines").as_array().empty());
  const boost::json::object& lane = v.at("lanes").as_array().at(0).as_object();
  EXPECT_EQ(lane.at("name"), "chat");
  EXPECT_EQ(lane.at("state"), "up");
  EXPECT_EQ(lane.at("requests").to_number<double>(), 1);
  EXPECT_TRUE(v.at("ingest").at("jobs").is_array());
}

TEST_F(GatewayTest, MetricsPassPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  }
  auto sim = Sim({});
  auto gw = Gateway("engines:\n" + Engine("e", sim->port) + "lanes:\n  chat: {engine: e}\n");
  Http(gw->port, "POST", "/v1/chat/completions", Chat("chat", 4, true));
  Http(gw->port, "POST", "/v1/chat/completions", Chat("nope", 4, false));
  const std::string path = dir_.File("metrics.txt");
  std::ofstream(path) << Http(gw->port, "GET", "/metrics").body;
  EXPECT_EQ(
      std::system(("promtool check metrics < " + path + " >" + dir_.File("promtool.out") + " 2>&1")
                      .c_str()),
      0)
      << ReadWholeFile(dir_.File("promtool.out"));
}

}  // namespace
}  // namespace cortex::testing
