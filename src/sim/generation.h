// Generate: one request's simulated decoding, paced in time, for either flavor.
//
// Called once the request holds a slot. First the prompt is processed (sim/prefill.h): in
// batches of `prefill_batch` tokens at `--sim-prefill-tps` tokens per second (no time at all
// when that is 0), each batch's end reported to the sink when the request asked for progress
// (llama.cpp's return_progress: a 0% step at once, then one per batch). The first token comes
// `--sim-ttft-ms` after the prefill, the next ones `--sim-itl-ms` apart, each delay scaled by
// the jitter factor (deterministic for the seed and the request; the prefill takes one factor as
// a whole). Deadlines are absolute (each one the previous deadline plus the next gap), so a busy
// event loop that wakes late does not stretch the average rate.
//
// Words come from the built-in text (TextSource seeded by the request), one token each. The
// request ends with "length" after max_tokens tokens (or when the slot's context is full), or
// with "stop" when the text reaches one of the request's stop strings (the stop string and what
// follows are not emitted, as both engines do).
//
// The caller frames the output: a TokenSink receives each piece as it is produced (streams), and
// keep-alive pings while nothing else was written for `ping_interval` (llama.cpp's `:` comments,
// D-engine-apis.md 1.6 step 7). Without a sink the text is only collected (non-streamed
// requests).
//
// Cancellation: when the client leaves (a failed write, or the disconnect watch) during the
// prefill or generation, the work stops at once, the outcome is kCancelled and the caller frees
// the slot; the event loop notices a disconnect within one tick, well inside the one second
// llama-server needs (1.11). With --sim-ignore-disconnect the work goes on instead, writing
// nothing more, until the prefill and every token would have been done (current llama-server
// does not reliably stop on a disconnect, llama.cpp issue #24496), and only then ends with
// kCancelled; the slot shows as processing until then. When the engine hangs (--sim-hang-after)
// generation freezes until the client leaves.
//
// Metrics (prompt, tokens, TTFT, ITL, finish reason) and the slot's activity are updated here.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_server.h"
#include "sim/prefill.h"
#include "sim/sim_engine.h"

namespace cortex::sim {

struct GenerationRequest {
  uint64_t task_id = 0;
  uint64_t seed = 0;  // picks the words
  uint64_t n_prompt_tokens = 0;
  uint64_t n_prompt_cached = 0;  // the prompt's cached prefix, which costs no processing
  uint64_t prefill_batch = 512;  // prompt tokens per processing step (llama.cpp's n_ubatch)
  bool return_progress = false;  // report each prefill step to the sink (streams only)
  uint64_t max_tokens = 16;
  std::vector<std::string> stop;
  bool stream = false;
  std::chrono::milliseconds ping_interval{0};  // 0: no keep-alive pings
  // Fail (outcome kFailed) once this many tokens were produced.
  std::optional<uint64_t> fail_after_tokens;
};

enum class GenerationEnd { kStop, kLength, kCancelled, kFailed };

struct GenerationOutcome {
  GenerationEnd end = GenerationEnd::kLength;
  std::string text;
  uint64_t n_tokens = 0;
  double prompt_ms = 0;     // slot start to first token (the simulated prompt processing)
  double predicted_ms = 0;  // first token to last
};

// Receives a stream's output. Each call returns false when the client is gone.
class TokenSink {
 public:
  virtual ~TokenSink() = default;
  // One piece of text ("" when a stop string swallowed the whole token); `index` counts from 0.
  // `finish` is "stop" or "length" when generation ends with this token, "" otherwise.
  virtual boost::asio::awaitable<bool> Token(std::string_view piece, uint64_t index,
                                             std::string_view finish) = 0;
  virtual boost::asio::awaitable<bool> Ping() = 0;
  // One step of the prompt processing, when the request asked for progress. The default sends
  // nothing (engines without progress chunks).
  virtual boost::asio::awaitable<bool> Progress(const PromptProgress& progress);
};

// REQUIRES: the request holds `slot`. Does not release it.
boost::asio::awaitable<GenerationOutcome> Generate(SimEngine& engine, net::Responder& responder,
                                                   const GenerationRequest& request, size_t slot,
                                                   TokenSink* sink);

// "stop" / "length" / "abort" / "error", the finish reasons metrics and bodies use.
std::string_view FinishReason(GenerationEnd end);

}  // namespace cortex::sim
