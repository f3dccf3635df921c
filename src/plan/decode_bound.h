// Decode speed bounds: how fast one stream can possibly generate on a memory-bound machine.
//
// Generating a token reads every active weight once, plus the KV cache of the context so far.
// On a unified-memory APU nothing is cached between tokens at these sizes, so one stream cannot
// beat   bandwidth * efficiency / bytes read per token.
// Example: a 32B model at 4 bits (about 18 GiB read per token) on Strix Halo's 256 GB/s at 0.8
// efficiency is bounded near 10.6 tokens/s before any KV is read. Batching raises the total
// throughput of many streams, not the speed of one.
//
// Pure functions.
#pragma once

#include <cstdint>

#include "model/model_info.h"

namespace cortex {

// Weight bytes one token reads: all weights but the token embeddings (one row is gathered) and
// the routed experts a token does not use (n_expert_used of n_expert are read).
uint64_t ActiveWeightBytesPerToken(const ModelInfo& model);

// tokens/s upper bound; 0 when bytes_per_token is 0.
double DecodeTokensPerSecondBound(uint64_t bandwidth_bytes_per_s, double efficiency,
                                  uint64_t bytes_per_token);

}  // namespace cortex
