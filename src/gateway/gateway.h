// Gateway: one OpenAI-compatible endpoint in front of the lanes.
//
// A request names its lane (the `model` field or the X-Cortex-Lane header). The gateway checks
// the client's key, parses the body (malformed JSON is our 400, never the engine's 500),
// estimates the prompt against the lane's context (longer prompts go to the lane's
// `fallback_on_context` lane or get a 400 naming both numbers), admits the request
// (AdmissionController: lane caps, engine slots, bounded queues, 429 with Retry-After when
// full), picks the lane's engine or, when that engine is down, the first healthy fallback lane,
// rewrites `model` to what the engine expects (and asks for usage in streams), and proxies.
//
// Streams pass event by event, flushed, never compressed, with X-Accel-Buffering: no. The
// gateway reads usage and timings out of the passing events for its metrics without holding
// bytes back, and drops the usage chunk it asked for when the client did not. A client that
// disconnects gets its upstream connection closed at once (never returned to the pool), so the
// engine stops generating. If the engine fails mid-stream the client gets one
// `data: {"error":...}` event and the end of the stream. Fallback happens only before the
// first byte reaches the client.
//
// Engines are probed every `probe_interval` (GET /health, and /props or /v1/models for their
// context and slots); requests that fail count against them too (EngineHealth).
//
// Engines a supervisor owns (SetResidency) are not judged by probes alone: see residency_port.h.
//
// Threading: one io_context, one thread; all state lives on it.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "gateway/ingest_port.h"
#include "gateway/residency_port.h"
#include "util/status.h"

namespace cortex::gateway {

class Gateway {
 public:
  Gateway(boost::asio::io_context& io, const Config& config);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Engines owned by a supervisor: requests Enter them (load on demand, wait for a restart or
  // a burst), and /admin/... goes to it. Call before Start; `port` must outlive the gateway.
  void SetResidency(ResidencyPort* port);
  // The /v1/ingest routes. Call before Start; `port` must outlive the gateway.
  void SetIngest(IngestPort* port);
  // Listens on gateway.listen (port 0: any free port) and starts probing engines.
  Status Start();
  // Stops listening, probing, and closes client connections.
  void Stop();
  // Lets the requests being handled finish (at most `grace`), then Stop()s and calls `done`, so
  // a client whose request was answered during shutdown gets the answer, not a reset.
  void StopAfterRequests(std::chrono::milliseconds grace, std::function<void()> done);
  uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cortex::gateway
