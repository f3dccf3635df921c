// `cortex sim` as a process: faults (crash, hang, failures, slow start), timing, cancellation,
// queueing, keep-alive pings, determinism, startup log lines, held memory, signals, argv.
// Mostly the llama.cpp flavor; where a behaviour is an engine's, the D-engine-apis.md section
// is named.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "engine/llama_server_log.h"
#include "integration/sim_harness.h"
#include "model/gguf_model.h"
#include "model/synthetic_model.h"
#include "plan/llama_cpp_plan.h"
#include "support/temp_dir.h"
#include "util/bytes.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class SimProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.File("model.gguf");
    ASSERT_TRUE(WriteSyntheticModel(model_, SyntheticModelSpec{}).ok());
  }

  // `cortex sim --flavor llama.cpp -m model.gguf` on a free port with quick timing, plus
  // `extra` (later flags win).
  std::unique_ptr<EngineProcess> Start(const std::vector<std::string>& extra = {},
                                       bool wait = true) {
    const uint16_t port = PickFreePort();
    std::vector<std::string> args = {"-m",
                                     model_,
                                     "-c",
                                     "4096",
                                     "-np",
                                     "2",
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--sim-load-seconds",
                                     "0",
                                     "--sim-ttft-ms",
                                     "20",
                                     "--sim-itl-ms",
                                     "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto e = StartProcess(SimArgv("llama.cpp", args), port,
                          dir_.File("sim-" + std::to_string(port) + ".log"));
    if (e && wait) {
      EXPECT_TRUE(WaitHealthy(*e)) << e->Log();
    }
    return e;
  }

  // Waits up to `limit` for the process to exit; its status, or nullopt.
  static std::optional<int> WaitExit(EngineProcess& e, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (auto code = e.process->Poll()) return code;
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  TempDir dir_;
  std::string model_;
};

TEST_F(SimProcessTest, CrashAfterNRequestsExitsNonZero) {
  auto e = Start({"--sim-crash-after", "2"});
  EXPECT_EQ(Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false)).status, 200);
  EXPECT_FALSE(e->process->Poll());
  EXPECT_EQ(Http(e->port, "GET", "/health").status, 200);  // health is not a generation request
  EXPECT_EQ(Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false)).status, 200);
  EXPECT_EQ(WaitExit(*e, 2s), std::optional<int>(1));
  EXPECT_NE(e->Log().find("simulated crash after 2 requests"), std::string::npos);
  EXPECT_FALSE(RawClient(e->port).connected());
}

// 2.3, 3.7 "Engine dead": vLLM's /health turns 503 (empty) before the process exits.
TEST_F(SimProcessTest, VllmCrashAnswers503ThenExits) {
  const uint16_t port = PickFreePort();
  auto e = StartProcess(
      SimArgv("vllm",
              {"Qwen/Qwen2.5-0.5B-Instruct", "--port", std::to_string(port), "--host", "127.0.0.1",
               "--max-model-len", "4096", "--kv-cache-memory-bytes", "1G", "--sim-load-seconds",
               "0", "--sim-ttft-ms", "5", "--sim-itl-ms", "1", "--sim-crash-after", "1"}),
      port, dir_.File("vllm-crash.log"));
  ASSERT_TRUE(WaitHealthy(*e)) << e->Log();
  EXPECT_EQ(Http(port, "POST", "/v1/chat/completions",
                 R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})")
                .status,
            200);
  const auto health = Http(port, "GET", "/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.body, "");
  EXPECT_EQ(WaitExit(*e, 3s), std::optional<int>(1));
  EXPECT_NE(e->Log().find("EngineDeadError"), std::string::npos);
}

TEST_F(SimProcessTest, HangAfterNRequestsKeepsSocketsOpenAndAnswersNothing) {
  auto e = Start({"--sim-hang-after", "1"});
  EXPECT_EQ(Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false)).status, 200);
  RawClient chat(e->port);
  ASSERT_TRUE(chat.connected());
  ASSERT_TRUE(chat.Send(RequestText("POST", "/v1/chat/completions", ChatBody(2, false))));
  RawClient health(e->port);
  ASSERT_TRUE(health.connected());  // still accepting
  ASSERT_TRUE(health.Send(RequestText("GET", "/health")));
  EXPECT_EQ(chat.Read(1s), "");
  EXPECT_EQ(health.Read(200ms), "");
  EXPECT_FALSE(chat.peer_closed());
  EXPECT_FALSE(health.peer_closed());
  EXPECT_FALSE(e->process->Poll()) << "a hung engine stays alive";
}

TEST_F(SimProcessTest, FailRateGivesTheStatusInTheEnginesShape) {
  auto e = Start({"--sim-fail-rate", "1", "--sim-fail-status", "503"});
  const auto r = Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false));
  EXPECT_EQ(r.status, 503);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Int(j, "error/code"), 503);
  EXPECT_EQ(Str(j, "error/type"), "unavailable_error");    // llama.cpp's type for 503 (1.5)
  EXPECT_EQ(Http(e->port, "GET", "/health").status, 200);  // only generation requests fail
}

TEST_F(SimProcessTest, FailuresAreDeterministicForTheSeed) {
  auto statuses = [&](const std::string& seed) {
    auto e = Start(
        {"--sim-fail-rate", "0.5", "--sim-seed", seed, "--sim-ttft-ms", "0", "--sim-itl-ms", "0"});
    std::string out;
    for (int i = 0; i < 16; ++i)
      out += Http(e->port, "POST", "/v1/chat/completions", ChatBody(1, false)).status == 200 ? '.'
                                                                                             : 'x';
    return out;
  };
  const std::string a = statuses("7");
  EXPECT_EQ(a, statuses("7"));
  EXPECT_NE(a.find('.'), std::string::npos);
  EXPECT_NE(a.find('x'), std::string::npos);
}

// 1.6: after the headers, an error is one data event and the stream closes without [DONE].
TEST_F(SimProcessTest, LlamaCppMidStreamErrorHasNoDone) {
  auto e = Start({"--sim-fail-rate", "1", "--sim-fail-after-tokens", "2"});
  const auto r = Http(e->port, "POST", "/v1/chat/completions", ChatBody(5, true));
  EXPECT_EQ(r.status, 200);
  const std::vector<std::string> events = SseEvents(r.body);
  ASSERT_EQ(events.size(), 4u) << r.body;  // role, 2 tokens, error
  const json::value err = EventJson(events[3]);
  EXPECT_EQ(Int(err, "error/code"), 500);
  EXPECT_EQ(Str(err, "error/type"), "server_error");
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
}

TEST_F(SimProcessTest, SlowStartAnswers503UntilLoaded) {
  auto e = Start({"--sim-load-seconds", "1"}, /*wait=*/false);
  net::BlockingHttpResult first;
  for (int i = 0; i < 100; ++i) {
    net::BlockingHttpRequest req;
    req.target = "/v1/chat/completions";
    req.method = "POST";
    req.body = ChatBody(1, false);
    auto r = net::BlockingHttp("127.0.0.1", e->port, req);
    if (r.ok()) {
      first = *r;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(first.status, 503);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitHealthy(*e));
  EXPECT_GT(std::chrono::steady_clock::now() - started, 500ms);
}

// 1.11: a client that disconnects mid-stream cancels its task and frees the slot within a
// second.
TEST_F(SimProcessTest, DisconnectMidStreamFreesTheSlotWithinASecond) {
  auto e = Start({"-np", "1", "--sim-itl-ms", "50"});
  RawClient c(e->port);
  ASSERT_TRUE(c.Send(RequestText("POST", "/v1/chat/completions", ChatBody(1000, true))));
  ASSERT_NE(c.Read(3s, "\"content\":\"").find("\"content\":\""), std::string::npos);
  EXPECT_EQ(Str(ParseJson(Http(e->port, "GET", "/slots").body), "0/is_processing"), "true");
  c.Close();
  const auto closed = std::chrono::steady_clock::now();
  bool freed = false;
  while (!freed && std::chrono::steady_clock::now() - closed < 1s) {
    freed = Str(ParseJson(Http(e->port, "GET", "/slots").body), "0/is_processing") == "false";
    if (!freed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(freed) << "slot still busy a second after the client left";
  EXPECT_NE(e->Log().find("cancel task"), std::string::npos);
}

// 2.5, 2.7: the vLLM flavor counts a disconnected request as aborted.
TEST_F(SimProcessTest, VllmDisconnectCountsAsAbort) {
  const uint16_t port = PickFreePort();
  auto e = StartProcess(
      SimArgv("vllm",
              {"Qwen/Qwen2.5-0.5B-Instruct", "--port", std::to_string(port), "--host", "127.0.0.1",
               "--max-model-len", "4096", "--kv-cache-memory-bytes", "1G", "--served-model-name",
               "q", "--sim-load-seconds", "0", "--sim-ttft-ms", "5", "--sim-itl-ms", "50"}),
      port, dir_.File("vllm-abort.log"));
  ASSERT_TRUE(WaitHealthy(*e)) << e->Log();
  {
    RawClient c(port);
    ASSERT_TRUE(c.Send(RequestText(
        "POST", "/v1/chat/completions",
        R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1000,"stream":true})")));
    ASSERT_NE(c.Read(3s, "\"content\":\" ").find("\"content\":\" "), std::string::npos);
  }
  const std::string running = R"(vllm:num_requests_running{engine="0",model_name="q"} 0.0)";
  const std::string aborted =
      R"(vllm:request_success_total{engine="0",model_name="q",finished_reason="abort"} 1.0)";
  const auto until = std::chrono::steady_clock::now() + 1s;
  std::string m;
  while (std::chrono::steady_clock::now() < until) {
    m = Http(port, "GET", "/metrics").body;
    if (m.find(running) != std::string::npos && m.find(aborted) != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(m.find(running), std::string::npos);
  EXPECT_NE(m.find(aborted), std::string::npos);
}

// 1.6 step 1, 1.11: with every slot busy, a request gets nothing, not even headers, and is
// counted as deferred; if its client leaves it is dropped from the queue.
TEST_F(SimProcessTest, QueuedRequestsGetNoHeadersAndLeaveTheQueueOnDisconnect) {
  auto e = Start({"-np", "1", "--sim-itl-ms", "50", "--metrics"});
  RawClient busy(e->port);
  ASSERT_TRUE(busy.Send(RequestText("POST", "/v1/chat/completions", ChatBody(1000, true))));
  ASSERT_NE(busy.Read(3s, "\"content\":\"").find("HTTP/1.1 200"), std::string::npos);
  auto queued = std::make_unique<RawClient>(e->port);
  ASSERT_TRUE(queued->Send(RequestText("POST", "/v1/chat/completions", ChatBody(2, true))));
  EXPECT_EQ(queued->Read(300ms), "") << "headers sent before a slot took the request";
  EXPECT_NE(Http(e->port, "GET", "/metrics").body.find("llamacpp:requests_deferred 1\n"),
            std::string::npos);
  queued.reset();  // the waiting client leaves
  bool dropped = false;
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (!dropped && std::chrono::steady_clock::now() < until) {
    dropped = Http(e->port, "GET", "/metrics").body.find("llamacpp:requests_deferred 0\n") !=
              std::string::npos;
    if (!dropped) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dropped);
  busy.Close();
  // The slot frees and the next request is served at once.
  const auto r = Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false), {}, 3s);
  EXPECT_EQ(r.status, 200);
}

// 1.6 step 7: after the headers, `:` comments keep a silent stream alive.
TEST_F(SimProcessTest, KeepAliveCommentsWhileWaitingForTokens) {
  auto e = Start({"--sse-ping-interval", "1", "--sim-ttft-ms", "10", "--sim-itl-ms", "1300"});
  const auto r = Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, true));
  const std::vector<std::string> events = SseEvents(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(std::count(events.begin(), events.end(), std::string(":")), 1) << r.body;
  EXPECT_EQ(events.back(), "data: [DONE]");
}

// Tokens are never early: the first comes --sim-ttft-ms after the slot takes the request, the
// rest --sim-itl-ms apart (loose upper bounds: this is a shared machine).
TEST_F(SimProcessTest, TokensFollowTheConfiguredPace) {
  auto e = Start({"--sim-ttft-ms", "150", "--sim-itl-ms", "40"});
  RawClient c(e->port);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send(RequestText("POST", "/v1/chat/completions", ChatBody(6, true))));
  c.Read(5s, "\"content\":\"");
  const auto first = std::chrono::steady_clock::now() - start;
  c.Read(5s, "[DONE]");
  const auto total = std::chrono::steady_clock::now() - start;
  EXPECT_GE(first, 150ms);
  EXPECT_LT(first, 650ms);
  EXPECT_GE(total, 150ms + 5 * 40ms);
  EXPECT_LT(total, 1500ms);
}

TEST_F(SimProcessTest, SameSeedSameText) {
  auto text = [&](const std::string& seed) {
    auto e = Start({"--sim-seed", seed});
    return Str(ParseJson(Http(e->port, "POST", "/v1/chat/completions", ChatBody(8, false)).body),
               "choices/0/message/content");
  };
  const std::string a = text("3");
  EXPECT_EQ(a, text("3"));
  EXPECT_NE(a, text("4"));
  EXPECT_EQ(std::count(a.begin(), a.end(), ' '), 8) << a;  // eight one-word tokens
}

// 1.10: the startup lines parse (with our own parser) to the planner's sizes.
TEST_F(SimProcessTest, StartupLinesParseToThePlannedSizes) {
  auto e = Start(
      {"-c", "6000", "-np", "3", "-ctk", "q8_0", "-fa", "on", "-ub", "256", "--cache-ram", "0"});
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(e->Log());
  auto model = ReadGgufModel(model_);
  ASSERT_TRUE(model.ok());
  LlamaCppSettings s;
  s.ctx_size = 6000;
  s.parallel = 3;
  s.cache_type_k = GgmlType::kQ8_0;
  s.flash_attn = FlashAttnMode::kOn;
  s.ubatch_size = 256;
  s.n_gpu_layers = 0;
  s.cache_ram_mib = 0;
  auto plan = PlanLlamaCpp(*model, s, 0);
  ASSERT_TRUE(plan.ok());
  const auto mib = [](uint64_t b) { return static_cast<double>(b) / kMiB; };
  EXPECT_TRUE(log.listening);
  EXPECT_EQ(log.n_ctx, std::optional<uint64_t>(plan->kv.n_ctx));
  EXPECT_EQ(log.n_ctx_seq, std::optional<uint64_t>(plan->kv.n_ctx_seq));
  EXPECT_EQ(log.n_ubatch, std::optional<uint64_t>(256));
  EXPECT_NEAR(log.kv_mib, mib(plan->memory.kv_bytes), 0.0051);
  EXPECT_NEAR(log.compute_mib, mib(plan->memory.compute_bytes), 0.0051);
  EXPECT_NEAR(log.model_mib, mib(plan->memory.weights_bytes), 0.0051);
  EXPECT_TRUE(std::regex_search(
      e->Log(),
      std::regex(
          R"(\d+\.\d\d\.\d{3}\.\d{3} I srv  llama_server: listening on http://127\.0\.0\.1:\d+)")));
}

// --sim-hold-memory really occupies the planned bytes: VmRSS grows by about that much.
TEST_F(SimProcessTest, HoldMemoryRaisesRss) {
  // 64 MiB of KV cache: 65536 cells x 2 layers x (K 128 + V 128) x 2 bytes.
  const std::vector<std::string> flags = {"-c", "65536", "-np", "8", "--cache-ram", "0"};
  auto base = Start(flags);
  std::vector<std::string> held = flags;
  held.insert(held.end(), {"--sim-hold-memory", "1.0"});
  auto e = Start(held);
  auto model = ReadGgufModel(model_);
  ASSERT_TRUE(model.ok());
  LlamaCppSettings s;
  s.ctx_size = 65536;
  s.parallel = 8;
  s.n_gpu_layers = 0;
  s.cache_ram_mib = 0;
  auto plan = PlanLlamaCpp(*model, s, 0);
  ASSERT_TRUE(plan.ok());
  const double planned = static_cast<double>(plan->memory.total_bytes());
  ASSERT_GT(planned, 64.0 * kMiB);
  const double grew = static_cast<double>(RssBytes(e->process->pid())) -
                      static_cast<double>(RssBytes(base->process->pid()));
  EXPECT_NEAR(grew, planned, 0.1 * planned + 4.0 * kMiB)
      << "planned " << planned / kMiB << " MiB, RSS grew " << grew / kMiB << " MiB";
  EXPECT_NE(e->Log().find("sim: holding"), std::string::npos);
}

TEST_F(SimProcessTest, SigtermExitsZeroWithShutdownLines) {
  auto e = Start();
  EXPECT_EQ(e->process->Stop(3s), 0);
  EXPECT_NE(e->Log().find("cleaning up before exit"), std::string::npos);
}

TEST_F(SimProcessTest, UnreadableModelExitsOneLikeLlamaServer) {
  std::ofstream(dir_.File("bad.gguf")) << "garbage";
  auto e = Start({"-m", dir_.File("bad.gguf")}, /*wait=*/false);
  EXPECT_EQ(WaitExit(*e, 3s), std::optional<int>(1));
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(e->Log());
  EXPECT_FALSE(log.error.empty()) << e->Log();
  EXPECT_NE(e->Log().find("exiting due to model loading error"), std::string::npos);
}

TEST_F(SimProcessTest, BadSimOptionExitsTwo) {
  auto e = Start({"--sim-jitter", "7"}, /*wait=*/false);
  EXPECT_EQ(WaitExit(*e, 3s), std::optional<int>(2));
  EXPECT_NE(e->Log().find("--sim-jitter"), std::string::npos);
}

TEST_F(SimProcessTest, UnknownEngineFlagsAreLoggedAndIgnored) {
  auto e = Start({"--threads", "4", "--no-warmup", "-lv", "4"});
  const std::string log = e->Log();
  EXPECT_NE(log.find("ignoring unknown flag --threads 4"), std::string::npos) << log;
  EXPECT_NE(log.find("ignoring unknown flag --no-warmup"), std::string::npos);
  EXPECT_EQ(Http(e->port, "GET", "/health").status, 200);
}

}  // namespace
}  // namespace cortex::testing
