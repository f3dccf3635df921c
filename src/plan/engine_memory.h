// EngineMemory: one engine process's memory, split the way llama.cpp and vLLM report it.
//
// On a unified-memory machine every part comes out of the same DRAM; `device_bytes` is the part
// the GPU maps (what counts against the GTT/TTM pool), the rest is ordinary host memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/checked_math.h"

namespace cortex {

enum class Severity { kInfo, kWarning, kError };

std::string_view SeverityName(Severity severity);  // "info", "warning", "error"

// A rule the planner applied or a problem it found, with its arithmetic in the message.
struct Note {
  Severity severity = Severity::kInfo;
  std::string message;
};

struct EngineMemory {
  uint64_t weights_bytes = 0;   // model buffers
  uint64_t kv_bytes = 0;        // KV cache (and recurrent state)
  uint64_t compute_bytes = 0;   // compute/scratch buffers (vLLM: activation peak + CUDA graphs)
  uint64_t output_bytes = 0;    // logits buffer
  uint64_t overhead_bytes = 0;  // runtime, prompt cache, allocator slack
  uint64_t device_bytes = 0;    // of the total, what lives in GPU-mapped memory

  uint64_t total_bytes() const {
    return SatAdd(SatAdd(SatAdd(weights_bytes, kv_bytes), SatAdd(compute_bytes, output_bytes)),
                  overhead_bytes);
  }
};

}  // namespace cortex
