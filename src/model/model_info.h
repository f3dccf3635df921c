// ModelInfo: the facts about a model that decide how much memory an engine needs for it.
//
// Built from one of three sources, in decreasing order of exactness:
//   - a GGUF file's metadata and tensor table (llama.cpp engines): exact weights per tensor;
//   - a Hugging Face model directory: config.json plus safetensors headers or the index
//     (vLLM engines): exact checkpoint bytes;
//   - the built-in table of known architectures (model/known_models.h), so a plan can be made
//     before the weights are downloaded: shapes are exact, weight bytes are estimates.
// `weights_exact` and `provenance` tell a reader which one it was.
//
// Per-layer fields are vectors of length n_layer because real models vary per layer: sliding
// window layers, layers without a KV cache, different KV head counts, MoE layers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cortex {

enum class ModelSource { kGguf, kHuggingFace, kKnownTable };

struct LayerInfo {
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t head_dim_k = 0;  // per head, elements
  uint32_t head_dim_v = 0;
  uint32_t n_ff = 0;          // dense feed-forward width (0 for pure MoE layers)
  bool has_kv = true;         // false: the layer reads another layer's cache or has none
  bool is_swa = false;        // sliding-window attention layer
  bool is_recurrent = false;  // SSM/RWKV layer: fixed-size state instead of KV cache
  uint64_t weight_bytes = 0;  // bytes of all tensors named blk.<i>.*
};

struct ModelInfo {
  std::string name;          // file stem, HF repo id, or table key
  std::string architecture;  // llama.cpp arch name ("llama", "qwen2") or HF model_type
  ModelSource source = ModelSource::kGguf;
  std::string provenance;  // "GGUF header of /models/x.gguf", "known table: ... (source)"

  uint32_t n_layer = 0;  // all blocks, including nextn/MTP blocks
  uint32_t n_embd = 0;   // hidden size
  uint32_t n_vocab = 0;
  uint32_t n_ctx_train = 0;  // the context llama.cpp uses for `-c 0`
  uint32_t n_swa = 0;        // sliding window, tokens; 0 when no layer uses one
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  bool is_mla = false;  // multi-head latent attention: K only, no V cache
  // Recurrent state per recurrent layer, in f32 elements (llama.cpp n_embd_r + n_embd_s).
  uint64_t recurrent_state_elements = 0;
  std::vector<LayerInfo> layers;

  // Weights.
  uint64_t weights_bytes = 0;     // every tensor (or checkpoint bytes)
  uint64_t token_embd_bytes = 0;  // token_embd / embed_tokens: kept on the host by llama.cpp
  uint64_t output_bytes = 0;      // output / lm_head (0 when tied to the embeddings)
  uint64_t expert_bytes = 0;      // routed-expert tensors, of which n_expert_used/n_expert are
                                  // read per token
  bool weights_exact = true;
  std::string weights_dtype;  // "q4_K_M", "awq-int4", "bf16": for humans

  // Why an engine cannot run this model, with a source; empty when it can.
  std::string llama_cpp_unsupported;
  std::string vllm_unsupported;
};

}  // namespace cortex
