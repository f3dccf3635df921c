// Synthetic models: tiny llama-architecture GGUF files that llama.cpp loads and generates from.
//
// Tests of the planner and of engine integration need real GGUF files with real shapes, and
// real models are gigabytes. A synthetic model has the metadata, tokenizer and tensors of the
// llama architecture as llama.cpp's LLM_ARCH_LLAMA loader expects them, filled with small
// random weights (deterministic per seed) so that inference produces finite logits. Its output
// is gibberish; its memory behaviour is exactly that of a model of its shape.
//
// Generated text is printable ASCII, so valid UTF-8 (llama-server answers 500 to output that is
// not): one hidden dimension is steered so that every other token (bytes >= 0x80, <unk>, <s>,
// </s>) sits far below the ASCII ones at any temperature. EOS is never sampled, so generation
// runs to the requested token count. With tie_embeddings this holds while the prompt ends in
// ASCII text.
//
// The vocabulary is SentencePiece-style ("llama" tokenizer): <unk>, <s>, </s>, the 256 byte
// tokens <0x00>..<0xFF> (so any text tokenizes through byte fallback), then `extra_vocab`
// ordinary pieces such as "▁the" and "e".
//
// It lives in model/ rather than tests/support because `cortex up`'s built-in demo writes two
// of these for its llama.cpp-flavoured simulated engines (cli/demo_config.h). The namespace
// stays cortex::testing: tests remain its main users.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/ggml_type.h"
#include "util/status.h"

namespace cortex::testing {

// A chatml template, as many instruction-tuned models ship.
extern const char kChatmlTemplate[];

struct SyntheticModelSpec {
  std::string name = "cortex-synthetic";
  uint32_t n_layer = 2;
  uint32_t n_embd = 256;
  uint32_t n_head = 4;
  uint32_t n_head_kv = 2;
  // Per-head dimension; 0 means n_embd / n_head. When set, the file also carries
  // llama.attention.key_length and value_length.
  uint32_t head_dim = 0;
  uint32_t n_ff = 512;
  uint32_t n_ctx_train = 8192;
  // Ordinary pieces after the 3 special and 256 byte tokens.
  uint32_t extra_vocab = 256;
  // Type of the 2-D weight matrices: F32, F16, BF16, Q8_0 or Q4_0. Norm weights are always F32.
  GgmlType weight_type = GgmlType::kF16;
  // Type of token_embd.weight; weight_type when unset.
  std::optional<GgmlType> embd_type;
  uint64_t seed = 1;
  // When true there is no output.weight and llama.cpp reuses token_embd for the output.
  bool tie_embeddings = false;
  // Written as tokenizer.chat_template; omitted when empty.
  std::string chat_template = kChatmlTemplate;
};

// Total tokens in the vocabulary of `spec`: 3 special + 256 byte tokens + extra_vocab.
uint32_t SyntheticVocabSize(const SyntheticModelSpec& spec);

// Writes the model described by `spec` to `path`.
// Returns InvalidArgument when the spec cannot describe a llama model (zero sizes, n_head not a
// multiple of n_head_kv, n_embd not divisible by n_head without head_dim, a weight type not
// listed above, a row length not a multiple of the type's block size), IoError when the file
// cannot be written.
Status WriteSyntheticModel(const std::string& path, const SyntheticModelSpec& spec);

// IEEE half-precision conversions, round-to-nearest-even, with subnormals, infinities and NaN.
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

}  // namespace cortex::testing
