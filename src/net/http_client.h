// HttpConnection: one client connection to an HTTP/1.1 server, for coroutines.
//
// Written for proxying: the response header is read first, then the body piece by piece as it
// arrives (a server-sent-events stream arrives event by event), so nothing waits for the whole
// body. Each read has its own timeout: the time to the response header may be long (an engine
// queues a request without sending anything), the gap between body pieces another.
//
// Also BlockingHttp*: the same on a private io_context, for tests and command-line tools.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "net/http_server.h"
#include "util/status.h"

namespace cortex::net {

// A request whose head is written as text while it is built. The proxy sends one per request;
// beast's fields would allocate a node per header and then be copied out as text anyway.
class RawRequest {
 public:
  RawRequest(http::verb method, std::string_view target);
  // Appends `name: value`. CR and LF in either become spaces: a header value the gateway passes
  // on from its client (X-Request-Id) cannot start a header or a request of its own.
  void Header(std::string_view name, std::string_view value);
  // The value of the first header named `name` (any case), or "" if none. For tests and logs.
  std::string_view HeaderValue(std::string_view name) const;
  std::string_view target() const { return target_; }
  // The request line and headers, each ending in CRLF, without Content-Length or the blank line
  // (HttpConnection::Write adds them).
  const std::string& head() const { return head_; }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }

 private:
  std::string target_;
  std::string head_;
  std::string body_;
};

class HttpConnection {
 public:
  // Connects to host:port. Returns IoError (refused, unreachable, timed out), or Exhausted when
  // this process could not open a socket (descriptor limit): then the peer was never tried.
  static asio::awaitable<StatusOr<std::unique_ptr<HttpConnection>>> Connect(
      asio::any_io_executor executor, std::string host, uint16_t port,
      std::chrono::milliseconds timeout);

  explicit HttpConnection(beast::tcp_stream stream);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  asio::awaitable<Status> Write(HttpRequest& request, std::chrono::milliseconds timeout);
  // The same for a request built as text; Content-Length comes from its body.
  asio::awaitable<Status> Write(const RawRequest& request, std::chrono::milliseconds timeout);
  // Reads the response header, which header() then shows. REQUIRES: Write succeeded.
  asio::awaitable<Status> ReadHeader(std::chrono::milliseconds timeout);
  // The response header ReadHeader read, valid until the next Write. REQUIRES: ReadHeader ok.
  const http::response_header<>& header() const;
  int status() const;
  // The next piece of the body; "" once the body is complete (see body_done()). The view is
  // valid until the next call on this connection.
  asio::awaitable<StatusOr<std::string_view>> ReadSome(std::chrono::milliseconds timeout);
  // The rest of the body, whole. Fails with OutOfRange once it passes `max_bytes` (the
  // connection is then not reusable), or as ReadSome fails. `timeout` applies to each piece.
  asio::awaitable<StatusOr<std::string>> ReadToEnd(std::chrono::milliseconds timeout,
                                                   size_t max_bytes = 64u << 20);
  bool body_done() const;
  // Whether the connection can carry another request (complete body, keep-alive).
  bool reusable() const;
  void Close();
  // Closes the socket now, from any coroutine on the same executor; pending reads fail.
  void Abort();

 private:
  // Writes head_ and then `body`, the end of both Writes.
  asio::awaitable<Status> WriteHeadAnd(std::string_view body, std::chrono::milliseconds timeout);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  // A read waits with a buffer of this size; it grows while reads fill it and shrinks when they
  // do not, so thousands of idle token streams do not each sit on 64 KiB. `piece_` is reused
  // from read to read (no allocation or zero-fill per piece).
  size_t piece_size_ = 4096;
  std::string piece_;
  std::string head_;  // the request head being written
  bool failed_ = false;
};

struct BlockingHttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool chunked = false;
  std::string header(const std::string& lower_name) const;
};

struct BlockingHttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds timeout{30'000};  // for each step: connect, header, each body piece
};

// Sends one request and reads the whole response. `on_body`, when given, receives each body
// piece as it arrives; returning false stops reading and closes the connection (the result then
// holds what was read so far).
StatusOr<BlockingHttpResult> BlockingHttp(
    const std::string& host, uint16_t port, const BlockingHttpRequest& request,
    const std::function<bool(std::string_view)>& on_body = nullptr);

}  // namespace cortex::net
