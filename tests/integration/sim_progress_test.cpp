// `cortex sim` as a process: simulated prompt processing (--sim-prefill-tps in -ub batches), the
// prompt_progress chunks llama-server streams with "return_progress", and what a disconnect does
// to the work, by default (stops, slot freed) and with --sim-ignore-disconnect (the slot works on
// to the end, as current llama-server does).
#include <gtest/gtest.h>

#include "integration/sim_harness.h"
#include "model/synthetic_model.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kUbatch = 8;

class SimProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.File("model.gguf");
    ASSERT_TRUE(WriteSyntheticModel(model_, SyntheticModelSpec{}).ok());
  }

  // llama.cpp flavor, one slot, a tiny ubatch, prompt processing at `tps` tokens per second.
  std::unique_ptr<EngineProcess> Start(double tps, const std::vector<std::string>& extra = {}) {
    const uint16_t port = PickFreePort();
    std::vector<std::string> args = {"-m",
                                     model_,
                                     "-c",
                                     "4096",
                                     "-np",
                                     "1",
                                     "-ub",
                                     std::to_string(kUbatch),
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(port),
                                     "--sim-load-seconds",
                                     "0",
                                     "--sim-prefill-tps",
                                     std::to_string(tps),
                                     "--sim-ttft-ms",
                                     "10",
                                     "--sim-itl-ms",
                                     "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto e = StartProcess(SimArgv("llama.cpp", args), port,
                          dir_.File("sim-" + std::to_string(port) + ".log"));
    if (e) {
      EXPECT_TRUE(WaitHealthy(*e)) << e->Log();
    }
    return e;
  }

  // The data events of a stream body as JSON, [DONE] and comments left out.
  static std::vector<json::value> DataEvents(const std::string& body) {
    std::vector<json::value> out;
    for (const std::string& event : SseEvents(body)) {
      if (event.rfind("data: ", 0) != 0 || event == "data: [DONE]") continue;
      json::value j = EventJson(event);
      EXPECT_FALSE(j.is_null()) << event;
      out.push_back(std::move(j));
    }
    return out;
  }

  static json::value Slot0(const EngineProcess& e) {
    const json::value slots = ParseJson(Http(e.port, "GET", "/slots").body);
    const json::value* slot = At(slots, "0");
    return slot != nullptr ? *slot : json::value(nullptr);
  }

  static bool Processing(const EngineProcess& e) {
    return Str(Slot0(e), "is_processing") == "true";
  }

  // Polls /slots until slot 0's is_processing is `want` or `limit` passes; when it became so.
  static std::optional<Clock::time_point> WaitProcessing(const EngineProcess& e, bool want,
                                                         std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      if (Processing(e) == want) return Clock::now();
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  TempDir dir_;
  std::string model_;
};

constexpr std::string_view kProgress = R"(,"return_progress":true)";
constexpr std::string_view kUsage = R"(,"stream_options":{"include_usage":true})";

TEST_F(SimProgressTest, ChatStreamsProgressPerBatchThenContent) {
  constexpr double kTps = 2000;
  auto e = Start(kTps);
  const auto r = Http(e->port, "POST", "/v1/chat/completions",
                      ChatBody(4, true, 40, std::string(kProgress) + std::string(kUsage)));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<json::value> events = DataEvents(r.body);
  ASSERT_FALSE(events.empty());

  // The 0% chunk first: no choices, the chunk's fields, processed == cache.
  const json::value& first = events.front();
  ASSERT_NE(At(first, "prompt_progress"), nullptr) << r.body;
  EXPECT_TRUE(At(first, "choices")->is_array() && At(first, "choices")->get_array().empty());
  EXPECT_EQ(Str(first, "object"), "chat.completion.chunk");
  EXPECT_NE(Str(first, "id"), "<absent>");
  EXPECT_NE(Str(first, "model"), "<absent>");
  EXPECT_GT(Int(first, "created"), 0);
  EXPECT_EQ(Int(first, "prompt_progress/cache"), 0);
  EXPECT_EQ(Int(first, "prompt_progress/processed"), 0);
  const int64_t total = Int(first, "prompt_progress/total");
  ASSERT_GT(total, 40);  // 40 words (several tokens each), the template and BOS

  // Then one chunk per batch: processed grows by at most the ubatch, up to the total; none after
  // the first content chunk.
  size_t n_progress = 0;
  int64_t processed = -1;
  int64_t last_time = -1;
  bool content_seen = false;
  std::string text;
  for (const json::value& j : events) {
    if (At(j, "prompt_progress") != nullptr) {
      EXPECT_FALSE(content_seen) << "progress after content";
      EXPECT_EQ(Int(j, "prompt_progress/total"), total);
      const int64_t p = Int(j, "prompt_progress/processed");
      if (n_progress > 0) {
        EXPECT_GT(p, processed);
        EXPECT_LE(p - processed, kUbatch);
      }
      EXPECT_GE(Int(j, "prompt_progress/time_ms"), last_time);
      processed = p;
      last_time = Int(j, "prompt_progress/time_ms");
      EXPECT_TRUE(At(j, "choices")->get_array().empty());
      ++n_progress;
      continue;
    }
    if (const json::value* c = At(j, "choices/0/delta/content"); c != nullptr && c->is_string()) {
      content_seen = true;
      text += std::string(c->get_string());
    }
  }
  EXPECT_EQ(processed, total);
  EXPECT_EQ(n_progress, 1 + static_cast<size_t>((total + kUbatch - 1) / kUbatch));
  // The last batch ends total / tps after the start (deadlines are never early).
  EXPECT_GE(last_time, static_cast<int64_t>(1000.0 * static_cast<double>(total) / kTps) - 1);
  EXPECT_TRUE(content_seen);
  EXPECT_FALSE(text.empty());

  // The usage chunk counts the same prompt, and the prompt time includes the prefill.
  const json::value& usage = events.back();
  EXPECT_EQ(Int(usage, "usage/prompt_tokens"), total) << r.body;
  EXPECT_EQ(Int(usage, "usage/completion_tokens"), 4);
  const json::value* prompt_ms = At(usage, "timings/prompt_ms");
  ASSERT_NE(prompt_ms, nullptr);
  EXPECT_GE(prompt_ms->to_number<double>(), 1000.0 * static_cast<double>(total) / kTps);
}

TEST_F(SimProgressTest, NativeCompletionStreamsPlainProgressObjects) {
  auto e = Start(5000);
  const auto r = Http(e->port, "POST", "/completion",
                      R"({"prompt":"one two three four five six seven eight nine ten eleven",)"
                      R"("n_predict":3,"stream":true,"return_progress":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::vector<json::value> events = DataEvents(r.body);
  ASSERT_FALSE(events.empty());
  ASSERT_NE(At(events.front(), "prompt_progress"), nullptr) << r.body;
  EXPECT_EQ(At(events.front(), "choices"), nullptr);
  EXPECT_EQ(Int(events.front(), "prompt_progress/processed"), 0);
  const int64_t total = Int(events.front(), "prompt_progress/total");
  int64_t last = -1;
  size_t n_progress = 0;
  for (const json::value& j : events) {
    if (At(j, "prompt_progress") == nullptr) continue;
    EXPECT_EQ(Str(j, "content"), "");
    EXPECT_GT(Int(j, "prompt_progress/processed"), last);
    last = Int(j, "prompt_progress/processed");
    ++n_progress;
  }
  EXPECT_EQ(last, total);
  EXPECT_EQ(n_progress, 1 + static_cast<size_t>((total + kUbatch - 1) / kUbatch));
  EXPECT_EQ(Int(events.back(), "tokens_evaluated"), total);
  EXPECT_EQ(Str(events.back(), "stop"), "true");
}

TEST_F(SimProgressTest, WithoutReturnProgressNothingChanges) {
  auto e = Start(5000);
  const auto chat =
      Http(e->port, "POST", "/v1/chat/completions", ChatBody(3, true, 40, std::string(kUsage)));
  ASSERT_EQ(chat.status, 200);
  EXPECT_EQ(chat.body.find("prompt_progress"), std::string::npos) << chat.body;
  const std::vector<json::value> events = DataEvents(chat.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(Str(events.front(), "choices/0/delta/role"), "assistant");  // the first is a token's
  const auto native = Http(e->port, "POST", "/completion",
                           R"({"prompt":"a b c d e f g h i j","n_predict":2,"stream":true})");
  EXPECT_EQ(native.body.find("prompt_progress"), std::string::npos) << native.body;
  // return_progress means nothing without a stream.
  const auto plain =
      Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false, 40, std::string(kProgress)));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body.find("prompt_progress"), std::string::npos) << plain.body;
  EXPECT_EQ(Str(ParseJson(plain.body), "object"), "chat.completion");
}

// Default: a client that closes the connection during the prefill stops the work; the slot is
// free long before the prefill would have ended.
TEST_F(SimProgressTest, DisconnectDuringPrefillStopsTheWorkAndFreesTheSlot) {
  constexpr double kTps = 40;  // seconds for the prompt (60 words, ~350 tokens)
  auto e = Start(kTps);
  RawClient c(e->port);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(
      RequestText("POST", "/v1/chat/completions", ChatBody(20, true, 60, std::string(kProgress)))));
  const std::string got = c.Read(5s, "\"prompt_progress\"");
  ASSERT_NE(got.find("\"prompt_progress\""), std::string::npos) << got;
  EXPECT_TRUE(Processing(*e));
  c.Close();
  const auto closed = Clock::now();
  const auto freed = WaitProcessing(*e, false, 1s);
  ASSERT_TRUE(freed) << "slot still busy a second after the client left\n" << e->Log();
  EXPECT_LT(*freed - closed, 1s);
  const json::value slot = Slot0(*e);
  EXPECT_EQ(Int(slot, "next_token/0/n_decoded"), 0);  // stopped before the first token
  EXPECT_LT(Int(slot, "n_prompt_tokens_processed"), Int(slot, "n_prompt_tokens"));
  EXPECT_NE(e->Log().find("cancel task"), std::string::npos);
}

// --sim-ignore-disconnect: the slot keeps processing after the client left, until the prefill and
// generation would have finished (llama.cpp issue #24496).
TEST_F(SimProgressTest, IgnoreDisconnectKeepsTheSlotBusyUntilTheWorkIsDone) {
  constexpr double kTps = 300;  // ~1.2 s for the prompt (60 words, ~350 tokens)
  constexpr int kTokens = 10;
  auto e = Start(kTps, {"--sim-ignore-disconnect"});
  RawClient c(e->port);
  ASSERT_TRUE(c.connected());
  const auto sent = Clock::now();
  ASSERT_TRUE(c.Send(RequestText("POST", "/v1/chat/completions",
                                 ChatBody(kTokens, true, 60, std::string(kProgress)))));
  const std::string got = c.Read(5s, "\"prompt_progress\"");
  const size_t at = got.find("{\"choices\":[]");
  ASSERT_NE(at, std::string::npos) << got;
  const size_t end = got.find("\n\n", at);
  ASSERT_NE(end, std::string::npos) << got;
  const int64_t total = Int(ParseJson(got.substr(at, end - at)), "prompt_progress/total");
  ASSERT_GT(total, 60);
  // Prefill, then the first token after --sim-ttft-ms, the others --sim-itl-ms apart.
  const auto work = std::chrono::milliseconds(
      static_cast<int64_t>(1000.0 * static_cast<double>(total) / kTps) + 10 + (kTokens - 1) * 5);

  c.Close();
  const auto closed = Clock::now();
  EXPECT_TRUE(Processing(*e)) << "the slot stopped when the client left";
  // Still busy well after the default would have freed it (the watch notices a close at once).
  while (Clock::now() - closed < 300ms && Processing(*e))
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(Processing(*e)) << "the slot stopped within 300 ms of the client leaving";

  const auto freed = WaitProcessing(*e, false, work + 3s);
  ASSERT_TRUE(freed) << "slot still busy long after the work's time\n" << e->Log();
  EXPECT_GE(*freed - sent, work - 20ms);
  const json::value slot = Slot0(*e);
  EXPECT_EQ(Int(slot, "next_token/0/n_decoded"), kTokens);  // generated to the end
  EXPECT_EQ(Int(slot, "n_prompt_tokens_processed"), total);
  // The engine is fine afterwards.
  EXPECT_EQ(Http(e->port, "POST", "/v1/chat/completions", ChatBody(2, false)).status, 200);
}

}  // namespace
}  // namespace cortex::testing
