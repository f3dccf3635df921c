// SimTokenizer: the simulator's deterministic tokenizer, for prompt token counts, the context
// check, /tokenize and /detokenize.
//
// The vocabulary is SentencePiece-like: <unk>, <s>, </s> (ids 0-2), the 256 bytes (ids 3-258),
// then every distinct word of the built-in text (sim/text_source.h), once with its leading space
// and once without. Tokenizing walks the text: a word (with the space before it, if any) that is
// in the vocabulary is one token; anything else falls back to one token per byte. So every
// generated word is exactly one token, and any text round-trips through Tokenize/Detokenize.
//
// Counts differ from a real model's tokenizer; the simulator's contract is the shape and the
// arithmetic (usage, context checks), not the numbers a given model would produce.
//
// Thread safety: immutable after construction; share one instance freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cortex::sim {

class SimTokenizer {
 public:
  SimTokenizer();
  // The lookup table points into pieces_, so a copy would dangle.
  SimTokenizer(const SimTokenizer&) = delete;
  SimTokenizer& operator=(const SimTokenizer&) = delete;

  std::vector<int32_t> Tokenize(std::string_view text) const;
  // Number of tokens Tokenize would return, without building the vector.
  size_t CountTokens(std::string_view text) const;
  // Concatenated pieces; ids outside the vocabulary are skipped.
  std::string Detokenize(const std::vector<int32_t>& tokens) const;
  // The text of one token ("" outside the vocabulary).
  std::string_view Piece(int32_t token) const;
  // The id of `piece` when it is a whole vocabulary entry, else -1.
  int32_t Find(std::string_view piece) const;
  size_t vocab_size() const { return pieces_.size(); }

  static constexpr int32_t kBos = 1;
  static constexpr int32_t kEos = 2;

 private:
  // Calls emit(token) for each token of `text`.
  template <typename Emit>
  void Walk(std::string_view text, Emit emit) const;

  std::vector<std::string> pieces_;
  std::unordered_map<std::string_view, int32_t> ids_;  // views into pieces_
};

// The prompt text a chat request becomes before tokenizing: a ChatML rendering of the messages
// ("<|im_start|>user\nhi<|im_end|>\n...<|im_start|>assistant\n"), the template most
// instruction-tuned models ship.
std::string RenderChatPrompt(const std::vector<std::pair<std::string, std::string>>& messages);

}  // namespace cortex::sim
