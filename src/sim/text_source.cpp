#include "sim/text_source.h"

#include <string>

namespace cortex::sim {
namespace {

// Written for the simulator. Sentences end with their period attached to the last word, so a
// word never needs more than one token.
constexpr std::string_view kText =
    "The river keeps no record of the boats that cross it. Each morning the ferry leaves the "
    "north bank with the same slow turn, and each evening it returns with different people. "
    "A clerk counts the tickets and writes the total in a ledger that nobody reads. The "
    "engine hums under the deck like a patient animal. Gulls follow the wake and argue about "
    "nothing. On clear days you can see the mountains behind the town, blue and far, and the "
    "passengers stop talking to look at them. On grey days the water and the sky share one "
    "colour, and the ferry seems to hang between them. The captain has made this crossing "
    "for twenty years. She knows where the current pulls and where the sand moves after a "
    "storm. She says the trick is to aim a little upstream of where you want to land, and "
    "to trust the water to carry you the rest of the way. Children on the rail wave at the "
    "fishermen, and the fishermen wave back without looking up. A dog sleeps on a coil of "
    "rope. Somewhere below, a radio plays a song about a city none of them have seen. When "
    "the ramp comes down the cars roll off one by one, and the town takes them in as if "
    "they had never left.";

std::vector<std::string_view> SplitWords() {
  // The pieces point into a static string that holds each word with its leading space.
  static const std::string spaced = [] {
    std::string s;
    size_t i = 0;
    while (i < kText.size()) {
      while (i < kText.size() && kText[i] == ' ')
        ++i;
      const size_t start = i;
      while (i < kText.size() && kText[i] != ' ')
        ++i;
      if (i > start) {
        s += ' ';
        s.append(kText.substr(start, i - start));
      }
    }
    return s;
  }();
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < spaced.size()) {
    size_t end = spaced.find(' ', i + 1);
    if (end == std::string::npos) end = spaced.size();
    words.push_back(std::string_view(spaced).substr(i, end - i));
    i = end;
  }
  return words;
}

}  // namespace

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double UnitInterval(uint64_t seed, uint64_t index) {
  return static_cast<double>(Mix64(seed ^ Mix64(index)) >> 11) * 0x1.0p-53;
}

const std::vector<std::string_view>& TextSource::Words() {
  static const std::vector<std::string_view> words = SplitWords();
  return words;
}

TextSource::TextSource(uint64_t seed) : position_(Mix64(seed) % Words().size()) {}

std::string_view TextSource::Next() {
  const auto& words = Words();
  std::string_view w = words[position_];
  position_ = (position_ + 1) % words.size();
  return w;
}

}  // namespace cortex::sim
