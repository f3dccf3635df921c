// Flavor: one engine's face — its routes, bodies, error shapes, streaming framing and log lines.
//
// The Simulator (sim/simulator.h) owns the process: event loop, HTTP server, load timer, memory
// hold, signals. It asks the flavor what the engine would do: whether it listens while loading
// (llama-server does, vLLM does not), what it prints at each step, and how it answers each
// request. Two implementations: llama_flavor.h and vllm_flavor.h.
//
// Also here: request helpers both flavors share (JSON parsing that keeps the parser's error
// position, chat message extraction, ids).
//
// Thread safety: a Flavor runs on the simulator's one event-loop thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_server.h"

namespace cortex::sim {

class Flavor {
 public:
  virtual ~Flavor() = default;

  // Answers one request. Never throws out (errors become the engine's error bodies).
  virtual boost::asio::awaitable<void> Handle(net::HttpRequest& request,
                                              net::Responder& responder) = 0;
  // The body the engine gives a request the HTTP layer refused (too large, malformed).
  virtual net::HttpResponse Reject(net::http::status status, std::string_view message) const = 0;

  // llama-server answers 503 while loading; vLLM refuses connections until ready.
  virtual bool listens_while_loading() const = 0;
  // Bytes the planner says the engine allocates (what --sim-hold-memory is a fraction of).
  virtual uint64_t planned_bytes() const = 0;

  // Log lines at each step of the process's life.
  virtual void LogIgnoredFlag(const std::string& flag) = 0;
  virtual void LogLoading() = 0;
  virtual void LogHold(uint64_t held_bytes) = 0;
  virtual void LogReady(const std::string& host, uint16_t port) = 0;
  virtual void LogBindFailure(const std::string& host, uint16_t port, const std::string& why) = 0;
  virtual void LogShutdown() = 0;
  virtual void LogCrash(uint64_t answered) = 0;

  // Called once the model is loaded (vLLM resolves its sleep-mode routes then).
  virtual void OnReady() {}
};

// A JSON body, or where and why parsing stopped.
struct ParsedJson {
  std::optional<boost::json::value> value;
  bool empty_input = false;
  size_t error_offset = 0;  // bytes consumed before the error
  std::string error;        // the parser's message
};
ParsedJson ParseJsonBody(std::string_view body);

// The integer token ids of a /detokenize body's "tokens" array; both engines skip anything else.
std::vector<int32_t> DetokenizeIds(const ParsedJson& body);

// 1-based line and column of byte `offset` in `text`.
std::pair<size_t, size_t> LineColumn(std::string_view text, size_t offset);

// The text of a chat message's `content`: a string, or the concatenated "text" of an array of
// parts ({"type":"text","text":...}); "" for null or other shapes.
std::string MessageContent(const boost::json::value& content);

// The request's "stop": a string or an array of strings; empty otherwise.
std::vector<std::string> StopStrings(const boost::json::object& body);

// `n` characters from `alphabet`, deterministic for (seed, index).
std::string RandomId(uint64_t seed, uint64_t index, size_t n, std::string_view alphabet);

// Splits a request target into path and query ("/sleep?level=1" -> "/sleep", "level=1").
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);
// The value of `key` in a query string, or nullopt.
std::optional<std::string> QueryValue(std::string_view query, std::string_view key);

// Seconds since the Unix epoch, for "created".
int64_t UnixNow();

}  // namespace cortex::sim
