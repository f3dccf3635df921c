// The vLLM flavor: vLLM's OpenAI-compatible server on the wire (D-engine-apis.md section 2).
//
// What it reproduces, each behaviour next to its section in vllm_flavor.cpp (routing, waiting)
// or vllm_wire.cpp (bodies and framing):
//   - no listening socket until the engine is ready, so connections are refused while loading
//     (2.1, 3.7); /health 200 with an empty body once ready, 503 once the engine died (2.3);
//   - /v1/models with max_model_len, /version, /load, /ping, /tokenize, /detokenize, /metrics
//     (always on, `vllm:*` names), chat and completions, streamed or not (2.2, 2.5, 2.7);
//   - errors nested as {"error":{"message","type","param":null,"code"}} with PascalCase types
//     (2.4): context length 400 BadRequestError ("maximum context length"), unknown model 404
//     NotFoundError "The model `x` does not exist." (an empty model is accepted, 3.6), malformed
//     JSON 400 BadRequestError (3.7); unknown route 404 {"detail":"Not Found"};
//   - the API key on /v1 paths only -> 401 {"error":"Unauthorized"} (2.2);
//   - streaming (2.5): headers at once, the role delta {"role":"assistant","content":""}, the
//     finish_reason (and stop_reason) on the last content chunk, a usage chunk with
//     stream_options.include_usage, no keep-alive comments, `data: [DONE]` always — after a
//     mid-stream error event too (2.4);
//   - --max-num-seqs running requests, the rest waiting (3.7 "Full queue");
//   - /sleep?level=1|2, /wake_up, /is_sleeping only with --enable-sleep-mode and
//     VLLM_SERVER_DEV_MODE=1, 404 otherwise (2.2); while asleep requests wait for /wake_up
//     (D leaves this open; waiting is what a paused engine core does).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model_info.h"
#include "plan/vllm_plan.h"
#include "sim/flavor.h"
#include "sim/sim_engine.h"
#include "sim/sim_options.h"
#include "util/status.h"

namespace cortex::sim {

struct VllmModel {
  std::string model;                      // --model as given
  std::vector<std::string> served_names;  // --served-model-name, else the model
  ModelInfo info;
  VllmPlan plan;
  bool shape_assumed = false;  // neither a directory nor a known repo id
};

// Resolves --model (a Hugging Face directory, else a repo id of the known table, else an assumed
// small shape with a warning) and plans it. On failure prints vLLM's failure lines and returns
// the error: no model, an unreadable directory, or a KV pool that cannot hold one request of
// max-model-len (vLLM's startup ValueError, 2.1).
StatusOr<VllmModel> LoadVllmModel(const SimOptions& options);

std::unique_ptr<Flavor> NewVllmFlavor(SimEngine& engine, VllmModel model);

}  // namespace cortex::sim
