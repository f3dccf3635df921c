#include "gateway/proxy_stages.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace cortex::gateway {
namespace {

namespace json = boost::json;

LaneTable TwoLanes() {
  auto config = ParseConfig(R"(
machine: { memory: 16GiB, bandwidth: 100GB/s }
engines:
  fast: { engine: llama.cpp, url: "http://127.0.0.1:9001", flags: { alias: fast-model } }
  deep: { engine: vllm, url: "http://127.0.0.1:9002", flags: { served-model-name: deep-model } }
lanes:
  coder: { engine: fast, aliases: [code] }
  reader: { engine: deep }
)",
                            "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  return LaneTable::FromConfig(*config);
}

ChatRequest Parsed(std::string_view body, std::string_view header = {}) {
  auto parsed = ParseChatRequest(body, header);
  EXPECT_TRUE(std::holds_alternative<ChatRequest>(parsed)) << std::get<ProxyError>(parsed).message;
  return std::move(std::get<ChatRequest>(parsed));
}

ProxyError Refused(std::string_view body) {
  auto parsed = ParseChatRequest(body, "");
  EXPECT_TRUE(std::holds_alternative<ProxyError>(parsed)) << body;
  return std::holds_alternative<ProxyError>(parsed) ? std::get<ProxyError>(parsed) : ProxyError{};
}

TEST(ProxyStagesTest, ParsesModelStreamAndWhetherTheClientAskedForUsage) {
  ChatRequest r = Parsed(
      R"({"model":"coder","stream":true,"stream_options":{"include_usage":true},"messages":[]})",
      "reader");
  EXPECT_EQ(r.model, "coder");
  EXPECT_EQ(r.lane_header, "reader");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.client_wants_usage);
  ChatRequest plain = Parsed(R"({"model":"coder","stream":"yes"})");
  EXPECT_FALSE(plain.stream);  // only a JSON true streams
  EXPECT_FALSE(plain.client_wants_usage);
}

TEST(ProxyStagesTest, TheParsedBodyLivesOnTheRequestsOwnArena) {
  // Assigning a parsed value would have copied it onto the default heap (json::value keeps
  // the target's storage), making the arena a dead weight.
  ChatRequest r = Parsed(R"({"model":"coder","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.body.storage().get(), r.arena.get());
  EXPECT_EQ(r.body.at("messages").storage().get(), r.arena.get());
}

TEST(ProxyStagesTest, RefusesABodyThatIsNotAJsonObjectWith400) {
  EXPECT_EQ(Refused("{nope").status, net::http::status::bad_request);
  EXPECT_EQ(Refused("{nope").code, "invalid_json");
  EXPECT_EQ(Refused("[1,2]").message, "request body must be a JSON object");
}

TEST(ProxyStagesTest, RefusesANumberBeyondDoubleRangeNamingTheField) {
  // Parsed, 1e999 is infinity, which no JSON can carry on to the engine.
  const ProxyError e = Refused(R"({"model":"coder","max_tokens":1e999})");
  EXPECT_EQ(e.status, net::http::status::bad_request);
  EXPECT_EQ(e.param, "max_tokens");
  EXPECT_NE(e.message.find("max_tokens"), std::string::npos);
  EXPECT_EQ(Refused(R"({"messages":[{"role":"user","w":[1,-1e400]}]})").param, "messages[0].w[1]");
  Parsed(R"({"model":"coder","temperature":1e308,"n":123456789012345678901234567890})");
}

TEST(ProxyStagesTest, RefusesAModelThatIsNotAStringWith400NamingTheField) {
  const ProxyError e = Refused(R"({"model":5})");
  EXPECT_EQ(e.status, net::http::status::bad_request);
  EXPECT_EQ(e.param, "model");
  EXPECT_EQ(e.code, "invalid_type");
}

TEST(ProxyStagesTest, ResolvesLaneByNameAliasServedNameOrHeader) {
  const LaneTable t = TwoLanes();
  auto lane = [&](std::string_view body, std::string_view header = {}) {
    auto r = ResolveLane(t, Parsed(body, header));
    return std::holds_alternative<int>(r) ? std::get<int>(r) : -1;
  };
  EXPECT_EQ(lane(R"({"model":"coder"})"), 0);
  EXPECT_EQ(lane(R"({"model":"code"})"), 0);
  EXPECT_EQ(lane(R"({"model":"deep-model"})"), 1);
  EXPECT_EQ(lane(R"({"model":"coder"})", "reader"), 1);  // the header wins
}

TEST(ProxyStagesTest, UnknownLaneIs404ListingTheLanes) {
  const LaneTable t = TwoLanes();
  auto r = ResolveLane(t, Parsed(R"({"model":"gpt-4"})"));
  ASSERT_TRUE(std::holds_alternative<ProxyError>(r));
  const ProxyError& e = std::get<ProxyError>(r);
  EXPECT_EQ(e.status, net::http::status::not_found);
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_NE(e.message.find("\"gpt-4\""), std::string::npos);
  EXPECT_NE(e.message.find("coder, reader"), std::string::npos);
  auto none = ResolveLane(t, Parsed(R"({})"));
  EXPECT_NE(std::get<ProxyError>(none).message.find("names no lane"), std::string::npos);
}

TEST(ProxyStagesTest, PromptTextJoinsMessagesPartsPromptAndInput) {
  ChatRequest r = Parsed(
      R"({"messages":[{"role":"system","content":"be brief"},
                       {"role":"user","content":[{"type":"text","text":"hi"},"there"]}],
          "prompt":"p","input":["a","b"]})");
  EXPECT_EQ(PromptText(r.body.get_object()), "be brief\nhi\nthere\np\na\nb\n");
}

TEST(ProxyStagesTest, CountsExactlyOnlyNearTheLimit) {
  EXPECT_EQ(EstimateTokens(std::string(400, 'x')), 100u);
  EXPECT_FALSE(NeedsExactCount(100, 4096));
  EXPECT_TRUE(NeedsExactCount(2048, 4096));
}

TEST(ProxyStagesTest, ContextDecisionPrefersTheFallbackThenABurstThenRefuses) {
  using Kind = ContextDecision::Kind;
  EXPECT_EQ(DecideContext(4096, 4096, 3, 100000).kind, Kind::kFits);
  const ContextDecision fb = DecideContext(5000, 4096, 3, 100000);
  EXPECT_EQ(fb.kind, Kind::kFallback);
  EXPECT_EQ(fb.lane, 3);
  EXPECT_EQ(DecideContext(5000, 4096, -1, 100000).kind, Kind::kBurst);
  EXPECT_EQ(DecideContext(200000, 4096, -1, 100000).kind, Kind::kRefuse);
  EXPECT_EQ(DecideContext(5000, 4096, -1, std::nullopt).kind, Kind::kRefuse);
  const ProxyError e = ContextTooLong(5000, "coder", 4096);
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_EQ(e.param, "messages");
  EXPECT_EQ(e.error_metric, "context");
  EXPECT_NE(e.message.find("5000"), std::string::npos);
  EXPECT_NE(e.message.find("4096"), std::string::npos);
}

TEST(ProxyStagesTest, UpstreamRequestCarriesTheServedNameAndAsksForUsageInStreams) {
  ChatRequest r =
      Parsed(R"({"model":"coder","stream":true,"stream_options":{"foo":1},"messages":[]})");
  net::RawRequest up =
      BuildUpstreamRequest(r, Endpoint::kChat, "127.0.0.1:9001", "fast-model", "req-7");
  EXPECT_EQ(up.target(), "/v1/chat/completions");
  EXPECT_EQ(up.HeaderValue("host"), "127.0.0.1:9001");
  EXPECT_EQ(up.HeaderValue("Accept"), "text/event-stream");
  EXPECT_EQ(up.HeaderValue("X-Request-Id"), "req-7");
  const json::value body = json::parse(up.body());
  EXPECT_EQ(body.at("model"), "fast-model");
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(body.at("stream_options").at("foo"), 1);  // the client's own options stay

  ChatRequest whole = Parsed(R"({"model":"coder","input":"x"})");
  net::RawRequest emb = BuildUpstreamRequest(whole, Endpoint::kEmbeddings, "h:1", "", "");
  EXPECT_EQ(emb.target(), "/v1/embeddings");
  EXPECT_EQ(emb.HeaderValue("accept"), "application/json");
  EXPECT_EQ(emb.head().find("X-Request-Id"), std::string::npos);
  EXPECT_EQ(json::parse(emb.body()), json::parse(R"({"model":"coder","input":"x"})"));
}

TEST(ProxyStagesTest, AClientsRequestIdCannotAddHeadersToTheEnginesRequest) {
  ChatRequest r = Parsed(R"({"model":"coder"})");
  const net::RawRequest up =
      BuildUpstreamRequest(r, Endpoint::kChat, "h:1", "", "id\r\nEvil: 1\r\n\r\nGET / HTTP/1.1");
  EXPECT_EQ(up.HeaderValue("Evil"), "");
  EXPECT_EQ(up.head().find("\r\nEvil"), std::string::npos);
  EXPECT_EQ(up.HeaderValue("X-Request-Id"), "id  Evil: 1    GET / HTTP/1.1");
}

TEST(ProxyStagesTest, UsageOfAWholeAnswer) {
  auto u = UsageOfBody(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5}})");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->prompt_tokens, 12u);
  EXPECT_EQ(u->completion_tokens, 5u);
  EXPECT_FALSE(UsageOfBody("not json").has_value());
  EXPECT_FALSE(UsageOfBody(R"({"choices":[]})").has_value());
  // An engine's odd counts read as 0 instead of failing the request.
  auto odd = UsageOfBody(R"({"usage":{"prompt_tokens":-3,"completion_tokens":2.5}})");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->prompt_tokens, 0u);
}

TEST(ProxyStagesTest, ErrorResponseIsOpenAiShapedWithRetryAfter) {
  ProxyError e;
  e.status = net::http::status::service_unavailable;
  e.message = "later";
  e.type = "service_unavailable_error";
  e.code = "lane_loading";
  e.retry_after_s = 5;
  const net::HttpResponse r = ToResponse(e);
  EXPECT_EQ(r.result(), net::http::status::service_unavailable);
  EXPECT_EQ(r[net::http::field::retry_after], "5");
  const json::value body = json::parse(r.body());
  EXPECT_EQ(body.at("error").at("message"), "later");
  EXPECT_EQ(body.at("error").at("code"), "lane_loading");
  EXPECT_TRUE(body.at("error").at("param").is_null());
}

}  // namespace
}  // namespace cortex::gateway
