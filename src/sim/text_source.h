// TextSource: the words a simulated engine "generates", from a small built-in text.
//
// The text is a few paragraphs written for the simulator (plain ASCII, so every token is valid
// UTF-8 and every word is one token of the simulator's tokenizer). A TextSource starts at a
// position chosen by its seed and reads the words in order, wrapping at the end, so the same
// seed always yields the same words and two seeds usually yield different ones.
//
// Each word is returned with its leading space (" river"), the way BPE and SentencePiece
// vocabularies spell word-initial pieces, so concatenating the pieces gives readable text.
//
// Thread safety: a TextSource is a plain value; the built-in text is immutable.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace cortex::sim {

class TextSource {
 public:
  explicit TextSource(uint64_t seed);

  // The next word with its leading space. Never empty.
  std::string_view Next();

  // The built-in text's words, in order, each with its leading space.
  static const std::vector<std::string_view>& Words();

 private:
  size_t position_;
};

// splitmix64: a small, well-mixed 64-bit hash used wherever the simulator needs a deterministic
// number from a seed (text offsets, ids, jitter, which requests fail).
uint64_t Mix64(uint64_t x);

// A uniform double in [0, 1) from Mix64(seed ^ Mix64(index)).
double UnitInterval(uint64_t seed, uint64_t index);

}  // namespace cortex::sim
