// Conformance: the llama.cpp flavor of `cortex sim` against a real llama-server.
//
// One list of wire checks. Each check is a function over an engine (its port, the flags it was
// started with, the model path) that asserts what D-engine-apis.md section 1 (and the real
// server, observed) say the answer is, and returns the facts two engines must share: status
// codes, JSON shapes (key sets and value types, see sim_harness.h), error types, SSE framing,
// and the values that follow from the model and flags alone (n_ctx, slots, meta).
//
// Every check runs three ways:
//   <Check>_Sim              against `cortex sim --flavor llama.cpp` (always);
//   <Check>_RealLlamaServer  against the binary in CORTEX_LLAMA_SERVER, same GGUF, same flags;
//   <Check>_SimEqualsReal    both, and the facts must be equal.
// Without CORTEX_LLAMA_SERVER the last two skip, saying so.
//
// Both engines get the same argv: -m model.gguf -c 4096 -np 2 --metrics -t 1 --no-warmup (the
// simulator ignores -t and --no-warmup with a log line, as it must for any flag it does not
// model), plus the simulator's --sim-* timing options.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "integration/sim_harness.h"
#include "model/gguf_model.h"
#include "model/synthetic_model.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

using Facts = std::map<std::string, std::string>;
namespace json = boost::json;

enum class Kind { kSim, kReal };

struct Target {
  Kind kind;
  EngineProcess* engine;
  std::string model;  // -m as passed
};

// The argv both engines get, before the simulator's own options.
std::vector<std::string> EngineFlags(const std::string& model, uint16_t port,
                                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> flags = {"-m",
                                    model,
                                    "-c",
                                    "4096",
                                    "-np",
                                    "2",
                                    "--metrics",
                                    "--host",
                                    "127.0.0.1",
                                    "--port",
                                    std::to_string(port),
                                    "-t",
                                    "1",
                                    "--no-warmup"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

// Starts an engine of `kind` with EngineFlags(+extra); the simulator also gets `sim_options`.
std::unique_ptr<EngineProcess> StartEngine(Kind kind, const std::string& model,
                                           const std::string& log_path,
                                           const std::vector<std::string>& extra = {},
                                           const std::vector<std::string>& sim_options = {
                                               "--sim-load-seconds", "0.1", "--sim-ttft-ms", "20",
                                               "--sim-itl-ms", "5"}) {
  const uint16_t port = PickFreePort();
  std::vector<std::string> flags = EngineFlags(model, port, extra);
  std::vector<std::string> argv;
  if (kind == Kind::kSim) {
    flags.insert(flags.end(), sim_options.begin(), sim_options.end());
    argv = SimArgv("llama.cpp", flags);
  } else {
    argv = {LlamaServerBinary()};
    argv.insert(argv.end(), flags.begin(), flags.end());
  }
  return StartProcess(argv, port, log_path);
}

// Scratch files of the suite (logs, the model).
TempDir* g_dir = nullptr;
std::string Scratch(const std::string& name) {
  return g_dir->File(name);
}

class SimConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_dir = new TempDir();
    model_ = Scratch("model.gguf");
    ASSERT_TRUE(WriteSyntheticModel(model_, SyntheticModelSpec{}).ok());
    sim_ = StartEngine(Kind::kSim, model_, Scratch("sim.log")).release();
    ASSERT_NE(sim_, nullptr);
    ASSERT_TRUE(WaitHealthy(*sim_)) << sim_->Log();
    if (LlamaServerBinary() != nullptr) {
      real_ = StartEngine(Kind::kReal, model_, Scratch("real.log")).release();
      ASSERT_NE(real_, nullptr);
      ASSERT_TRUE(WaitHealthy(*real_)) << real_->Log();
    }
  }
  static void TearDownTestSuite() {
    delete sim_;
    delete real_;
    delete g_dir;
    sim_ = real_ = nullptr;
    g_dir = nullptr;
  }

  static Target SimTarget() { return {Kind::kSim, sim_, model_}; }
  static Target RealTarget() { return {Kind::kReal, real_, model_}; }
  static bool HaveReal() { return real_ != nullptr; }
  static std::string model_;
  static EngineProcess* sim_;
  static EngineProcess* real_;
};

std::string SimConformance::model_;
EngineProcess* SimConformance::sim_ = nullptr;
EngineProcess* SimConformance::real_ = nullptr;

constexpr char kNoReal[] =
    "CORTEX_LLAMA_SERVER is not set; set it to a llama-server binary (e.g. "
    "/work/llama.cpp/build/bin/llama-server) to run this check against the real engine";

// Three tests per check; a check that cannot observe something returns {"skip": why}.
#define CONFORMANCE_CHECK(Check)                                         \
  TEST_F(SimConformance, Check##_Sim) {                                  \
    Facts f = Check(SimTarget());                                        \
    if (f.count("skip")) GTEST_SKIP() << f["skip"];                      \
  }                                                                      \
  TEST_F(SimConformance, Check##_RealLlamaServer) {                      \
    if (!HaveReal()) GTEST_SKIP() << kNoReal;                            \
    Facts f = Check(RealTarget());                                       \
    if (f.count("skip")) GTEST_SKIP() << f["skip"];                      \
  }                                                                      \
  TEST_F(SimConformance, Check##_SimEqualsReal) {                        \
    if (!HaveReal()) GTEST_SKIP() << kNoReal;                            \
    Facts sim = Check(SimTarget());                                      \
    Facts real = Check(RealTarget());                                    \
    if (sim.count("skip") || real.count("skip")) {                       \
      GTEST_SKIP() << "not observable: " << sim["skip"] << real["skip"]; \
    }                                                                    \
    EXPECT_EQ(sim, real);                                                \
  }

// --- The checks ------------------------------------------------------------------------------

// 1.4: once loaded, /health is 200 {"status":"ok"}.
Facts HealthWhenReady(const Target& t) {
  const auto r = Http(t.engine->port, "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(r.header("server"), "llama.cpp");
  return {{"status", std::to_string(r.status)},
          {"body", r.body},
          {"content-type", r.header("content-type")},
          {"server", r.header("server")}};
}
CONFORMANCE_CHECK(HealthWhenReady)

// 1.1, 1.4: while loading, every route answers 503 unavailable_error "Loading model".
// A fresh engine is started and polled from the first moment; the simulator loads for 1.5 s,
// a real llama-server may finish before the first poll (then the check is skipped for it).
Facts HealthWhileLoading(const Target& t) {
  auto e = StartEngine(t.kind, t.model,
                       Scratch(t.kind == Kind::kSim ? "loading-sim.log" : "loading-real.log"), {},
                       {"--sim-load-seconds", "1.5"});
  if (e == nullptr) return {{"error", "not started"}};
  std::optional<net::BlockingHttpResult> loading;
  std::optional<net::BlockingHttpResult> models_loading;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && !e->process->Poll()) {
    net::BlockingHttpRequest req;
    req.target = "/health";
    req.timeout = std::chrono::milliseconds(500);
    auto r = net::BlockingHttp("127.0.0.1", e->port, req);
    if (!r.ok()) {  // not bound yet
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (r->status == 503 && !loading) {
      loading = *r;
      req.target = "/v1/models";
      auto m = net::BlockingHttp("127.0.0.1", e->port, req);
      if (m.ok() && m->status == 503) models_loading = *m;
      continue;
    }
    if (r->status == 200) break;
  }
  if (!loading) {
    EXPECT_EQ(t.kind, Kind::kReal) << "the simulator must answer 503 while it loads";
    return {{"skip", "the engine finished loading before the first /health answer"}};
  }
  EXPECT_TRUE(WaitHealthy(*e));
  EXPECT_EQ(loading->body,
            R"({"error":{"message":"Loading model","type":"unavailable_error","code":503}})");
  Facts f = {{"status", std::to_string(loading->status)},
             {"body", loading->body},
             {"connection", loading->header("connection")}};
  if (models_loading) f["models-while-loading"] = models_loading->body;
  return f;
}
CONFORMANCE_CHECK(HealthWhileLoading)

// 1.7: /v1/models lists the model twice, Ollama-style and OpenAI-style, with its metadata.
Facts ModelsList(const Target& t) {
  const auto r = Http(t.engine->port, "GET", "/v1/models");
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "object"), "list");
  EXPECT_EQ(Str(j, "models/0/name"), t.model);
  EXPECT_EQ(Str(j, "data/0/id"), t.model);
  EXPECT_EQ(Str(j, "data/0/owned_by"), "llamacpp");
  EXPECT_EQ(Int(j, "data/0/meta/n_ctx"), 2048);  // per slot: 4096 / 2
  EXPECT_EQ(Int(j, "data/0/meta/n_ctx_train"), 8192);
  auto info = ReadGgufModel(t.model);
  EXPECT_TRUE(info.ok());
  if (info.ok()) {
    EXPECT_EQ(Int(j, "data/0/meta/n_vocab"), info->n_vocab);
    EXPECT_EQ(Int(j, "data/0/meta/size"), static_cast<int64_t>(info->weights_bytes));
  }
  const json::value* meta = At(j, "data/0/meta");
  return {{"status", std::to_string(r.status)},
          {"shape", Shape(j)},
          {"meta", meta != nullptr ? json::serialize(*meta) : "<absent>"},
          {"id", Str(j, "data/0/id")},
          {"aliases", Str(j, "data/0/aliases")}};
}
CONFORMANCE_CHECK(ModelsList)

// 1.6: a non-streamed chat completion.
Facts ChatNonStream(const Target& t) {
  const auto r = Http(t.engine->port, "POST", "/v1/chat/completions", ChatBody(4, false));
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "object"), "chat.completion");
  EXPECT_EQ(Str(j, "model"), t.model);
  EXPECT_EQ(Str(j, "choices/0/message/role"), "assistant");
  EXPECT_EQ(Str(j, "choices/0/finish_reason"), "length");
  EXPECT_EQ(Str(j, "id").rfind("chatcmpl-", 0), 0u);
  return {{"status", std::to_string(r.status)},
          {"shape", Shape(j)},
          {"object", Str(j, "object")},
          {"finish_reason", Str(j, "choices/0/finish_reason")},
          {"content-type", r.header("content-type")}};
}
CONFORMANCE_CHECK(ChatNonStream)

// 1.6: usage counts what was generated; timings say how long it took.
Facts UsageAndTimings(const Target& t) {
  const auto r = Http(t.engine->port, "POST", "/v1/chat/completions", ChatBody(4, false));
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Int(j, "usage/completion_tokens"), 4);
  EXPECT_GT(Int(j, "usage/prompt_tokens"), 0);
  EXPECT_EQ(Int(j, "usage/total_tokens"),
            Int(j, "usage/prompt_tokens") + Int(j, "usage/completion_tokens"));
  EXPECT_EQ(Int(j, "timings/predicted_n"), 4);
  const json::value* usage = At(j, "usage");
  const json::value* timings = At(j, "timings");
  return {{"usage", usage ? Shape(*usage) : "<absent>"},
          {"timings", timings ? Shape(*timings) : "<absent>"},
          {"completion_tokens", Str(j, "usage/completion_tokens")}};
}
CONFORMANCE_CHECK(UsageAndTimings)

// 1.6 steps 2-6: the role delta with the first token, content deltas, a final chunk with an
// empty delta and the finish reason (carrying timings), then [DONE]; no usage by default.
Facts ChatStream(const Target& t) {
  const auto r = Http(t.engine->port, "POST", "/v1/chat/completions", ChatBody(3, true));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("x-accel-buffering"), "no");
  const std::vector<std::string> events = SseEvents(r.body);
  EXPECT_EQ(events.size(), 6u) << r.body;
  if (events.size() != 6) return {{"events", std::to_string(events.size())}};
  for (const std::string& e : events)
    EXPECT_EQ(e.rfind("data: ", 0), 0u) << e;
  EXPECT_EQ(events.back(), "data: [DONE]");
  const json::value first = EventJson(events[0]);
  EXPECT_EQ(Str(first, "choices/0/delta"), R"({"role":"assistant","content":null})");
  EXPECT_EQ(Str(first, "object"), "chat.completion.chunk");
  const json::value content = EventJson(events[1]);
  EXPECT_TRUE(At(content, "choices/0/delta/content") != nullptr &&
              At(content, "choices/0/delta/content")->is_string());
  const json::value last = EventJson(events[4]);
  EXPECT_EQ(Str(last, "choices/0/delta"), "{}");
  EXPECT_EQ(Str(last, "choices/0/finish_reason"), "length");
  EXPECT_NE(At(last, "timings"), nullptr);
  for (size_t i = 0; i + 1 < events.size(); ++i)
    EXPECT_EQ(At(EventJson(events[i]), "usage"), nullptr);
  return {{"status", std::to_string(r.status)},
          {"events", std::to_string(events.size())},
          {"first", Shape(first)},
          {"first-delta", Str(first, "choices/0/delta")},
          {"content", Shape(content)},
          {"last", Shape(last)},
          {"done", events.back()},
          {"content-type", r.header("content-type")},
          {"x-accel-buffering", r.header("x-accel-buffering")}};
}
CONFORMANCE_CHECK(ChatStream)

// 1.6 step 4: stream_options.include_usage adds a chunk with "choices":[] and usage; timings
// move to it.
Facts IncludeUsage(const Target& t) {
  const auto r = Http(t.engine->port, "POST", "/v1/chat/completions",
                      ChatBody(2, true, 2, R"(,"stream_options":{"include_usage":true})"));
  EXPECT_EQ(r.status, 200);
  const std::vector<std::string> events = SseEvents(r.body);
  EXPECT_EQ(events.size(), 6u) << r.body;
  if (events.size() != 6) return {{"events", std::to_string(events.size())}};
  const json::value final_chunk = EventJson(events[3]);
  const json::value usage_chunk = EventJson(events[4]);
  EXPECT_EQ(Str(final_chunk, "choices/0/finish_reason"), "length");
  EXPECT_EQ(At(final_chunk, "timings"), nullptr);
  EXPECT_EQ(Str(usage_chunk, "choices"), "[]");
  EXPECT_EQ(Int(usage_chunk, "usage/completion_tokens"), 2);
  EXPECT_NE(At(usage_chunk, "timings"), nullptr);
  EXPECT_EQ(events.back(), "data: [DONE]");
  return {{"events", std::to_string(events.size())},
          {"final", Shape(final_chunk)},
          {"usage-chunk", Shape(usage_chunk)},
          {"completion_tokens", Str(usage_chunk, "usage/completion_tokens")}};
}
CONFORMANCE_CHECK(IncludeUsage)

// 1.5: a prompt longer than the slot's context is a 400 exceed_context_size_error with the
// counts, as plain JSON even for a stream (no header was sent yet).
Facts ContextOverflow(const Target& t) {
  Facts f;
  for (bool stream : {false, true}) {
    const auto r = Http(t.engine->port, "POST", "/v1/chat/completions", ChatBody(2, stream, 3000));
    const std::string k = stream ? "stream-" : "";
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
    const json::value j = ParseJson(r.body);
    EXPECT_EQ(Str(j, "error/type"), "exceed_context_size_error");
    EXPECT_EQ(Int(j, "error/code"), 400);
    EXPECT_EQ(Int(j, "error/n_ctx"), 2048);
    EXPECT_GT(Int(j, "error/n_prompt_tokens"), 2048);
    EXPECT_TRUE(std::regex_match(
        Str(j, "error/message"),
        std::regex(
            R"(request \(\d+ tokens\) exceeds the available context size \(2048 tokens\), try increasing it)")))
        << Str(j, "error/message");
    f[k + "status"] = std::to_string(r.status);
    f[k + "shape"] = Shape(j);
    f[k + "type"] = Str(j, "error/type");
    f[k + "n_ctx"] = Str(j, "error/n_ctx");
    f[k + "connection"] = r.header("connection");
  }
  return f;
}
CONFORMANCE_CHECK(ContextOverflow)

// 1.5: malformed JSON is a 500 server_error quoting the JSON parser (not a 400).
Facts MalformedJson(const Target& t) {
  const auto r = Http(t.engine->port, "POST", "/v1/chat/completions", R"({"messages":[)");
  EXPECT_EQ(r.status, 500);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "error/type"), "server_error");
  const std::string message = Str(j, "error/message");
  const std::string prefix = "[json.exception.parse_error.101] parse error at line 1, column 14: ";
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  const auto empty = Http(t.engine->port, "POST", "/v1/chat/completions", "",
                          {{"Content-Type", "application/json"}});
  EXPECT_EQ(empty.status, 500);
  return {{"status", std::to_string(r.status)},
          {"shape", Shape(j)},
          {"type", Str(j, "error/type")},
          {"message-prefix", message.substr(0, prefix.size())},
          {"empty-status", std::to_string(empty.status)},
          {"empty-body", empty.body},
          {"connection", r.header("connection")}};
}
CONFORMANCE_CHECK(MalformedJson)

// 1.2: unknown routes (and known ones with the wrong method) are 404 "File Not Found".
Facts UnknownRoute(const Target& t) {
  Facts f;
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/no/such/route"}, {"POST", "/v1/nope"}, {"GET", "/v1/chat/completions"}}) {
    const auto r = Http(t.engine->port, method, target, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << method << " " << target;
    EXPECT_EQ(r.body,
              R"({"error":{"message":"File Not Found","type":"not_found_error","code":404}})");
    f[method + " " + target] = std::to_string(r.status) + " " + r.body;
  }
  return f;
}
CONFORMANCE_CHECK(UnknownRoute)

// 1.7: /slots has one object per slot (-np 2), each with the per-slot context.
Facts SlotsCount(const Target& t) {
  const auto r = Http(t.engine->port, "GET", "/slots");
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_TRUE(j.is_array());
  const size_t n = j.is_array() ? j.get_array().size() : 0;
  EXPECT_EQ(n, 2u);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(Int(j, std::to_string(i) + "/id"), static_cast<int64_t>(i));
    EXPECT_EQ(Int(j, std::to_string(i) + "/n_ctx"), 2048);
    EXPECT_EQ(Str(j, std::to_string(i) + "/is_processing"), "false");
  }
  // Which slot served earlier requests is the engine's choice (llama-server picks by prompt
  // similarity and LRU, the simulator the lowest free id), so the facts hold the shape of a
  // slot that has served a task, whichever it is, rather than the whole array's.
  std::string used = "none";
  for (size_t i = 0; i < n; ++i) {
    const json::value& slot = j.get_array()[i];
    EXPECT_NE(At(slot, "speculative"), nullptr);
    if (At(slot, "id_task") != nullptr) used = Shape(slot);
  }
  return {{"count", std::to_string(n)},
          {"n_ctx", Str(j, "0/n_ctx") + "," + Str(j, "1/n_ctx")},
          {"used-slot", used}};
}
CONFORMANCE_CHECK(SlotsCount)

// 1.7: /props gives the per-slot context and the slot count.
Facts Props(const Target& t) {
  const auto r = Http(t.engine->port, "GET", "/props");
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Int(j, "default_generation_settings/n_ctx"), 2048);
  EXPECT_EQ(Int(j, "total_slots"), 2);
  EXPECT_EQ(Str(j, "model_path"), t.model);
  EXPECT_EQ(Str(j, "model_alias"), t.model);
  EXPECT_EQ(Str(j, "is_sleeping"), "false");
  return {{"shape", Shape(j)},
          {"n_ctx", Str(j, "default_generation_settings/n_ctx")},
          {"total_slots", Str(j, "total_slots")},
          {"endpoint_metrics", Str(j, "endpoint_metrics")},
          {"model_ftype", Str(j, "model_ftype")}};
}
CONFORMANCE_CHECK(Props)

// 1.8: with --metrics, the llamacpp: series (no labels).
Facts Metrics(const Target& t) {
  const auto r = Http(t.engine->port, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  std::set<std::string> names;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("llamacpp:", 0) == 0) names.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_TRUE(names.count("llamacpp:requests_processing"));
  EXPECT_TRUE(names.count("llamacpp:requests_deferred"));
  EXPECT_TRUE(names.count("llamacpp:tokens_predicted_total"));
  std::string joined;
  for (const std::string& n : names)
    joined += n + " ";
  return {{"status", std::to_string(r.status)},
          {"content-type", r.header("content-type")},
          {"names", joined}};
}
CONFORMANCE_CHECK(Metrics)

// 1.2, 1.6: /v1/completions, plain and streamed (usage rides on the final chunk).
Facts Completions(const Target& t) {
  const std::string body = R"({"prompt":"hello there","max_tokens":3)";
  const auto r = Http(t.engine->port, "POST", "/v1/completions", body + "}");
  EXPECT_EQ(r.status, 200);
  const json::value j = ParseJson(r.body);
  EXPECT_EQ(Str(j, "object"), "text_completion");
  EXPECT_EQ(Int(j, "usage/completion_tokens"), 3);
  const auto s = Http(t.engine->port, "POST", "/v1/completions", body + R"(,"stream":true})");
  const std::vector<std::string> events = SseEvents(s.body);
  EXPECT_EQ(events.size(), 5u) << s.body;
  if (events.size() != 5) return {{"events", std::to_string(events.size())}};
  EXPECT_EQ(events.back(), "data: [DONE]");
  const json::value last = EventJson(events[3]);
  EXPECT_EQ(Str(last, "choices/0/finish_reason"), "length");
  EXPECT_EQ(Int(last, "usage/completion_tokens"), 3);
  const json::value missing = ParseJson(Http(t.engine->port, "POST", "/v1/completions", "{}").body);
  return {{"shape", Shape(j)},
          {"chunk", Shape(EventJson(events[0]))},
          {"last", Shape(last)},
          {"events", std::to_string(events.size())},
          {"no-prompt", json::serialize(missing)}};
}
CONFORMANCE_CHECK(Completions)

// 1.2: /tokenize and /detokenize shapes.
Facts Tokenize(const Target& t) {
  const json::value plain =
      ParseJson(Http(t.engine->port, "POST", "/tokenize", R"({"content":"hello world"})").body);
  const json::value pieces = ParseJson(
      Http(t.engine->port, "POST", "/tokenize", R"({"content":"hello world","with_pieces":true})")
          .body);
  const json::value detok =
      ParseJson(Http(t.engine->port, "POST", "/detokenize", R"({"tokens":[300,301]})").body);
  EXPECT_GT(At(plain, "tokens") ? At(plain, "tokens")->get_array().size() : 0, 0u);
  return {{"tokenize", Shape(plain)}, {"pieces", Shape(pieces)}, {"detokenize", Shape(detok)}};
}
CONFORMANCE_CHECK(Tokenize)

// 1.2, 1.8: the API key (Bearer or X-Api-Key; health and model list public) and /metrics
// without --metrics. Runs its own engine started with --api-key and without --metrics.
Facts ApiKeyAndDisabledMetrics(const Target& t) {
  const uint16_t port = PickFreePort();
  std::vector<std::string> flags = {
      "-m",        t.model,  "-c",        "4096",   "-np",
      "1",         "--host", "127.0.0.1", "--port", std::to_string(port),
      "--api-key", "secret"};
  std::vector<std::string> argv;
  if (t.kind == Kind::kSim) {
    flags.insert(flags.end(),
                 {"--sim-load-seconds", "0", "--sim-ttft-ms", "5", "--sim-itl-ms", "1"});
    argv = SimArgv("llama.cpp", flags);
  } else {
    argv = {LlamaServerBinary(), "-t", "1"};
    argv.insert(argv.end(), flags.begin(), flags.end());
  }
  auto e = StartProcess(argv, port,
                        Scratch(t.kind == Kind::kSim ? "apikey-sim.log" : "apikey-real.log"));
  if (e == nullptr || !WaitHealthy(*e)) return {{"error", "did not start"}};
  Facts f;
  auto record = [&](const std::string& name, const net::BlockingHttpResult& r) {
    f[name] = std::to_string(r.status) + (r.status >= 400 ? " " + r.body : "");
  };
  record("health", Http(port, "GET", "/health"));
  record("models", Http(port, "GET", "/v1/models"));
  record("props-no-key", Http(port, "GET", "/props"));
  record("props-wrong-key", Http(port, "GET", "/props", "", {{"Authorization", "Bearer nope"}}));
  record("props-bearer", Http(port, "GET", "/props", "", {{"Authorization", "Bearer secret"}}));
  record("props-x-api-key", Http(port, "GET", "/props", "", {{"X-Api-Key", "secret"}}));
  record("chat-no-key", Http(port, "POST", "/v1/chat/completions", ChatBody(1, false)));
  record("chat-key", Http(port, "POST", "/v1/chat/completions", ChatBody(1, false),
                          {{"Authorization", "Bearer secret"}}));
  record("unknown-no-key", Http(port, "GET", "/nope"));
  record("metrics-key", Http(port, "GET", "/metrics", "", {{"X-Api-Key", "secret"}}));
  EXPECT_EQ(f["health"], "200");
  EXPECT_EQ(f["models"], "200");
  EXPECT_EQ(
      f["props-no-key"],
      R"(401 {"error":{"message":"Invalid API Key","type":"authentication_error","code":401}})");
  EXPECT_EQ(f["props-bearer"], "200");
  EXPECT_EQ(f["props-x-api-key"], "200");
  EXPECT_EQ(f["chat-key"], "200");
  EXPECT_EQ(
      f["metrics-key"],
      R"(501 {"error":{"code":501,"message":"This server does not support metrics endpoint. Start it with `--metrics`","type":"not_supported_error"}})");
  return f;
}
CONFORMANCE_CHECK(ApiKeyAndDisabledMetrics)

}  // namespace
}  // namespace cortex::testing
