// LlamaServerMemoryLog: the memory llama-server reports about itself at startup.
//
// With `-lv 4` (libllama's info messages are verbosity 4 in current builds) llama-server logs one
// line per buffer it allocates, by buffer type:
//   load_tensors:   CPU_Mapped model buffer size =  2709.50 MiB
//   llama_context:        CPU  output buffer size =     0.58 MiB
//   llama_kv_cache:        CPU KV buffer size =  1024.00 MiB
//   llama_kv_cache: size = 1024.00 MiB (  8192 cells,  32 layers,  1/1 seqs), K (f16): ...
//   llama_memory_recurrent:    ROCm0 RS buffer size =   188.44 MiB
//   sched_reserve:    ROCm0 compute buffer size =   312.00 MiB
// and the context it settled on (llama_context: n_ctx = ..., n_ctx_seq = ..., n_ubatch = ...).
// Lines may carry a timestamp and level prefix ("0.00.017.281 I ") or none (--log-prefix off).
// Older builds used other function names (llm_load_tensors, llama_kv_cache_init,
// llama_new_context_with_model); those are recognised too.
//
// The supervisor compares these figures with the plan; tests use them to check the planner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cortex {

struct LlamaServerMemoryLog {
  // MiB as printed, summed over buffer types, and per buffer type ("CPU_Mapped", "ROCm0").
  double model_mib = 0;
  double kv_mib = 0;
  double recurrent_mib = 0;
  double compute_mib = 0;
  double output_mib = 0;
  std::map<std::string, double> model_mib_by_buffer;
  std::map<std::string, double> kv_mib_by_buffer;
  std::map<std::string, double> compute_mib_by_buffer;
  std::optional<double> kv_size_mib;  // the "llama_kv_cache: size = ..." total
  std::optional<uint64_t> n_ctx;
  std::optional<uint64_t> n_ctx_seq;
  std::optional<uint64_t> n_ubatch;
  // "flash_attn = enabled/disabled", or with auto the later "Flash Attention enabled" /
  // "Flash Attention not supported, set to disabled".
  std::optional<bool> flash_attn;
  bool listening = false;  // "listening on http://..." seen
  std::string error;       // the first line that says the load failed, if any

  // True once the compute buffers have been reported (a GPU build prints the host buffer's
  // line right after the device's; wait for `listening` to be sure both are in).
  bool complete() const { return compute_mib > 0; }
};

// Parses everything in `log` (the whole output so far; calling again with more text is fine).
LlamaServerMemoryLog ParseLlamaServerMemoryLog(std::string_view log);

}  // namespace cortex
