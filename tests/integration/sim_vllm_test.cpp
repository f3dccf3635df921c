// The vLLM flavor of `cortex sim`. There is no real vLLM here, so each check follows
// research/D-engine-apis.md section 2 (and the 3.7 behaviour matrix) and cites the behaviour
// it mimics.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "integration/sim_harness.h"
#include "model/hf_config.h"
#include "model/known_models.h"
#include "model/safetensors_writer.h"
#include "plan/vllm_plan.h"
#include "support/temp_dir.h"
#include "support/wait_for.h"
#include "util/bytes.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kModel[] = "Qwen/Qwen2.5-0.5B-Instruct";

class SimVllmTest : public ::testing::Test {
 protected:
  // Starts the vLLM flavor serving kModel as "qwen" with a 4096-token context and a 1 GiB
  // pinned KV pool, plus `extra` flags, and waits until /health is 200 (unless told not to).
  std::unique_ptr<EngineProcess> Start(const std::vector<std::string>& extra = {}, bool wait = true,
                                       const std::string& env_dev_mode = "") {
    const uint16_t port = PickFreePort();
    std::vector<std::string> args = {kModel,
                                     "--served-model-name",
                                     "qwen",
                                     "--max-model-len",
                                     "4096",
                                     "--kv-cache-memory-bytes",
                                     "1G",
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--sim-load-seconds",
                                     "0.1",
                                     "--sim-ttft-ms",
                                     "20",
                                     "--sim-itl-ms",
                                     "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<std::string> argv = SimArgv("vllm", args);
    if (!env_dev_mode.empty()) {
      // Subprocess passes the environment through; env(1) sets VLLM_SERVER_DEV_MODE for it.
      argv.insert(argv.begin(), {"/usr/bin/env", "VLLM_SERVER_DEV_MODE=" + env_dev_mode});
    }
    auto e = StartProcess(argv, port, dir_.File("vllm-" + std::to_string(port) + ".log"));
    if (e && wait) {
      EXPECT_TRUE(WaitHealthy(*e)) << e->Log();
    }
    return e;
  }

  TempDir dir_;
};

// 2.1, 3.7 "During model load": vLLM does not listen until the engine is ready, so a client is
// refused (no 503); /health answers 200 once "Application startup complete." is printed.
TEST_F(SimVllmTest, RefusesConnectionsWhileLoading) {
  auto e = Start({"--sim-load-seconds", "1.5"}, /*wait=*/false);
  ASSERT_NE(e, nullptr);
  // Loading has begun once the engine logs its model length (it listens only after the load).
  ASSERT_TRUE(WaitFor([&] { return e->Log().find("Using max model len") != std::string::npos; },
                      10s, "the engine to start loading"))
      << e->Log();
  RawClient early(e->port);
  EXPECT_FALSE(early.connected()) << "connected while loading";
  EXPECT_TRUE(WaitHealthy(*e));
  const std::string log = e->Log();
  EXPECT_NE(log.find("INFO:     Application startup complete."), std::string::npos) << log;
}

// 2.3: /health is 200 with an empty body.
TEST_F(SimVllmTest, HealthIsAnEmpty200) {
  auto e = Start();
  const auto r = Http(e->port, "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

// 2.2: /v1/models lists the served name with max_model_len, owned by vllm.
TEST_F(SimVllmTest, ModelsListCarriesMaxModelLen) {
  auto e = Start();
  const json::value j = ParseJson(Http(e->port, "GET", "/v1/models").body);
  EXPECT_EQ(Str(j, "object"), "list");
  EXPECT_EQ(Str(j, "data/0/id"), "qwen");
  EXPECT_EQ(Str(j, "data/0/owned_by"), "vllm");
  EXPECT_EQ(Str(j, "data/0/root"), kModel);
  EXPECT_EQ(Int(j, "data/0/max_model_len"), 4096);
  EXPECT_EQ(Str(j, "data/0/parent"), "null");
}

// 2.5, 3.2: a non-streamed chat completion with vLLM's extra fields (stop_reason) and usage.
TEST_F(SimVllmTest, ChatCompletionShape) {
  auto e = Start();
  const auto r =
      Http(e->port, "POST", "/v1/chat/completions",
           R"({"model":"qwen","messages":[{"role":"user","content":"hi"}],"max_tokens":4})");
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "object"), "chat.completion");
  EXPECT_EQ(Str(j, "model"), "qwen");
  EXPECT_TRUE(std::regex_match(Str(j, "id"), std::regex("chatcmpl-[0-9a-f]{32}")));
  EXPECT_EQ(Str(j, "choices/0/message/role"), "assistant");
  EXPECT_EQ(Str(j, "choices/0/finish_reason"), "length");
  EXPECT_EQ(Str(j, "choices/0/stop_reason"), "null");
  EXPECT_EQ(Int(j, "usage/completion_tokens"), 4);
  EXPECT_EQ(Int(j, "usage/total_tokens"),
            Int(j, "usage/prompt_tokens") + Int(j, "usage/completion_tokens"));
  EXPECT_EQ(At(j, "timings"), nullptr);  // llama.cpp's field, not vLLM's
  // 3.6: an empty model name is the base model.
  EXPECT_EQ(Http(e->port, "POST", "/v1/chat/completions",
                 R"({"model":"","messages":[{"role":"user","content":"hi"}],"max_tokens":1})")
                .status,
            200);
}

// 2.5, 3.7 "Stream headers sent: immediately", "First delta", "Keep-alive: none": headers go
// out before the first token; role delta with content ""; finish_reason rides on the last
// content chunk; the usage chunk with include_usage; [DONE].
TEST_F(SimVllmTest, StreamFraming) {
  auto e = Start({"--sim-ttft-ms", "600"});
  RawClient c(e->port);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send(RequestText(
      "POST", "/v1/chat/completions",
      R"({"model":"qwen","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}})")));
  const std::string head = c.Read(5s, "\r\n\r\n");
  const auto header_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(head.find("text/event-stream"), std::string::npos);
  EXPECT_LT(header_ms, 400) << "headers must not wait for the first token";
  EXPECT_NE(c.Read(10s, "data: [DONE]\n\n").find("data: [DONE]"), std::string::npos);
  const auto r = Http(
      e->port, "POST", "/v1/chat/completions",
      R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}})");
  const std::vector<std::string> events = SseEvents(r.body);
  ASSERT_EQ(events.size(), 6u) << r.body;
  for (const std::string& ev : events)
    EXPECT_EQ(ev.rfind("data: ", 0), 0u) << "no comments or other lines: " << ev;
  EXPECT_EQ(Str(EventJson(events[0]), "choices/0/delta"), R"({"role":"assistant","content":""})");
  EXPECT_EQ(Str(EventJson(events[1]), "choices/0/finish_reason"), "null");
  const json::value last = EventJson(events[3]);
  EXPECT_EQ(Str(last, "choices/0/finish_reason"), "length");
  EXPECT_EQ(Str(last, "choices/0/stop_reason"), "null");
  EXPECT_TRUE(At(last, "choices/0/delta/content") != nullptr);
  const json::value usage = EventJson(events[4]);
  EXPECT_EQ(Str(usage, "choices"), "[]");
  EXPECT_EQ(Int(usage, "usage/completion_tokens"), 3);
  EXPECT_EQ(events[5], "data: [DONE]");
}

// 2.4, 3.6, 3.7: errors nested with PascalCase types, param null, integer code.
TEST_F(SimVllmTest, ErrorShapes) {
  auto e = Start();
  // Context length: 400 BadRequestError mentioning "maximum context length".
  auto r =
      Http(e->port, "POST", "/v1/chat/completions",
           R"({"model":"qwen","messages":[{"role":"user","content":"hi"}],"max_tokens":5000})");
  EXPECT_EQ(r.status, 400);
  json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "error/type"), "BadRequestError");
  EXPECT_EQ(Int(j, "error/code"), 400);
  EXPECT_EQ(Str(j, "error/param"), "null");
  EXPECT_NE(Str(j, "error/message").find("maximum context length is 4096 tokens"),
            std::string::npos);
  // A prompt alone over the context.
  r = Http(e->port, "POST", "/v1/chat/completions", ChatBody(1, false, 3000));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("maximum context length"), std::string::npos) << r.body;
  // Unknown model: 404 NotFoundError.
  r = Http(e->port, "POST", "/v1/chat/completions",
           R"({"model":"gpt-4","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(
      r.body,
      R"({"error":{"message":"The model `gpt-4` does not exist.","type":"NotFoundError","param":null,"code":404}})");
  // Malformed JSON: 400 BadRequestError (not llama.cpp's 500).
  r = Http(e->port, "POST", "/v1/chat/completions", R"({"messages":[)");
  EXPECT_EQ(r.status, 400);
  j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "error/type"), "BadRequestError");
  EXPECT_NE(Str(j, "error/message").find("JSON decode error"), std::string::npos);
  // Missing messages: a validation error, 400.
  r = Http(e->port, "POST", "/v1/chat/completions", R"({"model":"qwen"})");
  EXPECT_EQ(r.status, 400);
  // Unknown route: Starlette's {"detail":"Not Found"}; wrong method: 405.
  r = Http(e->port, "GET", "/no/such/route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"detail":"Not Found"})");
  r = Http(e->port, "GET", "/v1/chat/completions");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, R"({"detail":"Method Not Allowed"})");
}

// 2.2: the API key guards /v1 paths only, with a bare-string 401 body.
TEST_F(SimVllmTest, ApiKeyGuardsV1PathsOnly) {
  auto e = Start({"--api-key", "k1"});
  auto r = Http(e->port, "GET", "/v1/models");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"Unauthorized"})");
  EXPECT_EQ(Http(e->port, "GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_EQ(Http(e->port, "GET", "/v1/models", "", {{"Authorization", "Bearer k1"}}).status, 200);
  EXPECT_EQ(Http(e->port, "GET", "/health").status, 200);
  EXPECT_EQ(Http(e->port, "GET", "/metrics").status, 200);
  EXPECT_EQ(Http(e->port, "POST", "/tokenize", R"({"prompt":"hi"})").status, 200);
  EXPECT_EQ(Http(e->port, "GET", "/version").status, 200);
}

// 2.2: the sleep routes exist only with VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode.
TEST_F(SimVllmTest, SleepRoutesNeedDevModeAndSleepMode) {
  auto plain = Start({"--enable-sleep-mode"});
  auto r = Http(plain->port, "POST", "/sleep?level=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"detail":"Not Found"})");
  EXPECT_EQ(Http(plain->port, "GET", "/is_sleeping").status, 404);
  auto dev_only = Start({}, true, "1");
  EXPECT_EQ(Http(dev_only->port, "POST", "/sleep?level=1").status, 404);
}

// 2.2, 2.3, 2.7: sleep and wake up; /health stays 200 asleep, the sleep-state gauge follows,
// and a request made while asleep waits for /wake_up.
TEST_F(SimVllmTest, SleepAndWakeUp) {
  auto e = Start({"--enable-sleep-mode"}, true, "1");
  EXPECT_EQ(ParseJson(Http(e->port, "GET", "/is_sleeping").body),
            ParseJson(R"({"is_sleeping":false})"));
  auto r = Http(e->port, "POST", "/sleep?level=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(ParseJson(Http(e->port, "GET", "/is_sleeping").body),
            ParseJson(R"({"is_sleeping":true})"));
  EXPECT_EQ(Http(e->port, "GET", "/health").status, 200);
  EXPECT_NE(Http(e->port, "GET", "/metrics").body.find(R"(sleep_state="weights_offloaded"} 1.0)"),
            std::string::npos);
  RawClient waiting(e->port);
  ASSERT_TRUE(
      waiting.Send(RequestText("POST", "/v1/chat/completions",
                               R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})")));
  EXPECT_EQ(waiting.Read(400ms), "") << "answered while asleep";
  EXPECT_NE(Http(e->port, "GET", "/metrics")
                .body.find(R"(vllm:num_requests_waiting{engine="0",model_name="qwen"} 1.0)"),
            std::string::npos);
  EXPECT_EQ(Http(e->port, "POST", "/wake_up").status, 200);
  const std::string answer = waiting.Read(5s, "kv_transfer_params");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_EQ(ParseJson(Http(e->port, "GET", "/is_sleeping").body),
            ParseJson(R"({"is_sleeping":false})"));
}

// 2.7: vllm: names with the model_name label, counting what was served.
TEST_F(SimVllmTest, MetricsUseVllmNames) {
  auto e = Start();
  Http(e->port, "POST", "/v1/chat/completions",
       R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":3})");
  const std::string m = Http(e->port, "GET", "/metrics").body;
  const std::string l = R"({engine="0",model_name="qwen"})";
  for (
      const std::string& line :
      {"vllm:num_requests_running" + l + " 0.0", "vllm:num_requests_waiting" + l + " 0.0",
       "vllm:generation_tokens_total" + l + " 3.0",
       std::string(
           R"(vllm:request_success_total{engine="0",model_name="qwen",finished_reason="length"} 1.0)"),
       "vllm:time_to_first_token_seconds_count" + l + " 1.0",
       "vllm:inter_token_latency_seconds_count" + l + " 2.0"}) {
    EXPECT_NE(m.find(line + "\n"), std::string::npos) << line;
  }
  EXPECT_NE(m.find("vllm:kv_cache_usage_perc" + l), std::string::npos);
  EXPECT_NE(m.find("vllm:prompt_tokens_total" + l), std::string::npos);
  EXPECT_EQ(m.find("llamacpp:"), std::string::npos);
}

// 2.4: after the headers, an error is one event and the stream still ends with [DONE].
TEST_F(SimVllmTest, MidStreamErrorThenDone) {
  auto e = Start({"--sim-fail-rate", "1", "--sim-fail-after-tokens", "2"});
  const auto r =
      Http(e->port, "POST", "/v1/chat/completions",
           R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true})");
  EXPECT_EQ(r.status, 200);
  const std::vector<std::string> events = SseEvents(r.body);
  ASSERT_EQ(events.size(), 5u) << r.body;  // role, 2 tokens, error, [DONE]
  const json::value err = EventJson(events[3]);
  EXPECT_EQ(Int(err, "error/code"), 500);
  EXPECT_EQ(Str(err, "error/type"), "InternalServerError");
  EXPECT_EQ(events[4], "data: [DONE]");
}

// 2.1, 2.6: the startup lines carry the planner's KV tokens and concurrency.
TEST_F(SimVllmTest, StartupLinesCarryThePlannedKvCache) {
  auto e = Start();
  auto model = LookupKnownModel(kModel, "bf16");
  ASSERT_TRUE(model.ok());
  VllmSettings s;
  s.max_model_len = 4096;
  s.kv_cache_memory_bytes = 1ull << 30;
  auto plan = PlanVllm(*model, s, 100ull << 30, 110ull << 30, 512 * kMiB);
  ASSERT_TRUE(plan.ok());
  const std::string log = e->Log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(GPU KV cache size: ([\d,]+) tokens)")))
      << log;
  std::string digits = m[1];
  digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
  EXPECT_EQ(std::stoull(digits), plan->kv_tokens);
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex(R"(Maximum concurrency for 4,096 tokens per request: ([\d.]+)x)")));
  EXPECT_NEAR(std::stod(m[1]), plan->max_concurrency, 0.006);
  EXPECT_NE(log.find("Available KV cache memory: 1.00 GiB"), std::string::npos);
  EXPECT_NE(log.find("Starting vLLM server on http://127.0.0.1:" + std::to_string(e->port)),
            std::string::npos);
  EXPECT_TRUE(std::regex_search(
      log, std::regex(
               R"(\(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[api_server\.py:\d+\] )")));
}

// 2.1, 2.2: `vllm serve DIR` with a Hugging Face directory: the model is read from config.json
// and the safetensors headers, /v1/models names the directory, the log the planned pool.
TEST_F(SimVllmTest, ServesAHuggingFaceDirectory) {
  const std::string model_dir = dir_.File("tiny-llama");
  ASSERT_EQ(::mkdir(model_dir.c_str(), 0755), 0);
  WriteText(model_dir + "/config.json", R"({
    "model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000,
    "max_position_embeddings": 2048, "torch_dtype": "bfloat16"})");
  WriteSafetensors(model_dir + "/model.safetensors",
                   {{"model.embed_tokens.weight", "BF16", {1000, 64}},
                    {"model.layers.0.self_attn.q_proj.weight", "BF16", {64, 64}},
                    {"model.layers.1.self_attn.q_proj.weight", "BF16", {64, 64}},
                    {"lm_head.weight", "BF16", {1000, 64}}});
  auto info = ReadHfModelDir(model_dir);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const uint16_t port = PickFreePort();
  auto e = StartProcess(
      SimArgv("vllm", {"serve", model_dir, "--port", std::to_string(port), "--host", "127.0.0.1",
                       "--kv-cache-memory-bytes", "64M", "--sim-load-seconds", "0"}),
      port, dir_.File("vllm-hf.log"));
  ASSERT_TRUE(WaitHealthy(*e)) << e->Log();
  const json::value j = ParseJson(Http(port, "GET", "/v1/models").body);
  EXPECT_EQ(Str(j, "data/0/id"), model_dir);        // no --served-model-name: the model as given
  EXPECT_EQ(Int(j, "data/0/max_model_len"), 2048);  // max_position_embeddings
  VllmSettings s;
  s.kv_cache_memory_bytes = 64ull << 20;
  auto plan = PlanVllm(*info, s, 100ull << 30, 110ull << 30, 512 * kMiB);
  ASSERT_TRUE(plan.ok());
  std::smatch m;
  const std::string log = e->Log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(GPU KV cache size: ([\d,]+) tokens)")))
      << log;
  std::string digits = m[1];
  digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
  EXPECT_EQ(std::stoull(digits), plan->kv_tokens);
  EXPECT_GT(plan->kv_tokens, 0u);
}

// 2.1: a pool that cannot hold one max-model-len request stops the engine at startup.
TEST_F(SimVllmTest, KvPoolTooSmallFailsAtStartup) {
  auto e = Start({"--max-model-len", "32768", "--kv-cache-memory-bytes", "1M"}, /*wait=*/false);
  ASSERT_NE(e, nullptr);
  std::optional<int> code;
  EXPECT_TRUE(WaitFor(
      [&] {
        code = e->process->Poll();
        return code.has_value();
      },
      10s, "the engine to exit at startup"));
  EXPECT_EQ(code, std::optional<int>(1));
  const std::string log = e->Log();
  EXPECT_NE(
      log.find("ValueError: To serve at least one request with the model's max seq len (32768)"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("Engine core initialization failed"), std::string::npos);
}

// 3.7 "Full queue": beyond --max-num-seqs requests wait (num_requests_waiting), none fail.
TEST_F(SimVllmTest, RequestsBeyondMaxNumSeqsWait) {
  auto e = Start({"--max-num-seqs", "1", "--sim-itl-ms", "50"});
  RawClient first(e->port);
  RawClient second(e->port);
  const std::string body = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":10})";
  const std::string running = R"(vllm:num_requests_running{engine="0",model_name="qwen"} 1.0)";
  const std::string waiting = R"(vllm:num_requests_waiting{engine="0",model_name="qwen"} 1.0)";
  std::string m;  // the last /metrics read
  auto shows = [&](const std::vector<std::string>& lines) {
    m = Http(e->port, "GET", "/metrics").body;
    for (const std::string& line : lines) {
      if (m.find(line) == std::string::npos) return false;
    }
    return true;
  };
  ASSERT_TRUE(first.Send(RequestText("POST", "/v1/chat/completions", body)));
  ASSERT_TRUE(WaitFor([&] { return shows({running}); }, 5s, "the first request to be running"))
      << m;
  ASSERT_TRUE(second.Send(RequestText("POST", "/v1/chat/completions", body)));
  EXPECT_TRUE(WaitFor(
      [&] {
        return shows({running, waiting});
      },
      5s, "the second request to be waiting behind the first"))
      << m;
  EXPECT_NE(m.find(running), std::string::npos);
  EXPECT_NE(m.find(waiting), std::string::npos);
  EXPECT_NE(first.Read(5s, "kv_transfer_params").find("200 OK"), std::string::npos);
  EXPECT_NE(second.Read(5s, "kv_transfer_params").find("200 OK"), std::string::npos);
}

}  // namespace
}  // namespace cortex::testing
