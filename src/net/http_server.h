// HttpServer: an HTTP/1.1 server on Boost.Beast with one C++20 coroutine per connection.
//
// Each connection reads a request, hands it to the handler with a Responder, and loops while the
// client keeps the connection alive. Limits protect the process: a header over
// `max_header_bytes` is answered 431, a body over `max_body_bytes` 413, a malformed request 400,
// each through `error_response` so every engine flavor can shape its own errors; the connection
// is closed afterwards. A client that goes idle between requests is dropped after
// `idle_timeout`; one that starts a request but does not finish it, after `header_timeout`.
// Neither timeout ever applies while a response is being produced, so a healthy long stream is
// never cut. Connections are capped (`max_connections`) below the descriptor limit, and an
// accept that finds no descriptor backs off instead of retrying at once.
//
// The Responder sends either one complete response or a chunked stream (server-sent events),
// flushing every chunk. While a handler runs, the server watches the socket: when the client
// closes its side, `client_gone()` turns true and every Responder wait (Sleep, WaitGone) returns
// at once, so handlers stop their work within a scheduler tick — what llama-server does within
// its one-second poll.
//
// Threading: everything runs on the io_context the server was given; run that io_context on one
// thread (handlers then need no locks).
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace cortex::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct HttpServerOptions {
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 32ull << 20;
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds idle_timeout{120'000};
  // A write (one response, one chunk) must complete within this, or the client is dropped.
  std::chrono::milliseconds write_timeout{120'000};
  // Requests whose body the handler reads itself, piece by piece (uploads far larger than
  // memory). For these the server reads only the header, `max_body_bytes` does not apply, and
  // the handler calls Responder::ReadBody (or answers without reading it; the connection is
  // then closed). Null: every body is read whole before the handler runs.
  std::function<bool(const HttpRequest& header)> stream_body;
  // Connections served at once. At the cap a new connection closes the one that has waited
  // longest for its next request; when every connection is busy it is answered 503 with
  // Retry-After and closed. 0: DefaultMaxConnections of the descriptor limit at Start().
  size_t max_connections = 0;
};

// What the server did under pressure, for metrics and tests.
struct HttpServerStats {
  uint64_t accept_failures = 0;  // accept found no descriptor; the server backed off
  uint64_t evicted_idle = 0;     // idle connections closed to make room at the cap
  uint64_t refused = 0;          // connections answered 503 (or closed) at the cap
};

// The connection cap for a process allowed `descriptor_limit` descriptors: each proxied request
// holds two, and a quarter of the limit (16 to 256) stays in reserve so health probes, logs and
// files still open when clients take every connection.
size_t DefaultMaxConnections(uint64_t descriptor_limit);

class Responder {
 public:
  struct State;  // shared with the connection's watcher
  explicit Responder(std::shared_ptr<State> state);

  // Sends a complete response (Content-Length set from the body). Returns false when the client
  // is gone. REQUIRES: nothing sent yet.
  asio::awaitable<bool> Send(HttpResponse response);
  // The same for a response with only Content-Type, `Server: cortex` and Content-Length, its
  // head written straight as text: the proxy's answer to every non-streamed request.
  asio::awaitable<bool> SendBody(http::status status, std::string_view content_type,
                                 std::string body);

  // Starts a chunked response with `header` (chunked encoding is set here). Returns false when
  // the client is gone. REQUIRES: nothing sent yet.
  asio::awaitable<bool> StartChunked(http::response_header<> header, http::status status);
  // Writes and flushes one chunk. Returns false when the client is gone.
  asio::awaitable<bool> WriteChunk(std::string_view data);
  // Ends the chunked body. Returns false when the client is gone.
  asio::awaitable<bool> FinishChunked();

  // Waits `duration`; returns false early when the client leaves.
  asio::awaitable<bool> Sleep(std::chrono::steady_clock::duration duration);
  // Completes when the client has left, or when cancelled by a racing operation (it is meant
  // for `co_await (something || responder.WaitGone())`); check client_gone() afterwards.
  asio::awaitable<void> WaitGone();
  // Waits until `timer` expires or is cancelled (another coroutine's way to wake this one).
  // Returns false early when the client leaves, true otherwise. The timer must be on this
  // connection's executor and outlive the wait.
  asio::awaitable<bool> Wait(asio::steady_timer& timer);

  // Calls `fn` once, on the connection's executor, when the client leaves (at once if it has
  // already left). Replaces an earlier callback; an empty `fn` removes it. Cheaper than a
  // coroutine racing WaitGone() when something must merely be cancelled.
  void OnGone(std::function<void()> fn);

  // The body of a request the server was told to stream (HttpServerOptions::stream_body),
  // piece by piece into `sink`; answers `100 Continue` first when the client waits for it.
  // Fails with OutOfRange once more than `limit` bytes arrive (nothing more is read), IoError
  // when the client stops sending for `timeout` or leaves, or the sink's own error. Returns the
  // body's size. REQUIRES: body_pending().
  asio::awaitable<StatusOr<uint64_t>> ReadBody(const std::function<Status(std::string_view)>& sink,
                                               uint64_t limit, std::chrono::milliseconds timeout);
  // Whether the request has a streamed body that has not been read to its end.
  bool body_pending() const;

  bool client_gone() const;
  bool started() const;   // headers sent
  bool finished() const;  // a whole response sent
  // Close the connection after this response even if the client asked to keep it.
  void CloseAfterResponse();
  unsigned request_version() const;
  bool keep_alive() const;

 private:
  std::shared_ptr<State> state_;
};

using HttpHandler = std::function<asio::awaitable<void>(HttpRequest&, Responder&)>;
// Builds the response for a request the server rejects before the handler sees it.
using ErrorResponder = std::function<HttpResponse(http::status, std::string_view message)>;

class HttpServer {
 public:
  HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandler handler,
             ErrorResponder error_response);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Port 0 picks a free port (see port()). Returns IoError naming the
  // address when the bind fails (address in use, permission).
  Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  // Starts accepting. REQUIRES: Listen succeeded.
  void Start();
  // Stops accepting and closes every open connection.
  void Stop();
  size_t open_connections() const;
  // The cap in force (options.max_connections, or the one derived at Start()).
  size_t max_connections() const;
  HttpServerStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The head of a message as it goes on the wire: `first_line` (without its CRLF), each field as
// "Name: value\r\n", then the blank line. Written into `out` (cleared first). Serialising a
// head by hand costs a fraction of Beast's generic serializer, and every proxied request
// writes two.
void SerializeHead(std::string_view first_line, const http::fields& fields, std::string* out);

// An OpenAI-shaped JSON error body: {"error":{"message","type","param","code"}}, `param` and
// `code` null when empty. Every error cortex itself answers is built here.
std::string OpenAiErrorBody(std::string_view message, std::string_view type,
                            std::string_view code = {}, std::string_view param = {});
// The message of such a body (error.message), or the body's first 500 bytes when it is not one.
std::string OpenAiErrorMessage(std::string_view body);

}  // namespace cortex::net
