#include "gateway/stream_relay.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

using Clock = StreamRelay::Clock;
using namespace std::chrono_literals;

std::string Chunk(std::string_view content) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + std::string(content) +
         "\"}}]}\n\n";
}
const std::string kUsage =
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n";
const std::string kDone = "data: [DONE]\n\n";

TEST(StreamRelayTest, PassesWholeEventsAndTimesTheTokens) {
  StreamRelay relay("e", "lane", false);
  const auto t0 = Clock::now();
  auto fed = relay.Feed(Chunk("a") + Chunk("b"), t0);
  EXPECT_EQ(fed.out, Chunk("a") + Chunk("b"));
  EXPECT_EQ(fed.tokens, 2u);
  EXPECT_TRUE(fed.first_token);
  fed = relay.Feed(Chunk("c"), t0 + 30ms);
  EXPECT_FALSE(fed.first_token);
  EXPECT_EQ(fed.gap, 30ms);
  EXPECT_EQ(relay.tokens(), 3u);
  EXPECT_EQ(relay.first_token_at(), t0);
  EXPECT_EQ(relay.last_token_at(), t0 + 30ms);
}

TEST(StreamRelayTest, HoldsATornEventUntilItsEndAtEveryCut) {
  const std::string stream = Chunk("hello") + ": keep-alive\r\n\r\n" + Chunk("x") + kDone;
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    StreamRelay relay("e", "lane", false);
    std::string out(relay.Feed(stream.substr(0, cut), Clock::now()).out);
    out += relay.Feed(stream.substr(cut), Clock::now()).out;
    EXPECT_EQ(out, stream) << "cut at " << cut;
    EXPECT_EQ(relay.tokens(), 2u) << "cut at " << cut;
    EXPECT_TRUE(relay.saw_done()) << "cut at " << cut;
  }
}

TEST(StreamRelayTest, DropsTheUsageChunkOnlyWhenTheClientDidNotAskForIt) {
  StreamRelay quiet("e", "lane", false);
  EXPECT_EQ(quiet.Feed(Chunk("a") + kUsage + kDone, Clock::now()).out, Chunk("a") + kDone);
  ASSERT_TRUE(quiet.usage().has_value());
  EXPECT_EQ(quiet.usage()->prompt_tokens, 9u);
  EXPECT_EQ(quiet.usage()->completion_tokens, 3u);

  StreamRelay asked("e", "lane", true);
  EXPECT_EQ(asked.Feed(kUsage, Clock::now()).out, kUsage);
}

TEST(StreamRelayTest, RewritesAnEngineErrorEventIntoOpenAiShape) {
  StreamRelay relay("deep", "lane", false);
  auto fed =
      relay.Feed("data: {\"error\":{\"code\":500,\"message\":\"boom\",\"type\":\"server\"}}\n\n",
                 Clock::now());
  EXPECT_TRUE(fed.engine_error);
  EXPECT_NE(fed.out.find("\"message\":\"boom\""), std::string::npos);
  EXPECT_NE(fed.out.find("\"param\""), std::string::npos);
  EXPECT_EQ(fed.out.substr(0, 6), "data: ");
}

TEST(StreamRelayTest, AStreamEndingWithoutDoneGetsOneErrorEvent) {
  StreamRelay relay("deep", "reader", false);
  relay.Feed(Chunk("a"), Clock::now());
  std::string event;
  EXPECT_EQ(relay.Finish(false, &event), StreamRelay::End::kEngineStopped);
  EXPECT_NE(event.find("without [DONE]"), std::string::npos);
  EXPECT_NE(event.find("engine_stream_incomplete"), std::string::npos);
  EXPECT_EQ(relay.Finish(true, &event), StreamRelay::End::kEngineFailed);
  EXPECT_NE(event.find("stopped in the middle"), std::string::npos);

  relay.Feed(kDone, Clock::now());
  event.clear();
  EXPECT_EQ(relay.Finish(false, &event), StreamRelay::End::kComplete);
  EXPECT_TRUE(event.empty());
}

TEST(StreamRelayTest, TokensPerSecondNeedsTwoTokensApart) {
  const auto t0 = Clock::now();
  EXPECT_DOUBLE_EQ(*TokensPerSecond(11, t0, t0 + 1s), 10.0);
  EXPECT_FALSE(TokensPerSecond(1, t0, t0 + 1s).has_value());
  EXPECT_FALSE(TokensPerSecond(5, std::nullopt, t0).has_value());
  EXPECT_FALSE(TokensPerSecond(5, t0, t0).has_value());
}

}  // namespace
}  // namespace cortex::gateway
