// The built-in table of known models: a ModelInfo for a Hugging Face repo id and a quantization,
// so a memory plan can be made before the weights are downloaded.
//
// Shapes (layers, heads, head size, feed-forward width, vocabulary, training context) are the
// models' own config values, collected in research note A-memory.md sections 5 and 6 with a
// source for each; those are exact. Weight bytes are published file sizes where the note has
// them and otherwise parameter count x bits per weight; both are estimates of the bytes an
// engine loads, so weights_exact is false and provenance says which one was used.
//
// Parameter counts are computed from the shapes (embeddings, attention projections and biases,
// SwiGLU MLP, norms; tied embeddings counted once). They agree with the counts llama.cpp prints
// (32.76B for the Qwen2.5-32B shape, 8.03B for Llama-3.1-8B).
//
// Thread safety: the table is immutable; call the functions from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/model_info.h"
#include "util/status.h"

namespace cortex {

// Looks up `hf_repo_id` ("Qwen/Qwen2.5-Coder-32B-Instruct", case-insensitive; the part after the
// last '/' alone is accepted too) and describes it quantized as `quant`, one of (any case):
// q4_k_s q4_k_m q5_k_s q5_k_m q6_k q8_0 f16 bf16 (GGUF / unquantized) and awq gptq (4-bit,
// group size 128, for vLLM; "awq-int4" and "gptq-int4" also accepted).
// Returns NotFound listing the known names for an unknown model, and InvalidArgument listing
// the accepted quants for an unknown quant.
StatusOr<ModelInfo> LookupKnownModel(std::string_view hf_repo_id, std::string_view quant);

// The canonical repo ids of the table, in table order.
std::vector<std::string> KnownModelNames();

// The parameter count computed from the table's shapes (plus, for multimodal models, the
// vision encoder's parameters as the model card states them).
// Returns NotFound, as LookupKnownModel does, for an unknown model.
StatusOr<uint64_t> KnownModelParameterCount(std::string_view hf_repo_id);

// Sets llama_cpp_unsupported / vllm_unsupported, with sources, when `info->architecture` is one
// an engine is known not to run (mllama on both). Leaves reasons already set alone. Every
// reader (GGUF, Hugging Face, this table) calls it so the flags do not depend on the source.
void ApplyKnownEngineLimits(ModelInfo* info);

}  // namespace cortex
