#include "plan/decode_bound.h"

#include <algorithm>

namespace cortex {

uint64_t ActiveWeightBytesPerToken(const ModelInfo& model) {
  uint64_t bytes = model.weights_bytes;
  // Untied embeddings are only gathered (one row per token); tied ones are also the output
  // matrix and are read whole.
  if (model.output_bytes > 0) {
    bytes -= std::min(bytes, model.token_embd_bytes);
    if (model.n_vocab > 0) bytes += model.token_embd_bytes / model.n_vocab;
  }
  if (model.n_expert > 0 && model.expert_bytes > 0) {
    const uint64_t unused =
        model.expert_bytes / model.n_expert * (model.n_expert - model.n_expert_used);
    bytes -= std::min(bytes, unused);
  }
  return bytes;
}

double DecodeTokensPerSecondBound(uint64_t bandwidth_bytes_per_s, double efficiency,
                                  uint64_t bytes_per_token) {
  if (bytes_per_token == 0) return 0;
  return static_cast<double>(bandwidth_bytes_per_s) * efficiency /
         static_cast<double>(bytes_per_token);
}

}  // namespace cortex
