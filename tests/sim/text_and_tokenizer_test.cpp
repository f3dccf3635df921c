// Specification of the built-in text and the simulator's tokenizer: deterministic, one token
// per generated word, lossless.
#include <gtest/gtest.h>

#include "sim/sim_tokenizer.h"
#include "sim/text_source.h"

namespace cortex::sim {
namespace {

std::vector<std::string> Take(TextSource& s, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back(s.Next());
  return out;
}

TEST(TextSourceTest, SameSeedSameWords) {
  TextSource a(42);
  TextSource b(42);
  EXPECT_EQ(Take(a, 50), Take(b, 50));
}

TEST(TextSourceTest, DifferentSeedsStartElsewhere) {
  int differing = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    TextSource a(seed);
    TextSource b(seed + 1000);
    differing += Take(a, 5) != Take(b, 5) ? 1 : 0;
  }
  EXPECT_GE(differing, 18);
}

TEST(TextSourceTest, WordsCarryALeadingSpaceAndWrapAround) {
  TextSource s(1);
  const size_t n = TextSource::Words().size();
  ASSERT_GT(n, 100u);
  std::vector<std::string> first = Take(s, static_cast<int>(n));
  std::vector<std::string> again = Take(s, static_cast<int>(n));
  EXPECT_EQ(first, again);
  for (const std::string& w : first) {
    ASSERT_GE(w.size(), 2u);
    EXPECT_EQ(w[0], ' ');
    EXPECT_EQ(w.find(' ', 1), std::string::npos);
  }
}

TEST(TextSourceTest, UnitIntervalIsInRangeAndDeterministic) {
  for (uint64_t i = 0; i < 1000; ++i) {
    const double u = UnitInterval(3, i);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_EQ(u, UnitInterval(3, i));
  }
}

TEST(SimTokenizerTest, EveryGeneratedWordIsOneToken) {
  SimTokenizer tok;
  for (std::string_view w : TextSource::Words()) {
    EXPECT_EQ(tok.Tokenize(w).size(), 1u) << "'" << w << "'";
  }
}

TEST(SimTokenizerTest, UnknownTextFallsBackToBytesAndRoundTrips) {
  SimTokenizer tok;
  const std::string text = "The river zxq\n{\"json\": 1} café";
  const std::vector<int32_t> ids = tok.Tokenize(text);
  EXPECT_EQ(tok.Detokenize(ids), text);
  EXPECT_EQ(tok.CountTokens(text), ids.size());
  // "The" and " river" are words; " zxq" is four bytes.
  EXPECT_EQ(ids[0], tok.Find("The"));
  EXPECT_EQ(ids[1], tok.Find(" river"));
  EXPECT_EQ(ids[2], 3 + ' ');
  EXPECT_EQ(tok.Piece(3 + 'z'), "z");
}

TEST(SimTokenizerTest, LongerTextHasMoreTokens) {
  SimTokenizer tok;
  std::string a;
  std::string b;
  for (int i = 0; i < 100; ++i)
    a += "word ";
  for (int i = 0; i < 200; ++i)
    b += "word ";
  EXPECT_GT(tok.CountTokens(b), tok.CountTokens(a));
  EXPECT_GE(tok.CountTokens(a), 100u);
}

TEST(SimTokenizerTest, ChatPromptIsChatml) {
  EXPECT_EQ(RenderChatPrompt({{"system", "s"}, {"user", "hi"}}),
            "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

}  // namespace
}  // namespace cortex::sim
