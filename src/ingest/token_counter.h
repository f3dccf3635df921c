// CountTokens: a text's tokens in the target model's own tokenizer, from the engine's
// /tokenize (llama-server: {"content"} → {"tokens"}; vLLM: {"model","prompt"} → {"count"}), so
// an ingest job's fit decision is made in the model's tokens, not a guess.
//
// A long text goes in chunks cut at line ends (about 256 KiB each, far below any engine's body
// limit), up to `parallel` requests at once (the engine's slots). Tokenizers do not merge
// across a newline, so the sum matches one whole-text count except for special tokens, which
// are not added (add_special false).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex::ingest {

struct TokenizeEndpoint {
  std::string host;
  uint16_t port = 0;
  bool vllm_wire = false;
  std::string model;  // vLLM checks it against --served-model-name
  int parallel = 1;
};

// Counts the tokens of the file at `path`. `progress(done_bytes, total_bytes)` after each
// round of chunks; returning false cancels (IoError "cancelled").
StatusOr<uint64_t> CountFileTokens(
    const TokenizeEndpoint& engine, const std::string& path,
    const std::function<bool(uint64_t, uint64_t)>& progress = nullptr);
StatusOr<uint64_t> CountTextTokens(const TokenizeEndpoint& engine, std::string_view text);

}  // namespace cortex::ingest
