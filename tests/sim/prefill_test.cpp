// Specification of the simulated prompt processing: the progress schedule (batches, processed
// counts, times) and the prompt_progress events llama-server streams with "return_progress".
#include "sim/prefill.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sim/llama_wire.h"

namespace cortex::sim {
namespace {

namespace json = boost::json;

std::vector<uint64_t> Processed(const std::vector<PrefillStep>& steps) {
  std::vector<uint64_t> out;
  for (const PrefillStep& s : steps)
    out.push_back(s.processed);
  return out;
}

std::vector<double> Times(const std::vector<PrefillStep>& steps) {
  std::vector<double> out;
  for (const PrefillStep& s : steps)
    out.push_back(s.time_ms);
  return out;
}

TEST(PrefillScheduleTest, StartsAtZeroThenOneStepPerBatchEndingAtTheTotal) {
  const auto steps = PrefillSchedule(20, 0, 8, 100);
  EXPECT_EQ(Processed(steps), (std::vector<uint64_t>{0, 8, 16, 20}));
  EXPECT_EQ(Times(steps), (std::vector<double>{0, 80, 160, 200}));
}

TEST(PrefillScheduleTest, TotalTimeIsPromptTokensOverTheRate) {
  const auto steps = PrefillSchedule(1000, 0, 512, 2000);
  EXPECT_EQ(Processed(steps), (std::vector<uint64_t>{0, 512, 1000}));
  EXPECT_DOUBLE_EQ(steps.back().time_ms, 500);
}

TEST(PrefillScheduleTest, ExactMultipleOfTheBatchHasNoShortLastStep) {
  EXPECT_EQ(Processed(PrefillSchedule(16, 0, 8, 10)), (std::vector<uint64_t>{0, 8, 16}));
}

TEST(PrefillScheduleTest, ACachedPrefixCostsNothingAndStartsTheCount) {
  const auto steps = PrefillSchedule(20, 6, 8, 1000);
  EXPECT_EQ(Processed(steps), (std::vector<uint64_t>{6, 14, 20}));
  EXPECT_EQ(Times(steps), (std::vector<double>{0, 8, 14}));
}

TEST(PrefillScheduleTest, AFullyCachedPromptHasOnlyItsFirstStep) {
  const auto steps = PrefillSchedule(10, 10, 4, 100);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].processed, 10u);
  EXPECT_EQ(PrefillSchedule(10, 99, 4, 100).front().processed, 10u);  // cache clamped
}

TEST(PrefillScheduleTest, RateZeroMeansNoTimeButTheSameBatches) {
  const auto steps = PrefillSchedule(5, 0, 2, 0);
  EXPECT_EQ(Processed(steps), (std::vector<uint64_t>{0, 2, 4, 5}));
  EXPECT_EQ(Times(steps), (std::vector<double>{0, 0, 0, 0}));
}

TEST(PrefillScheduleTest, BatchZeroCountsAsOne) {
  EXPECT_EQ(Processed(PrefillSchedule(3, 0, 0, 10)), (std::vector<uint64_t>{0, 1, 2, 3}));
}

TEST(PrefillScheduleTest, ProcessedAndTimeIncreaseStrictly) {
  const auto steps = PrefillSchedule(12345, 100, 512, 777);
  for (size_t i = 1; i < steps.size(); ++i) {
    EXPECT_GT(steps[i].processed, steps[i - 1].processed);
    EXPECT_GT(steps[i].time_ms, steps[i - 1].time_ms);
    EXPECT_LE(steps[i].processed - steps[i - 1].processed, 512u);
  }
  EXPECT_EQ(steps.back().processed, 12345u);
  EXPECT_NEAR(steps.back().time_ms, (12345.0 - 100) * 1000 / 777, 1e-6);
}

json::value EventJson(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  return json::parse(event.substr(6, event.size() - 8));
}

TEST(ProgressEventTest, ChatChunkHasNoChoicesAndTheChunkFields) {
  const json::value j = EventJson(llama_wire::ProgressEvent(
      llama_wire::Api::kChat, "m", "chatcmpl-x", 1700000000, PromptProgress{40, 0, 16, 12}));
  const json::object& o = j.as_object();
  EXPECT_TRUE(o.at("choices").as_array().empty());
  EXPECT_EQ(o.at("object").as_string(), "chat.completion.chunk");
  EXPECT_EQ(o.at("id").as_string(), "chatcmpl-x");
  EXPECT_EQ(o.at("model").as_string(), "m");
  EXPECT_EQ(o.at("created").as_int64(), 1700000000);
  const json::object& p = o.at("prompt_progress").as_object();
  EXPECT_EQ(p.at("total").as_int64(), 40);
  EXPECT_EQ(p.at("cache").as_int64(), 0);
  EXPECT_EQ(p.at("processed").as_int64(), 16);
  EXPECT_EQ(p.at("time_ms").as_int64(), 12);
}

TEST(ProgressEventTest, NativeChunkIsAPlainObjectWithEmptyContent) {
  const json::value j = EventJson(llama_wire::ProgressEvent(llama_wire::Api::kNative, "m", "id", 1,
                                                            PromptProgress{9, 0, 9, 3}));
  const json::object& o = j.as_object();
  EXPECT_FALSE(o.contains("choices"));
  EXPECT_EQ(o.at("content").as_string(), "");
  EXPECT_FALSE(o.at("stop").as_bool());
  EXPECT_EQ(o.at("prompt_progress").at("processed").as_int64(), 9);
}

TEST(ProgressEventTest, OpenAiCompletionChunkHasEmptyText) {
  const json::value j = EventJson(llama_wire::ProgressEvent(llama_wire::Api::kCompletion, "m", "id",
                                                            1, PromptProgress{9, 0, 0, 0}));
  EXPECT_EQ(j.at("object").as_string(), "text_completion");
  EXPECT_EQ(j.at("choices").at(0).at("text").as_string(), "");
  EXPECT_EQ(j.at("prompt_progress").at("total").as_int64(), 9);
}

}  // namespace
}  // namespace cortex::sim
