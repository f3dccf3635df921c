#include "sim/sim_tokenizer.h"

#include "sim/text_source.h"

namespace cortex::sim {

SimTokenizer::SimTokenizer() {
  pieces_ = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b)
    pieces_.push_back(std::string(1, static_cast<char>(b)));
  std::unordered_map<std::string, bool> seen;
  for (std::string_view word : TextSource::Words()) {
    for (std::string_view piece : {word, word.substr(1)}) {
      if (piece.size() > 1 && seen.emplace(std::string(piece), true).second) {
        pieces_.emplace_back(piece);
      }
    }
  }
  // Byte tokens are reached by fallback, never by lookup, so only words go in the map.
  for (size_t id = 3 + 256; id < pieces_.size(); ++id)
    ids_.emplace(pieces_[id], static_cast<int32_t>(id));
}

template <typename Emit>
void SimTokenizer::Walk(std::string_view text, Emit emit) const {
  size_t i = 0;
  while (i < text.size()) {
    // The candidate word: an optional space, then the run of non-space bytes.
    size_t end = i + (text[i] == ' ' ? 1 : 0);
    while (end < text.size() && text[end] != ' ' && text[end] != '\n')
      ++end;
    if (end > i + 1) {
      if (auto it = ids_.find(text.substr(i, end - i)); it != ids_.end()) {
        emit(it->second);
        i = end;
        continue;
      }
    }
    emit(3 + static_cast<int32_t>(static_cast<unsigned char>(text[i])));
    ++i;
  }
}

std::vector<int32_t> SimTokenizer::Tokenize(std::string_view text) const {
  std::vector<int32_t> out;
  Walk(text, [&](int32_t t) { out.push_back(t); });
  return out;
}

size_t SimTokenizer::CountTokens(std::string_view text) const {
  size_t n = 0;
  Walk(text, [&](int32_t) { ++n; });
  return n;
}

std::string SimTokenizer::Detokenize(const std::vector<int32_t>& tokens) const {
  std::string out;
  for (int32_t t : tokens) {
    if (t >= 3 && static_cast<size_t>(t) < pieces_.size()) out += pieces_[t];
  }
  return out;
}

std::string_view SimTokenizer::Piece(int32_t token) const {
  if (token < 0 || static_cast<size_t>(token) >= pieces_.size()) return {};
  return pieces_[token];
}

int32_t SimTokenizer::Find(std::string_view piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::string RenderChatPrompt(const std::vector<std::pair<std::string, std::string>>& messages) {
  std::string out;
  for (const auto& [role, content] : messages) {
    out += "<|im_start|>";
    out += role;
    out += '\n';
    out += content;
    out += "<|im_end|>\n";
  }
  out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace cortex::sim
