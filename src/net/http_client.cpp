#include "net/http_client.h"

#include <cerrno>

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cctype>

namespace cortex::net {
namespace {

using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kMinPiece = 4 * 1024;
constexpr size_t kMaxPiece = 64 * 1024;

Status FromError(const beast::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) return Status::IoError(fmt::format("{}: timed out", what));
  // No socket could be opened here: the peer was never asked, so this says nothing about it.
  if (ec.category() == boost::system::system_category() &&
      (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS)) {
    return Status::Exhausted(fmt::format("{}: {}", what, ec.message()));
  }
  return Status::IoError(fmt::format("{}: {}", what, ec.message()));
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

RawRequest::RawRequest(http::verb method, std::string_view target) : target_(target) {
  const std::string_view name = http::to_string(method);
  head_.reserve(256);
  head_.append(name.data(), name.size()).append(" ").append(target_).append(" HTTP/1.1\r\n");
}

void RawRequest::Header(std::string_view name, std::string_view value) {
  const size_t from = head_.size();
  head_.append(name).append(": ").append(value);
  std::replace_if(
      head_.begin() + static_cast<std::ptrdiff_t>(from), head_.end(),
      [](char c) { return c == '\r' || c == '\n'; }, ' ');
  head_.append("\r\n");
}

std::string_view RawRequest::HeaderValue(std::string_view name) const {
  std::string_view rest = head_;
  rest.remove_prefix(std::min(rest.size(), rest.find("\r\n") + 2));  // the request line
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(std::min(rest.size(), eol + 2));
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon != name.size()) continue;
    const bool same = std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) ==
             std::tolower(static_cast<unsigned char>(b));
    });
    if (!same) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    return value;
  }
  return {};
}

HttpConnection::HttpConnection(beast::tcp_stream stream) : stream_(std::move(stream)) {
  // Beast reads at least 512 bytes and only grows its buffer when a read needs more room, so
  // without this a typical answer (a header and a small JSON body) costs two or three reads.
  buffer_.reserve(kMinPiece);
}
HttpConnection::~HttpConnection() {
  Close();
}

asio::awaitable<StatusOr<std::unique_ptr<HttpConnection>>> HttpConnection::Connect(
    asio::any_io_executor executor, std::string host, uint16_t port,
    std::chrono::milliseconds timeout) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  tcp::endpoint endpoint;
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(executor);
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), kNoThrow);
    if (rec || results.empty()) co_return FromError(rec, fmt::format("resolve {}", host));
    endpoint = *results.begin();
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [cec] = co_await stream.async_connect(endpoint, kNoThrow);
  stream.expires_never();
  if (cec) co_return FromError(cec, fmt::format("connect to {}:{}", host, port));
  stream.socket().set_option(tcp::no_delay(true), cec);
  co_return std::make_unique<HttpConnection>(std::move(stream));
}

asio::awaitable<Status> HttpConnection::Write(HttpRequest& request,
                                              std::chrono::milliseconds timeout) {
  parser_.reset();
  request.prepare_payload();
  const std::string_view method = request.method_string();
  const std::string_view target = request.target();
  std::string line;
  line.reserve(method.size() + target.size() + 10);
  line.append(method).append(" ").append(target).append(request.version() == 10 ? " HTTP/1.0"
                                                                                : " HTTP/1.1");
  SerializeHead(line, request.base(), &head_);
  const std::string_view body = request.body();
  co_return co_await WriteHeadAnd(body, timeout);
}

asio::awaitable<Status> HttpConnection::Write(const RawRequest& request,
                                              std::chrono::milliseconds timeout) {
  parser_.reset();
  head_.assign(request.head());
  head_.append("Content-Length: ").append(std::to_string(request.body().size())).append("\r\n\r\n");
  const std::string_view body = request.body();
  co_return co_await WriteHeadAnd(body, timeout);
}

asio::awaitable<Status> HttpConnection::WriteHeadAnd(std::string_view body,
                                                     std::chrono::milliseconds timeout) {
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body)};
  stream_.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream_, buffers, kNoThrow);
  stream_.expires_never();
  if (ec) {
    failed_ = true;
    co_return FromError(ec, "write request");
  }
  co_return Status::Ok();
}

asio::awaitable<Status> HttpConnection::ReadHeader(std::chrono::milliseconds timeout) {
  parser_.emplace();
  parser_->body_limit(boost::none);
  stream_.expires_after(timeout);
  auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, kNoThrow);
  stream_.expires_never();
  if (ec) {
    failed_ = true;
    co_return FromError(ec, "read response header");
  }
  co_return Status::Ok();
}

const http::response_header<>& HttpConnection::header() const {
  return parser_->get().base();
}

int HttpConnection::status() const {
  return parser_ ? static_cast<int>(parser_->get().result_int()) : 0;
}

asio::awaitable<StatusOr<std::string_view>> HttpConnection::ReadSome(
    std::chrono::milliseconds timeout) {
  if (!parser_ || parser_->is_done()) co_return std::string_view();
  if (piece_.size() != piece_size_) piece_.resize(piece_size_);
  std::string& piece = piece_;
  while (!parser_->is_done()) {
    parser_->get().body().data = piece.data();
    parser_->get().body().size = piece.size();
    stream_.expires_after(timeout);
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *parser_, kNoThrow);
    stream_.expires_never();
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      failed_ = true;
      co_return FromError(ec, "read response body");
    }
    const size_t got = piece.size() - parser_->get().body().size;
    if (got > 0) {
      if (got == piece.size()) {
        piece_size_ = std::min(kMaxPiece, piece_size_ * 2);
      } else if (got < piece_size_ / 4) {
        piece_size_ = std::max(kMinPiece, piece_size_ / 2);
      }
      co_return std::string_view(piece.data(), got);
    }
  }
  co_return std::string_view();
}

asio::awaitable<StatusOr<std::string>> HttpConnection::ReadToEnd(std::chrono::milliseconds timeout,
                                                                 size_t max_bytes) {
  std::string body;
  if (parser_ && parser_->content_length()) {
    body.reserve(static_cast<size_t>(std::min<uint64_t>(*parser_->content_length(), max_bytes)));
  }
  for (;;) {
    auto piece = co_await ReadSome(timeout);
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) co_return body;
    if (body.size() + piece->size() > max_bytes) {
      failed_ = true;
      co_return Status::OutOfRange(fmt::format("response body larger than {} bytes", max_bytes));
    }
    body.append(piece->data(), piece->size());
  }
}

bool HttpConnection::body_done() const {
  return parser_ && parser_->is_done();
}

bool HttpConnection::reusable() const {
  return !failed_ && parser_ && parser_->is_done() && parser_->get().keep_alive();
}

void HttpConnection::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

void HttpConnection::Abort() {
  failed_ = true;
  Close();
}

std::string BlockingHttpResult::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

StatusOr<BlockingHttpResult> BlockingHttp(const std::string& host, uint16_t port,
                                          const BlockingHttpRequest& request,
                                          const std::function<bool(std::string_view)>& on_body) {
  asio::io_context io;
  std::optional<StatusOr<BlockingHttpResult>> outcome;
  auto exchange = [&]() -> asio::awaitable<void> {
    auto conn = co_await HttpConnection::Connect(io.get_executor(), host, port, request.timeout);
    if (!conn.ok()) {
      outcome = conn.status();
      co_return;
    }
    HttpRequest req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    req.set(http::field::host, fmt::format("{}:{}", host, port));
    for (const auto& [name, value] : request.headers)
      req.set(name, value);
    req.body() = request.body;
    if (Status s = co_await (*conn)->Write(req, request.timeout); !s.ok()) {
      outcome = s;
      co_return;
    }
    if (Status read = co_await (*conn)->ReadHeader(request.timeout); !read.ok()) {
      outcome = read;
      co_return;
    }
    BlockingHttpResult result;
    result.status = (*conn)->status();
    for (const auto& field : (*conn)->header()) {
      result.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
    }
    result.chunked = result.header("transfer-encoding").find("chunked") != std::string::npos;
    if (!on_body) {
      auto body = co_await (*conn)->ReadToEnd(request.timeout);
      if (!body.ok()) {
        outcome = body.status();
        co_return;
      }
      result.body = std::move(*body);
    }
    while (on_body) {
      auto piece = co_await (*conn)->ReadSome(request.timeout);
      if (!piece.ok()) {
        outcome = piece.status();
        co_return;
      }
      if (piece->empty()) break;
      result.body += *piece;
      if (!on_body(*piece)) break;
    }
    outcome = std::move(result);
  };
  asio::co_spawn(io, exchange(), asio::detached);
  io.run();
  if (!outcome) return Status::IoError("HTTP exchange did not complete");
  return std::move(*outcome);
}

}  // namespace cortex::net
