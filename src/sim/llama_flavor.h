// The llama.cpp flavor: llama-server on the wire (D-engine-apis.md section 1).
//
// What it reproduces, each behaviour next to its section in llama_flavor.cpp (routing, waiting)
// or llama_wire.cpp (bodies and framing):
//   - listening at once and answering every route 503 `unavailable_error` "Loading model" while
//     loading (1.1, 1.4); /health 200 {"status":"ok"} once loaded;
//   - the routes of 1.2 with llama-server's bodies: /v1/models (both "models" and "data"),
//     /props, /slots (one object per slot), /metrics only with --metrics (501 otherwise),
//     /tokenize, /detokenize, /apply-template, chat and completions (OpenAI and native);
//   - the API key check (Bearer or X-Api-Key; health and model list public) -> 401 (1.2);
//   - errors as {"error":{"code","message","type"}} with llama-server's types (1.5): context
//     overflow 400 `exceed_context_size_error` with n_prompt_tokens and n_ctx, malformed JSON 500
//     `server_error` with a `[json.exception.parse_error.101]` message, unknown route 404;
//     errors close the connection, as llama-server's HTTP library does;
//   - streaming (1.6): no headers until a slot takes the request, the role delta
//     {"role":"assistant","content":null} with the first token, a final chunk with "delta":{}
//     and finish_reason, a usage chunk ("choices":[]) only with stream_options.include_usage,
//     `timings` on the last chunk, `data: [DONE]`, `:` keep-alive comments every
//     --sse-ping-interval seconds of silence, a mid-stream error as one `data: {"error":...}`
//     event and no [DONE]; with "return_progress": true, prompt_progress chunks while the
//     prompt is processed (--sim-prefill-tps, in -ub batches): a 0% chunk at once, then one per
//     batch, before the first token;
//   - slots and deferral (1.11): requests beyond -np wait in FIFO order, and a client that
//     leaves cancels its request, queued or running (with --sim-ignore-disconnect a running
//     request goes on to its end, its slot busy, as current llama-server does).
// Fingerprint and build strings are the simulator's own ("b0-cortexsim").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model_info.h"
#include "plan/llama_cpp_plan.h"
#include "sim/flavor.h"
#include "sim/sim_engine.h"
#include "sim/sim_options.h"
#include "util/status.h"

namespace cortex::sim {

// The model behind -m, as llama-server would report it.
struct LlamaCppModel {
  std::string path;  // -m as given
  ModelInfo info;
  LlamaCppPlan plan;
  uint64_t n_params = 0;
  std::string ftype;   // "F16", "Q4_K - Medium"
  int vocab_type = 1;  // 1 SentencePiece, 2 BPE
  std::string chat_template;
  std::string bos_token = "<s>";
  std::string eos_token = "</s>";
  std::string alias;                 // what the API calls the model
  std::vector<std::string> aliases;  // every alias (the path when none was given)
  uint32_t n_ctx_slot = 0;
};

// Reads the GGUF file behind -m and plans it. On failure prints llama-server's failure lines
// ("failed to load model", "exiting due to model loading error") and returns the error: a missing
// -m, a file that is not a readable GGUF model, or flags the planner (like llama-server) refuses.
StatusOr<LlamaCppModel> LoadLlamaCppModel(const SimOptions& options);

std::unique_ptr<Flavor> NewLlamaCppFlavor(SimEngine& engine, LlamaCppModel model);

}  // namespace cortex::sim
