#include "ingest/engine_call.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <memory>

#include "net/http_client.h"

namespace cortex::ingest {
namespace {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

}  // namespace

StatusOr<StreamingPostResult> StreamingPost(const std::string& host, uint16_t port,
                                            const std::string& target,
                                            const std::map<std::string, std::string>& headers,
                                            std::string body,
                                            std::chrono::milliseconds header_timeout,
                                            std::chrono::milliseconds gap_timeout,
                                            const std::function<bool()>& should_stop,
                                            const std::function<bool(std::string_view)>& on_piece) {
  asio::io_context io;
  StatusOr<StreamingPostResult> outcome = Status::IoError("not run");
  std::shared_ptr<net::HttpConnection> conn;
  bool finished = false;
  bool stopped_by_watch = false;  // then the call's own outcome (a failed read) is not reported

  auto call = [&]() -> asio::awaitable<void> {
    auto connected = co_await net::HttpConnection::Connect(io.get_executor(), host, port, 10s);
    if (!connected.ok()) {
      outcome = connected.status();
      co_return;
    }
    conn = std::shared_ptr<net::HttpConnection>(std::move(*connected));
    net::HttpRequest req{http::verb::post, target, 11};
    req.set(http::field::host, host);
    for (const auto& [k, v] : headers)
      req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    if (Status s = co_await conn->Write(req, 60s); !s.ok()) {
      outcome = s;
      co_return;
    }
    if (Status read = co_await conn->ReadHeader(header_timeout); !read.ok()) {
      outcome = read;
      co_return;
    }
    const http::response_header<>& header = conn->header();
    StreamingPostResult r;
    r.status = conn->status();
    if (auto it = header.find("Retry-After"); it != header.end()) {
      r.retry_after = std::string(it->value());
    }
    for (;;) {
      auto piece = co_await conn->ReadSome(gap_timeout);
      if (!piece.ok()) {
        if (r.stopped) break;
        outcome = piece.status();
        co_return;
      }
      if (piece->empty()) break;
      if (r.status != 200) {
        if (r.body.size() < (1u << 20)) r.body += *piece;
        continue;
      }
      if (on_piece && !on_piece(*piece)) {
        r.stopped = true;
        break;
      }
    }
    outcome = std::move(r);
  };

  auto watch = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io);
    while (!finished) {
      timer.expires_after(200ms);
      co_await timer.async_wait(asio::use_awaitable);
      if (!finished && should_stop && should_stop()) {
        // Closing the socket ends a read that is waiting for bytes at once; cancellation of
        // the racing coroutine alone waits for that read to complete.
        stopped_by_watch = true;
        if (conn) conn->Abort();
        StreamingPostResult r;
        r.stopped = true;
        outcome = std::move(r);
        co_return;
      }
    }
  };

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await (call() || watch());
        finished = true;
      },
      asio::detached);
  io.run();
  if (conn) conn->Close();
  if (stopped_by_watch) {
    StreamingPostResult r;
    r.stopped = true;
    return r;
  }
  return outcome;
}

}  // namespace cortex::ingest
