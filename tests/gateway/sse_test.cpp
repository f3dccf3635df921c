#include "gateway/sse.h"

#include <gtest/gtest.h>

namespace cortex::gateway {
namespace {

TEST(SseTest, SplitsEventsAcrossArbitraryPieces) {
  const std::string stream =
      "data: {\"a\":1}\n\n: keep-alive\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n";
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    SseSplitter s;
    std::vector<std::string> events;
    s.Feed(stream.substr(0, cut), &events);
    s.Feed(stream.substr(cut), &events);
    ASSERT_EQ(events.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(events[0], "data: {\"a\":1}\n\n");
    EXPECT_EQ(events[1], ": keep-alive\n\n");
    EXPECT_EQ(events[3], "data: [DONE]\n\n");
    EXPECT_TRUE(s.pending().empty());
  }
}

TEST(SseTest, KeepsAPartialEventUntilItEnds) {
  SseSplitter s;
  std::vector<std::string> events;
  s.Feed("data: {\"x\":", &events);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(s.pending(), "data: {\"x\":");
}

TEST(SseTest, RecognisesTheEventsTheGatewayActsOn) {
  EXPECT_TRUE(InspectEvent("data: [DONE]\n\n").done);
  EXPECT_TRUE(InspectEvent(":\n\n").comment);
  EXPECT_TRUE(InspectEvent("data: {\"error\":{\"message\":\"x\"}}\n\n").error);
  const auto usage = InspectEvent(
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n");
  EXPECT_TRUE(usage.usage_only);
  ASSERT_TRUE(usage.usage.has_value());
  EXPECT_EQ(usage.usage->prompt_tokens, 7u);
  EXPECT_EQ(usage.usage->completion_tokens, 3u);
  EXPECT_TRUE(
      InspectEvent("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n").has_content);
  EXPECT_FALSE(
      InspectEvent(
          "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n")
          .has_content);
  EXPECT_TRUE(InspectEvent("data: {\"choices\":[{\"text\":\"a\"}]}\n\n").has_content);
  const auto timings =
      InspectEvent("data: {\"choices\":[],\"timings\":{\"predicted_per_second\":12.5}}\n\n");
  EXPECT_EQ(timings.predicted_per_second, std::optional<double>(12.5));
}

TEST(SseTest, ToleratesGarbage) {
  const auto info = InspectEvent("data: {not json\n\n");
  EXPECT_FALSE(info.done);
  EXPECT_FALSE(info.error);
  EXPECT_EQ(SseData("{}"), "data: {}\n\n");
}

TEST(SseTest, ParseEventFieldsReadsTheNameAndJoinsDataLines) {
  const SseFields f = ParseEventFields("retry: 2000\nevent: change\ndata: {\"a\":\ndata:1}\n\n");
  EXPECT_EQ(f.event, "change");
  EXPECT_EQ(f.data, "{\"a\":\n1}");
  const SseFields crlf = ParseEventFields(": keep-alive\r\ndata: x\r\n\r\n");
  EXPECT_EQ(crlf.event, "");
  EXPECT_EQ(crlf.data, "x");
  EXPECT_EQ(ParseEventFields(": only a comment\n\n").data, "");
}

}  // namespace
}  // namespace cortex::gateway
