// Reading a Hugging Face model directory (what `vllm serve <dir>` loads) into a ModelInfo.
//
// Two sources in the directory are read, neither of them tensor data:
//   - config.json, for the shapes: layers, heads, head size, feed-forward width, vocabulary,
//     training context, sliding-window layers, experts, multi-head latent attention, and the
//     quantization recipe;
//   - the safetensors headers (model/safetensors.h), for the exact bytes of every tensor.
//
// Multimodal configs (mllama, llava, qwen2_vl, gemma3, ...) keep the language model's shape in a
// nested "text_config" object. A field is taken from text_config when present there and from
// the outer object otherwise, so one reader serves both layouts.
//
// The training context is max_position_embeddings, except under a YaRN rope_scaling, which
// extends it to factor x original_max_position_embeddings (Qwen2.5's documented way to reach
// 128K; vLLM's max_model_len follows it). Other kinds (llama3, longrope, gemma3's linear) are
// left at max_position_embeddings, because those configs already state the extended length
// there.
//
// Hostile input: every number is range-checked before use and every field's JSON type is
// checked, so a wrong type, a negative or absurd count, zero heads or head counts that do not
// divide yield an InvalidArgument status naming the file and the field, never a crash.
//
// Thread safety: the functions keep no state; call them from any thread.
#pragma once

#include <string>
#include <string_view>

#include "model/model_info.h"
#include "util/status.h"

namespace cortex {

// Parses the text of a config.json. `name` becomes ModelInfo::name and prefixes error messages
// ("<name>/config.json: ..."). The result has shapes only: weights_bytes is 0 and
// weights_exact false, because config.json says nothing exact about bytes.
// Returns InvalidArgument when the text is not a JSON object, a required field (model_type,
// num_hidden_layers, hidden_size, num_attention_heads, vocab_size) is missing, or any field
// has the wrong type or an impossible value.
StatusOr<ModelInfo> ParseHfConfig(std::string_view config_json, const std::string& name);

// Reads `dir`/config.json and the safetensors headers of the checkpoint in `dir` (the shards
// named by model.safetensors.index.json when it exists, every *.safetensors file otherwise).
// ModelInfo::name is the directory's last path component.
// On success weights_bytes is the sum of the tensors' bytes, split into token_embd_bytes,
// output_bytes, expert_bytes and per-layer weight_bytes by tensor name, with weights_exact
// true. When a shard named by the index is missing and the index states metadata.total_size,
// that total is used instead, weights_exact is false and provenance says why.
// Returns NotFound when the directory, config.json or the checkpoint files are missing,
// Unsupported when the checkpoint is only in PyTorch .bin form, InvalidArgument for a bad
// config.json (see ParseHfConfig), Corruption for malformed safetensors headers or index, and
// IoError when a read fails.
StatusOr<ModelInfo> ReadHfModelDir(const std::string& dir);

}  // namespace cortex
