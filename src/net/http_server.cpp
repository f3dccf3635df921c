#include "net/http_server.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <list>

namespace cortex::net {
namespace {

using asio::use_awaitable;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

// A read while a handler runs takes this much room in the connection's buffer (the start of a
// pipelined request, or nothing: the read then only tells that the client left).
constexpr size_t kWatchBytes = 4096;
// The watcher keeps reading what a client sends ahead (a pipelined request, a stray byte) so it
// still sees the client leave afterwards; past this much unread input it stops, and the rest
// waits in the kernel as backpressure.
constexpr size_t kWatchAheadLimit = 64 * 1024;

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {
    // Beast reads at least 512 bytes and grows its buffer only when a read needs more room;
    // with this, a typical request arrives in one read.
    buffer.reserve(kWatchBytes);
  }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string head;  // the response head being written, reused from request to request
  // Between requests (or before the first): what the server may close to make room.
  bool awaiting_request = false;
  bool evicted = false;
  std::chrono::steady_clock::time_point idle_since;
};

// accept's ways of saying "this process or the machine has no descriptor or buffer to spare";
// the listening socket stays readable, so retrying at once would spin.
bool OutOfDescriptors(const beast::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

constexpr auto kFirstAcceptBackoff = std::chrono::milliseconds(10);
constexpr auto kLastAcceptBackoff = std::chrono::milliseconds(500);  // nginx waits 500 ms
// Connections refused at the cap are answered 503 and closed; past this many at once the
// rest are closed without an answer, so refusing cannot itself use up the reserve.
constexpr size_t kMaxRefusing = 16;

}  // namespace

size_t DefaultMaxConnections(uint64_t descriptor_limit) {
  // A proxied request holds two descriptors (client and engine); a quarter (16 to 256) stays
  // in reserve for health probes, logs, the job database and files being ingested.
  const uint64_t reserve = std::clamp<uint64_t>(descriptor_limit / 4, 16, 256);
  if (descriptor_limit <= reserve + 2) return 1;
  return static_cast<size_t>(std::min<uint64_t>((descriptor_limit - reserve) / 2, 1u << 20));
}

struct Responder::State {
  State(std::shared_ptr<Connection> c, unsigned version, bool keep_alive,
        std::chrono::milliseconds write_timeout)
      : conn(std::move(c)),
        gone_timer(conn->stream.get_executor()),
        version(version),
        keep_alive(keep_alive),
        write_timeout(write_timeout) {
    gone_timer.expires_at(asio::steady_timer::time_point::max());
  }

  void MarkGone() {
    if (gone) return;
    gone = true;
    gone_timer.cancel();
    if (on_gone) {
      auto fn = std::move(on_gone);
      on_gone = nullptr;
      fn();
    }
  }

  std::function<void()> on_gone;
  // Set for a streamed request body (HttpServerOptions::stream_body) until it is read.
  std::unique_ptr<http::request_parser<http::buffer_body>> body;
  bool expects_continue = false;

  std::shared_ptr<Connection> conn;
  asio::steady_timer gone_timer;
  unsigned version;
  bool keep_alive;
  std::chrono::milliseconds write_timeout;
  bool gone = false;
  bool started = false;
  bool finished = false;
  bool close_after = false;
  bool watch_running = false;
  bool stop_watch = false;  // set before the watcher's read is cancelled; a read that completed
                            // in the meantime must not start another
};

Responder::Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

bool Responder::body_pending() const {
  return state_->body && !state_->body->is_done();
}

asio::awaitable<StatusOr<uint64_t>> Responder::ReadBody(
    const std::function<Status(std::string_view)>& sink, uint64_t limit,
    std::chrono::milliseconds timeout) {
  State& s = *state_;
  auto keep = state_;
  if (!s.body) co_return Status::InvalidArgument("the request has no streamed body");
  auto& parser = *s.body;
  if (s.expects_continue && !s.started) {
    s.expects_continue = false;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    s.conn->stream.expires_after(s.write_timeout);
    auto [ec, n] = co_await asio::async_write(s.conn->stream, asio::buffer(kContinue), kNoThrow);
    s.conn->stream.expires_never();
    if (ec) {
      s.MarkGone();
      co_return Status::IoError("the client left before sending the body");
    }
  }
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  while (!parser.is_done()) {
    parser.get().body().data = buf.data();
    parser.get().body().size = buf.size();
    s.conn->stream.expires_after(timeout);
    auto [ec, n] = co_await http::async_read(s.conn->stream, s.conn->buffer, parser, kNoThrow);
    s.conn->stream.expires_never();
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      s.close_after = true;
      if (ec == beast::error::timeout) {
        co_return Status::IoError(
            fmt::format("the client sent nothing for {} ms", timeout.count()));
      }
      co_return Status::IoError(fmt::format("reading the request body: {}", ec.message()));
    }
    const size_t got = buf.size() - parser.get().body().size;
    total += got;
    if (total > limit) {
      s.close_after = true;
      co_return Status::OutOfRange(fmt::format("request body larger than {} bytes", limit));
    }
    if (got > 0) {
      if (Status st = sink(std::string_view(buf.data(), got)); !st.ok()) {
        s.close_after = true;
        co_return st;
      }
    }
  }
  co_return total;
}

bool Responder::client_gone() const {
  return state_->gone;
}
bool Responder::started() const {
  return state_->started;
}
bool Responder::finished() const {
  return state_->finished;
}
void Responder::CloseAfterResponse() {
  state_->close_after = true;
}
unsigned Responder::request_version() const {
  return state_->version;
}
bool Responder::keep_alive() const {
  // A streamed body left unread means the connection's next bytes are not a request.
  return state_->keep_alive && !state_->close_after && !body_pending();
}

namespace {

// Writes the last bytes of a response (all of it, or a stream's last chunk) and marks it
// finished; false when the client is gone.
template <class ConstBuffers>
asio::awaitable<bool> WriteFinal(Responder::State& s, const ConstBuffers& buffers) {
  s.conn->stream.expires_after(s.write_timeout);
  auto [ec, n] = co_await asio::async_write(s.conn->stream, buffers, kNoThrow);
  s.conn->stream.expires_never();
  s.finished = true;
  if (ec) {
    s.MarkGone();
    co_return false;
  }
  co_return true;
}

}  // namespace

asio::awaitable<bool> Responder::Send(HttpResponse response) {
  State& s = *state_;
  if (s.gone) co_return false;
  s.started = true;
  response.version(s.version);
  response.keep_alive(keep_alive());
  response.prepare_payload();
  const unsigned code = response.result_int();
  const std::string_view reason = response.reason();
  char first[64];
  const int first_size =
      std::snprintf(first, sizeof first, "HTTP/%u.%u %u ", s.version / 10, s.version % 10, code);
  std::string line(first, static_cast<size_t>(first_size));
  line.append(reason.data(), reason.size());
  SerializeHead(line, response.base(), &s.conn->head);
  const std::string_view body = response.body();
  // The head buffer, then the body, in one write.
  const std::array<asio::const_buffer, 2> whole{asio::buffer(s.conn->head), asio::buffer(body)};
  co_return co_await WriteFinal(s, whole);
}

asio::awaitable<bool> Responder::SendBody(http::status status, std::string_view content_type,
                                          std::string body) {
  State& s = *state_;
  if (s.gone) co_return false;
  s.started = true;
  const bool keep = keep_alive();
  const std::string_view reason = http::obsolete_reason(status);
  char line[96];
  const int line_size = std::snprintf(line, sizeof line, "HTTP/%u.%u %u ", s.version / 10,
                                      s.version % 10, static_cast<unsigned>(status));
  std::string& head = s.conn->head;
  head.assign(line, static_cast<size_t>(line_size));
  head.append(reason).append("\r\nContent-Type: ").append(content_type);
  head.append("\r\nServer: cortex\r\nContent-Length: ").append(std::to_string(body.size()));
  // What beast's keep_alive() writes: HTTP/1.1 says close, HTTP/1.0 says keep-alive.
  if (s.version >= 11 && !keep) head.append("\r\nConnection: close");
  if (s.version < 11 && keep) head.append("\r\nConnection: keep-alive");
  head.append("\r\n\r\n");
  const std::string_view bytes = body;
  const std::array<asio::const_buffer, 2> whole{asio::buffer(s.conn->head), asio::buffer(bytes)};
  co_return co_await WriteFinal(s, whole);
}

asio::awaitable<bool> Responder::StartChunked(http::response_header<> header, http::status status) {
  State& s = *state_;
  if (s.gone) co_return false;
  s.started = true;
  http::response<http::empty_body> response{std::move(header)};
  response.result(status);
  response.version(s.version);
  response.keep_alive(keep_alive());
  response.chunked(true);
  http::response_serializer<http::empty_body> serializer{response};
  s.conn->stream.expires_after(s.write_timeout);
  auto [ec, n] = co_await http::async_write_header(s.conn->stream, serializer, kNoThrow);
  s.conn->stream.expires_never();
  if (ec) {
    s.MarkGone();
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> Responder::WriteChunk(std::string_view data) {
  State& s = *state_;
  if (s.gone) co_return false;
  if (data.empty()) co_return true;  // an empty chunk would end the body
  // The chunk's frame: its size in hex, the data, CRLF.
  char size_line[24];
  const int size_len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  static constexpr std::string_view kCrlf = "\r\n";
  const std::array<asio::const_buffer, 3> buffers{
      asio::buffer(size_line, static_cast<size_t>(size_len)),
      asio::buffer(data.data(), data.size()), asio::buffer(kCrlf.data(), kCrlf.size())};
  s.conn->stream.expires_after(s.write_timeout);
  auto [ec, n] = co_await asio::async_write(s.conn->stream, buffers, kNoThrow);
  s.conn->stream.expires_never();
  if (ec) {
    s.MarkGone();
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> Responder::FinishChunked() {
  State& s = *state_;
  if (s.gone) co_return false;
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  const asio::const_buffer last = asio::buffer(kLastChunk.data(), kLastChunk.size());
  co_return co_await WriteFinal(s, last);
}

asio::awaitable<bool> Responder::Sleep(std::chrono::steady_clock::duration duration) {
  using namespace asio::experimental::awaitable_operators;
  State& s = *state_;
  if (s.gone) co_return false;
  asio::steady_timer timer(s.conn->stream.get_executor());
  timer.expires_after(duration);
  auto keep = state_;  // the gone timer must outlive the race
  auto result = co_await (timer.async_wait(kNoThrow) || s.gone_timer.async_wait(kNoThrow));
  co_return result.index() == 0 && !s.gone;
}

asio::awaitable<bool> Responder::Wait(asio::steady_timer& timer) {
  using namespace asio::experimental::awaitable_operators;
  State& s = *state_;
  if (s.gone) co_return false;
  auto keep = state_;  // the gone timer must outlive the race
  co_await (timer.async_wait(kNoThrow) || s.gone_timer.async_wait(kNoThrow));
  co_return !s.gone;
}

void Responder::OnGone(std::function<void()> fn) {
  if (fn && state_->gone) {
    fn();
    return;
  }
  state_->on_gone = std::move(fn);
}

asio::awaitable<void> Responder::WaitGone() {
  // One wait, not a loop: the gone timer only completes when the client leaves (MarkGone
  // cancels it) or when a racing operation cancels this wait, and both must end it.
  auto keep = state_;
  if (!keep->gone) co_await keep->gone_timer.async_wait(kNoThrow);
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, HttpServerOptions options, HttpHandler handler,
       ErrorResponder error_response)
      : io(io),
        acceptor(io),
        options(options),
        handler(std::move(handler)),
        error_response(std::move(error_response)) {}

  // Until the handler is done, watches for the client closing its side: one read into the
  // connection's buffer, which ends with the client's end of stream (gone), with the first bytes
  // of its next request (kept for the session to parse), or cancelled when the handler is done.
  // A read rather than a readiness wait: after the request's own read drained the socket, asio
  // queues it without a system call, where a wait re-arms epoll (epoll_ctl) every time.
  // Bytes that arrive are kept and the read goes on: a client that sends one more byte and then
  // closes has still left, and its engine request must be cancelled.
  static asio::awaitable<void> Watch(std::shared_ptr<Responder::State> st) {
    Connection& conn = *st->conn;
    while (!st->stop_watch && conn.buffer.size() < kWatchAheadLimit) {
      auto [ec, n] =
          co_await conn.stream.socket().async_read_some(conn.buffer.prepare(kWatchBytes), kNoThrow);
      conn.buffer.commit(n);
      if (ec) {
        if (ec != asio::error::operation_aborted) st->MarkGone();
        break;
      }
    }
    st->watch_running = false;
  }

  asio::awaitable<void> SendError(Connection& conn, http::status status, std::string_view message,
                                  unsigned version) {
    HttpResponse response = error_response(status, message);
    response.version(version == 0 ? 11 : version);
    response.keep_alive(false);
    response.prepare_payload();
    conn.stream.expires_after(options.write_timeout);
    auto [ec, n] = co_await http::async_write(conn.stream, response, kNoThrow);
    if (ec) co_return;
    co_await Linger(conn);
  }

  static asio::awaitable<void> Linger(Connection& conn) {
    // Lingering close: the client may still be sending the request we refused. Closing with
    // unread bytes would reset the connection and could destroy our answer before the client
    // reads it, so read and drop what is in flight for a moment first.
    beast::error_code ignored;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn.stream.expires_after(std::chrono::seconds(1));
    std::string sink(64 * 1024, '\0');
    for (uint64_t drained = 0; drained < (8u << 20);) {
      auto [rec, got] = co_await conn.stream.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
      drained += got;
    }
  }

  asio::awaitable<void> Session(std::shared_ptr<Connection> conn) {
    bool first = true;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      // Beast checks Content-Length against the body limit while it reads the header, before
      // we know whether this body is one the handler streams; the limit is set once it is known.
      parser.body_limit(boost::none);
      // The idle timeout covers the wait for a request's first byte; once it starts, the whole
      // request must arrive within the header timeout.
      conn->stream.expires_after(first ? options.header_timeout : options.idle_timeout);
      first = false;
      conn->awaiting_request = true;
      conn->idle_since = std::chrono::steady_clock::now();
      auto [ec, n] = co_await http::async_read_header(conn->stream, conn->buffer, parser, kNoThrow);
      conn->awaiting_request = false;
      if (conn->evicted) break;
      std::unique_ptr<http::request_parser<http::buffer_body>> streamed;
      if (!ec && !parser.is_done() && options.stream_body && options.stream_body(parser.get())) {
        streamed = std::make_unique<http::request_parser<http::buffer_body>>(std::move(parser));
        streamed->body_limit(boost::none);
      } else if (!ec && !parser.is_done()) {
        if (parser.content_length() && *parser.content_length() > options.max_body_bytes) {
          ec = http::error::body_limit;
        }
        parser.body_limit(options.max_body_bytes);
      }
      if (!ec && !streamed && !parser.is_done()) {
        conn->stream.expires_after(options.header_timeout);
        std::tie(ec, n) = co_await http::async_read(conn->stream, conn->buffer, parser, kNoThrow);
      }
      if (ec) {
        if (ec == http::error::header_limit) {
          co_await SendError(*conn, http::status::request_header_fields_too_large,
                             "request header too large", 11);
        } else if (ec == http::error::body_limit) {
          co_await SendError(
              *conn, http::status::payload_too_large,
              fmt::format("request body larger than {} bytes", options.max_body_bytes),
              parser.get().version());
        } else if (ec != http::error::end_of_stream && ec != asio::error::eof &&
                   ec != beast::error::timeout && ec != asio::error::operation_aborted &&
                   ec != asio::error::connection_reset && ec != http::error::partial_message) {
          co_await SendError(*conn, http::status::bad_request,
                             fmt::format("malformed HTTP request: {}", ec.message()), 11);
        }
        break;
      }
      conn->stream.expires_never();
      HttpRequest request;
      if (streamed) {
        request.base() = streamed->get().base();
      } else {
        request = parser.release();
      }
      auto state = std::make_shared<Responder::State>(conn, request.version(), request.keep_alive(),
                                                      options.write_timeout);
      if (streamed) {
        state->expects_continue = beast::iequals(request[http::field::expect], "100-continue");
        state->body = std::move(streamed);
      }
      Responder responder(state);
      // A streamed body is the handler's to read, so its socket is not watched meanwhile.
      if (!state->body) {
        state->watch_running = true;
        asio::co_spawn(conn->stream.get_executor(), Watch(state), asio::detached);
      }
      std::string failure;
      try {
        co_await handler(request, responder);
      } catch (const std::exception& e) {
        failure = e.what();
        if (failure.empty()) failure = "internal error";
      }
      if (!failure.empty()) {
        if (!responder.started()) {
          co_await responder.Send(error_response(http::status::internal_server_error, failure));
        }
        responder.CloseAfterResponse();
      }
      if (state->watch_running) {
        state->stop_watch = true;
        beast::error_code ignored;
        conn->stream.socket().cancel(ignored);
        // The cancelled read completes in a handler already queued; the buffer is the session's
        // again only after it ran.
        while (state->watch_running)
          co_await asio::post(conn->stream.get_executor(), use_awaitable);
      }
      if (state->body && !state->body->is_done()) {
        // Answered without reading the whole body (a refusal): the connection cannot carry
        // another request, and closing with unread bytes could reset our answer away.
        if (responder.finished() && !responder.client_gone()) co_await Linger(*conn);
        break;
      }
      if (!responder.finished() && !responder.client_gone()) {
        // A handler that sent nothing, or stopped mid-stream: never leave the client hanging.
        if (!responder.started()) {
          co_await responder.Send(
              error_response(http::status::internal_server_error, "no response was produced"));
        }
        break;
      }
      if (responder.client_gone() || !responder.keep_alive()) break;
    }
    beast::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->stream.close();
  }

  asio::awaitable<void> AcceptLoop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(io);
    auto delay = kFirstAcceptBackoff;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (OutOfDescriptors(ec)) {
          // Keep serving the connections we have, and try again later rather than at once.
          ++stats.accept_failures;
          backoff.expires_after(delay);
          co_await backoff.async_wait(kNoThrow);
          delay = std::min(delay * 2, kLastAcceptBackoff);
        }
        continue;
      }
      delay = kFirstAcceptBackoff;
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Connection>(std::move(socket));
      if (live >= max_connections && !EvictLongestIdle()) {
        ++stats.refused;
        if (refusing < kMaxRefusing) asio::co_spawn(io, Refuse(conn), asio::detached);
        continue;  // otherwise closed here, unanswered
      }
      ++live;
      connections.push_back(conn);
      asio::co_spawn(io, Session(conn), [self, conn](std::exception_ptr) {
        if (!conn->evicted) --self->live;
        self->connections.remove_if(
            [&](const std::weak_ptr<Connection>& w) { return w.expired() || w.lock() == conn; });
      });
    }
  }

  // At the cap, a new client is worth more than one that has sent nothing for longest: that one
  // is closed (what a server under pressure does to keep-alive), so idle or trickling clients
  // can never keep /health and everyone else out.
  bool EvictLongestIdle() {
    std::shared_ptr<Connection> oldest;
    for (const auto& weak : connections) {
      auto c = weak.lock();
      if (c && c->awaiting_request && !c->evicted &&
          (!oldest || c->idle_since < oldest->idle_since))
        oldest = std::move(c);
    }
    if (!oldest) return false;
    oldest->evicted = true;
    --live;
    ++stats.evicted_idle;
    beast::error_code ignored;
    oldest->stream.socket().cancel(ignored);
    return true;
  }

  // Every connection is busy with a request: this one is told to come back, then closed.
  asio::awaitable<void> Refuse(std::shared_ptr<Connection> conn) {
    ++refusing;
    HttpResponse response =
        error_response(http::status::service_unavailable, "too many connections; retry shortly");
    response.set(http::field::retry_after, "1");
    response.version(11);
    response.keep_alive(false);
    response.prepare_payload();
    conn->stream.expires_after(std::chrono::seconds(1));
    auto [ec, n] = co_await http::async_write(conn->stream, response, kNoThrow);
    if (!ec) co_await Linger(*conn);
    beast::error_code ignored;
    conn->stream.socket().close(ignored);
    --refusing;
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  HttpServerOptions options;
  HttpHandler handler;
  ErrorResponder error_response;
  std::list<std::weak_ptr<Connection>> connections;
  size_t max_connections = options.max_connections;
  size_t live = 0;  // connections being served, the evicted ones not counted
  size_t refusing = 0;
  HttpServerStats stats;
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandler handler,
                       ErrorResponder error_response)
    : impl_(std::make_shared<Impl>(io, options, std::move(handler), std::move(error_response))) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument(fmt::format("not an IP address: {}", host));
  const tcp::endpoint endpoint(address, port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ec);
    return Status::IoError(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void HttpServer::Start() {
  if (impl_->max_connections == 0) {
    rlimit lim{};
    const bool known = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY;
    impl_->max_connections = DefaultMaxConnections(known ? lim.rlim_cur : 1u << 20);
  }
  asio::co_spawn(impl_->io, impl_->AcceptLoop(), asio::detached);
}

void HttpServer::Stop() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& weak : impl_->connections) {
    if (auto conn = weak.lock()) {
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      conn->stream.socket().close(ec);
    }
  }
}

HttpServerStats HttpServer::stats() const {
  return impl_->stats;
}

size_t HttpServer::max_connections() const {
  return impl_->max_connections;
}

size_t HttpServer::open_connections() const {
  size_t n = 0;
  for (const auto& weak : impl_->connections)
    n += weak.expired() ? 0 : 1;
  return n;
}

void SerializeHead(std::string_view first_line, const http::fields& fields, std::string* out) {
  out->clear();
  out->reserve(256);
  out->append(first_line).append("\r\n");
  for (const auto& f : fields) {
    out->append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  }
  out->append("\r\n");
}

std::string OpenAiErrorBody(std::string_view message, std::string_view type, std::string_view code,
                            std::string_view param) {
  boost::json::object error;
  error["message"] = message;
  error["type"] = type;
  error["param"] = param.empty() ? boost::json::value(nullptr) : boost::json::value(param);
  error["code"] = code.empty() ? boost::json::value(nullptr) : boost::json::value(code);
  return boost::json::serialize(boost::json::object{{"error", std::move(error)}});
}

std::string OpenAiErrorMessage(std::string_view body) {
  boost::json::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* e = v.as_object().if_contains("error"); e && e->is_object()) {
      if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) {
        return std::string(m->as_string());
      }
    }
  }
  return std::string(body.substr(0, 500));
}

}  // namespace cortex::net
