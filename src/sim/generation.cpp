#include "sim/generation.h"

#include <algorithm>

#include "sim/text_source.h"

namespace cortex::sim {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The delay `base_ms` scaled by a uniform factor in [1 - jitter, 1 + jitter].
Clock::duration Jittered(double base_ms, double jitter, uint64_t seed, uint64_t index) {
  const double factor = 1 + jitter * (2 * UnitInterval(seed, index) - 1);
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, base_ms * factor)));
}

// Waits until `deadline`, pinging through `sink` whenever nothing was written for the ping
// interval. Returns false when the client left.
asio::awaitable<bool> WaitUntil(net::Responder& responder, Clock::time_point deadline,
                                TokenSink* sink, std::chrono::milliseconds ping,
                                Clock::time_point* last_write) {
  for (;;) {
    Clock::time_point wake = deadline;
    const bool pinging = sink != nullptr && ping.count() > 0;
    if (pinging) wake = std::min(wake, *last_write + ping);
    const auto now = Clock::now();
    if (wake > now) {
      if (!co_await responder.Sleep(wake - now)) co_return false;
    } else if (responder.client_gone()) {
      co_return false;
    }
    if (wake >= deadline) co_return true;
    if (!co_await sink->Ping()) co_return false;
    *last_write = Clock::now();
  }
}

// Sleeps until `deadline` whatever the client does.
asio::awaitable<void> SleepUntil(Clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(deadline);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The request's clock: waits for each deadline, pinging a quiet stream, and decides what a
// disconnect does. Once the client is gone (`detached`) nothing more is written; the work stops
// unless --sim-ignore-disconnect keeps it going to its end.
struct Pacer {
  net::Responder& responder;
  TokenSink* sink;
  std::chrono::milliseconds ping;
  bool ignore_disconnect;
  Clock::time_point last_write;
  bool detached = false;

  // Waits until `deadline`. Returns false when the client left and the work stops.
  asio::awaitable<bool> Until(Clock::time_point deadline) {
    if (!detached) {
      // Keep the co_await out of the `if`: GCC 12 builds `if (co_await ...) co_return true;`
      // into a coroutine that dies with SIGILL when it resumes.
      const bool here = co_await WaitUntil(responder, deadline, sink, ping, &last_write);
      if (here) co_return true;
      if (!Lost()) co_return false;
    }
    co_await SleepUntil(deadline);
    co_return true;
  }

  // The client is gone (a failed write or the disconnect watch). Returns whether the work goes
  // on.
  bool Lost() {
    detached = true;
    return ignore_disconnect;
  }

  // Whether output still goes to the client.
  bool writing() const { return sink != nullptr && !detached; }
};

}  // namespace

std::string_view FinishReason(GenerationEnd end) {
  switch (end) {
    case GenerationEnd::kStop:
      return "stop";
    case GenerationEnd::kLength:
      return "length";
    case GenerationEnd::kCancelled:
      return "abort";
    case GenerationEnd::kFailed:
      return "error";
  }
  return "error";
}

asio::awaitable<bool> TokenSink::Progress(const PromptProgress&) {
  co_return true;
}

asio::awaitable<GenerationOutcome> Generate(SimEngine& engine, net::Responder& responder,
                                            const GenerationRequest& request, size_t slot,
                                            TokenSink* sink) {
  const SimOptions& options = engine.options();
  SlotActivity& activity = engine.activity()[slot];
  activity = SlotActivity{true,
                          true,
                          request.task_id,
                          request.n_prompt_tokens,
                          std::min(request.n_prompt_cached, request.n_prompt_tokens),
                          0,
                          request.max_tokens,
                          request.stream};
  GenerationOutcome out;
  TextSource text(request.seed);
  const uint64_t jitter_seed = Mix64(options.seed ^ Mix64(request.task_id + 0x5eed));
  const Clock::time_point start = Clock::now();
  Pacer pace{responder, sink, request.ping_interval, options.ignore_disconnect, start};
  out.end = GenerationEnd::kLength;
  bool cancelled = false;

  // Prompt processing: a 0% step at once, then one step per batch.
  const std::vector<PrefillStep> steps = PrefillSchedule(
      request.n_prompt_tokens, request.n_prompt_cached, request.prefill_batch, options.prefill_tps);
  const double prefill_factor =
      1 + options.jitter * (2 * UnitInterval(jitter_seed ^ 0x9ef111ull, 0) - 1);
  const auto at = [&](double ms) {
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double, std::milli>(ms * prefill_factor));
  };
  for (size_t k = 0; k < steps.size() && !cancelled; ++k) {
    if (k > 0) {
      const bool on = co_await pace.Until(at(steps[k].time_ms));
      if (!on) {
        cancelled = true;
        break;
      }
    }
    activity.n_prompt_processed = steps[k].processed;
    if (request.return_progress && pace.writing()) {
      PromptProgress progress;
      progress.total = request.n_prompt_tokens;
      progress.cache = steps.front().processed;
      progress.processed = steps[k].processed;
      progress.time_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      const bool sent = co_await sink->Progress(progress);
      if (sent) {
        pace.last_write = Clock::now();
      } else if (!pace.Lost()) {
        cancelled = true;
      }
    }
  }

  Clock::time_point deadline =
      at(steps.back().time_ms) + Jittered(options.ttft_ms, options.jitter, jitter_seed, 0);
  Clock::time_point first_token;
  Clock::time_point previous_token;
  if (cancelled) out.end = GenerationEnd::kCancelled;

  for (uint64_t i = 0; i < request.max_tokens && !cancelled; ++i) {
    if (request.fail_after_tokens && i == *request.fail_after_tokens) {
      out.end = GenerationEnd::kFailed;
      break;
    }
    if (!co_await pace.Until(deadline)) {
      out.end = GenerationEnd::kCancelled;
      break;
    }
    if (engine.state() == EngineState::kDead) {
      out.end = GenerationEnd::kFailed;
      break;
    }
    if (engine.hung()) {
      // A hung engine produces nothing more; the request ends only when its client gives up.
      co_await responder.WaitGone();
      out.end = GenerationEnd::kCancelled;
      break;
    }
    const Clock::time_point now = Clock::now();
    if (i == 0) {
      first_token = now;
      out.prompt_ms = Ms(now - start);
      engine.metrics().OnPrompt(request.n_prompt_tokens, out.prompt_ms / 1000,
                                out.prompt_ms / 1000);
    }
    engine.metrics().OnToken(i == 0 ? -1.0 : Ms(now - previous_token) / 1000,
                             engine.slots().pool().busy());
    previous_token = now;
    ++out.n_tokens;
    ++activity.n_decoded;

    // The piece, cut short when the text now contains a stop string.
    const size_t emitted = out.text.size();
    out.text += text.Next();
    std::string_view piece = std::string_view(out.text).substr(emitted);
    bool stopped = false;
    for (const std::string& stop : request.stop) {
      if (stop.empty()) continue;
      const size_t from = emitted >= stop.size() ? emitted - stop.size() + 1 : 0;
      const size_t at_stop = out.text.find(stop, from);
      if (at_stop != std::string::npos) {
        out.text.resize(at_stop);
        piece = at_stop > emitted ? std::string_view(out.text).substr(emitted) : std::string_view();
        stopped = true;
        break;
      }
    }
    if (pace.writing()) {
      const std::string_view finish = stopped                       ? "stop"
                                      : i + 1 == request.max_tokens ? "length"
                                                                    : "";
      const bool sent = co_await sink->Token(piece, i, finish);
      if (sent) {
        pace.last_write = Clock::now();
      } else if (!pace.Lost()) {
        out.end = GenerationEnd::kCancelled;
        break;
      }
    }
    if (stopped) {
      out.end = GenerationEnd::kStop;
      break;
    }
    deadline += Jittered(options.itl_ms, options.jitter, jitter_seed, i + 1);
  }
  // A request whose client left ends cancelled, also when --sim-ignore-disconnect let it run on.
  if (pace.detached) out.end = GenerationEnd::kCancelled;
  if (out.n_tokens > 0) out.predicted_ms = Ms(previous_token - first_token);
  if (out.n_tokens == 0 && out.end != GenerationEnd::kFailed)
    out.prompt_ms = Ms(Clock::now() - start);
  engine.metrics().OnFinished(std::string(FinishReason(out.end)), out.n_tokens,
                              Ms(Clock::now() - start) / 1000, out.predicted_ms / 1000);
  activity.processing = false;
  co_return out;
}

}  // namespace cortex::sim
