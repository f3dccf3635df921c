#include "net/http_server.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/http_client.h"

namespace cortex::net {
namespace {

using namespace std::chrono_literals;

HttpResponse PlainError(http::status status, std::string_view message) {
  HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json");
  r.body() = OpenAiErrorBody(message, "invalid_request_error");
  return r;
}

// A server on a background thread, stopped and joined on destruction.
class ServerThread {
 public:
  explicit ServerThread(HttpHandler handler, HttpServerOptions options = {})
      : server_(io_, options, std::move(handler), PlainError) {
    EXPECT_TRUE(server_.Listen("127.0.0.1", 0).ok());
    server_.Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServerThread() {
    asio::post(io_, [this] {
      server_.Stop();
      io_.stop();
    });
    thread_.join();
  }
  uint16_t port() const { return server_.port(); }

 private:
  asio::io_context io_;
  HttpServer server_;
  std::thread thread_;
};

// Everything the server sends until it closes the connection.
std::string ReadUntilClosed(asio::ip::tcp::socket& sock) {
  std::string out;
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    const size_t n = sock.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

asio::awaitable<void> Echo(HttpRequest& req, Responder& res) {
  HttpResponse r{http::status::ok, req.version()};
  r.set(http::field::content_type, "text/plain");
  r.body() = std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
  co_await res.Send(std::move(r));
}

TEST(HttpServerTest, AnswersARequest) {
  ServerThread s(Echo);
  BlockingHttpRequest req;
  req.method = "POST";
  req.target = "/v1/x";
  req.body = "hello";
  auto r = BlockingHttp("127.0.0.1", s.port(), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /v1/x hello");
}

TEST(HttpServerTest, StreamsChunksAsTheyAreWritten) {
  ServerThread s([](HttpRequest&, Responder& res) -> asio::awaitable<void> {
    http::response_header<> h;
    h.set(http::field::content_type, "text/event-stream");
    co_await res.StartChunked(std::move(h), http::status::ok);
    for (int i = 0; i < 3; ++i) {
      co_await res.WriteChunk("data: " + std::to_string(i) + "\n\n");
      co_await res.Sleep(50ms);
    }
    co_await res.FinishChunked();
  });
  std::vector<std::string> pieces;
  auto r = BlockingHttp("127.0.0.1", s.port(), {}, [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  EXPECT_EQ(pieces.size(), 3u);  // each chunk arrived on its own, not buffered together
}

TEST(HttpServerTest, NoticesAClientThatLeavesWhileTheHandlerWaits) {
  std::atomic<bool> noticed{false};
  std::atomic<int64_t> noticed_after_ms{-1};
  ServerThread s([&](HttpRequest&, Responder& res) -> asio::awaitable<void> {
    const auto start = std::chrono::steady_clock::now();
    const bool stayed = co_await res.Sleep(30s);  // the client leaves long before
    noticed = !stayed && res.client_gone();
    noticed_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  });
  BlockingHttpRequest req;
  req.timeout = 200ms;  // give up waiting for the header
  auto r = BlockingHttp("127.0.0.1", s.port(), req);
  EXPECT_FALSE(r.ok());
  for (int i = 0; i < 100 && noticed_after_ms < 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(noticed);
  EXPECT_GE(noticed_after_ms, 0);
  EXPECT_LT(noticed_after_ms, 1000);  // a functional bound (the handler would sleep 30 s)
}

// A client that sends one byte more than its request and then closes has left all the same:
// the handler's wait ends, so the engine request behind it is cancelled.
TEST(HttpServerTest, NoticesAClientThatSendsOneMoreByteAndThenLeaves) {
  std::atomic<int> outcome{-1};
  ServerThread s([&](HttpRequest&, Responder& res) -> asio::awaitable<void> {
    outcome = (co_await res.Sleep(30s)) ? 1 : 0;
  });
  {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
    asio::write(sock, asio::buffer(std::string_view("POST /x HTTP/1.1\r\nHost: x\r\n"
                                                    "Content-Length: 2\r\n\r\n{}")));
    std::this_thread::sleep_for(50ms);  // the handler is running and the socket watched
    asio::write(sock, asio::buffer(std::string_view("G")));
    std::this_thread::sleep_for(50ms);
  }  // closed
  for (int i = 0; i < 200 && outcome < 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(outcome, 0);  // within two seconds; the handler alone would sleep 30
}

// What the client sends ahead while a handler runs is kept: a pipelined request is answered
// after the first, in order.
TEST(HttpServerTest, AnswersARequestPipelinedWhileTheFirstWasStillRunning) {
  ServerThread s([](HttpRequest& req, Responder& res) -> asio::awaitable<void> {
    if (req.target() == "/slow") co_await res.Sleep(100ms);
    co_await Echo(req, res);
  });
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  asio::write(sock, asio::buffer(std::string_view("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::this_thread::sleep_for(20ms);
  asio::write(sock, asio::buffer(std::string_view("GET /b HTTP/1.1\r\nHost: x\r\n")));
  std::this_thread::sleep_for(20ms);
  asio::write(sock, asio::buffer(std::string_view("Connection: close\r\n\r\n")));
  const std::string out = ReadUntilClosed(sock);
  const auto slow = out.find("GET /slow");
  const auto b = out.find("GET /b");
  ASSERT_NE(slow, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_LT(slow, b);
}

// Responder::Wait: another coroutine wakes a waiting handler by cancelling its timer.
TEST(HttpServerTest, WaitReturnsWhenTheTimerIsCancelled) {
  ServerThread s([&](HttpRequest&, Responder& res) -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(asio::steady_timer::time_point::max());
    asio::steady_timer waker(co_await asio::this_coro::executor);
    waker.expires_after(50ms);
    waker.async_wait([&](const beast::error_code&) { timer.cancel(); });
    const bool here = co_await res.Wait(timer);
    HttpResponse r{http::status::ok, 11};
    r.body() = here ? "woken" : "gone";
    co_await res.Send(std::move(r));
  });
  auto r = BlockingHttp("127.0.0.1", s.port(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "woken");
}

TEST(HttpServerTest, WaitReturnsFalseWhenTheClientLeaves) {
  std::atomic<int> outcome{-1};
  ServerThread s([&](HttpRequest&, Responder& res) -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(asio::steady_timer::time_point::max());
    outcome = (co_await res.Wait(timer)) ? 1 : 0;
  });
  BlockingHttpRequest req;
  req.timeout = 200ms;  // gives up waiting for the header, closing the connection
  EXPECT_FALSE(BlockingHttp("127.0.0.1", s.port(), req).ok());
  for (int i = 0; i < 100 && outcome < 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(outcome, 0);  // within a second (the timer alone would wait forever)
}

// OnGone: a callback instead of a waiting coroutine; it runs when the client leaves, and a
// callback taken back before that never runs.
TEST(HttpServerTest, OnGoneCallsBackWhenTheClientLeavesUnlessTakenBack) {
  std::atomic<int> called{0}, taken_back_called{0}, done{0};
  ServerThread s([&](HttpRequest& req, Responder& res) -> asio::awaitable<void> {
    if (req.target() == "/taken-back") {
      res.OnGone([&] { ++taken_back_called; });
      res.OnGone(nullptr);
    } else {
      res.OnGone([&] { ++called; });
    }
    co_await res.Sleep(2s);  // the client leaves long before
    ++done;
  });
  for (const char* target : {"/watched", "/taken-back"}) {
    BlockingHttpRequest req;
    req.target = target;
    req.timeout = 200ms;  // gives up waiting for the header, closing the connection
    EXPECT_FALSE(BlockingHttp("127.0.0.1", s.port(), req).ok());
  }
  for (int i = 0; i < 300 && done < 2; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done, 2);
  EXPECT_EQ(called, 1);
  EXPECT_EQ(taken_back_called, 0);
}

TEST(HttpServerTest, RejectsBodiesOverTheLimitWith413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  ServerThread s(Echo, options);
  BlockingHttpRequest req;
  req.method = "POST";
  req.body = std::string(4096, 'x');
  auto r = BlockingHttp("127.0.0.1", s.port(), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("larger than 1024 bytes"), std::string::npos);
}

TEST(HttpServerTest, RejectsHugeHeadersWith431) {
  ServerThread s(Echo);
  BlockingHttpRequest req;
  req.headers["X-Big"] = std::string(20 * 1024, 'h');  // over the 16 KiB default
  auto r = BlockingHttp("127.0.0.1", s.port(), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 431);
}

// Sends raw bytes and returns what the server answers before closing.
std::string RawExchange(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(bytes));
  return ReadUntilClosed(sock);
}

// Holds `n` connections to the server open, sending nothing.
std::vector<std::unique_ptr<asio::ip::tcp::socket>> HoldConnections(asio::io_context& io,
                                                                    uint16_t port, int n) {
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> held;
  for (int i = 0; i < n; ++i) {
    held.push_back(std::make_unique<asio::ip::tcp::socket>(io));
    held.back()->connect({asio::ip::make_address("127.0.0.1"), port});
  }
  return held;
}

// Issue 13: idle connections can no longer keep everyone out. At the cap, the connection that
// has waited longest for a request is closed to make room.
TEST(HttpServerTest, AtTheCapANewClientClosesTheLongestIdleConnection) {
  HttpServerOptions options;
  options.max_connections = 4;
  ServerThread s(Echo, options);
  asio::io_context io;
  auto held = HoldConnections(io, s.port(), 4);
  std::this_thread::sleep_for(50ms);  // all four accepted and waiting for a request
  auto r = BlockingHttp("127.0.0.1", s.port(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  // The first one held was the one closed.
  char byte;
  beast::error_code ec;
  held[0]->read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(HttpServerTest, AtTheCapWithEveryConnectionBusyANewOneGets503WithRetryAfter) {
  HttpServerOptions options;
  options.max_connections = 2;
  std::atomic<int> busy{0};
  ServerThread s(
      [&](HttpRequest& req, Responder& res) -> asio::awaitable<void> {
        ++busy;
        co_await res.Sleep(2s);
        co_await Echo(req, res);
      },
      options);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i)
    clients.emplace_back([&] { (void)BlockingHttp("127.0.0.1", s.port(), {}); });
  for (int i = 0; i < 200 && busy < 2; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(busy, 2);
  const std::string answer = RawExchange(s.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
  for (auto& t : clients)
    t.join();
}

// CPU time (user + system) of a process so far, from /proc/PID/stat.
std::chrono::milliseconds CpuTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return std::chrono::milliseconds((utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK));
}

// Issue 13: with its descriptors gone, accept used to fail at once, again and again, at 100%
// of a core. The server now backs off and serves again once descriptors free up. It runs in a
// child process, whose descriptor limit alone is lowered, with the cap out of the way.
TEST(HttpServerTest, BacksOffInsteadOfSpinningWhenAcceptFindsNoDescriptor) {
  int ports[2];
  ASSERT_EQ(::pipe(ports), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ports[0]);
    rlimit lim{64, 64};
    ::setrlimit(RLIMIT_NOFILE, &lim);
    asio::io_context io;
    HttpServerOptions options;
    options.max_connections = 100000;
    HttpServer server(io, options, Echo, PlainError);
    if (!server.Listen("127.0.0.1", 0).ok()) ::_exit(2);
    server.Start();
    const uint16_t port = server.port();
    if (::write(ports[1], &port, sizeof port) != sizeof port) ::_exit(3);
    ::close(ports[1]);
    io.run_for(20s);
    ::_exit(0);
  }
  ::close(ports[1]);
  uint16_t port = 0;
  ASSERT_EQ(::read(ports[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(ports[0]);
  {
    asio::io_context io;
    auto held = HoldConnections(io, port, 100);  // more than the child has descriptors
    std::this_thread::sleep_for(300ms);
    const auto before = CpuTime(child);
    std::this_thread::sleep_for(1s);
    const auto used = CpuTime(child) - before;
    // Spinning burns the whole second; backing off, a few milliseconds.
    EXPECT_LT(used.count(), 300) << "ms of CPU in one second with every descriptor taken";
    held.resize(10);  // free descriptors: the server takes clients again
    BlockingHttpRequest req;
    req.timeout = 5s;
    bool answered = false;
    for (int i = 0; i < 100 && !answered; ++i) {
      auto r = BlockingHttp("127.0.0.1", port, req);
      answered = r.ok() && r->status == 200;
    }
    EXPECT_TRUE(answered);
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
}

TEST(HttpServerTest, AnswersMalformedRequestsWith400AndCloses) {
  ServerThread s(Echo);
  const std::string answer = RawExchange(s.port(), "NOT A REQUEST\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("malformed HTTP request"), std::string::npos);
}

TEST(HttpServerTest, KeepsTheConnectionForTheNextRequest) {
  ServerThread s(Echo);
  const std::string answer = RawExchange(
      s.port(),
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("GET /a"), std::string::npos);
  EXPECT_NE(answer.find("GET /b"), std::string::npos);
}

asio::awaitable<void> EchoAsText(HttpRequest& req, Responder& res) {
  std::string body = std::string(req.target());
  const std::string_view type = "application/json";
  co_await res.SendBody(http::status::created, type, std::move(body));
}

TEST(HttpServerTest, SendBodyWritesTheSameHeadBeastWouldIncludingConnection) {
  ServerThread s(EchoAsText);
  // HTTP/1.1 kept alive, then HTTP/1.1 asked to close.
  const std::string one = RawExchange(
      s.port(),
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(one,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nServer: cortex\r\n"
            "Content-Length: 2\r\n\r\n/a"
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nServer: cortex\r\n"
            "Content-Length: 3\r\nConnection: close\r\n\r\n/bb");
  // HTTP/1.0 asking for keep-alive is told so; HTTP/1.0 without it is closed.
  const std::string ten = RawExchange(
      s.port(), "GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /d HTTP/1.0\r\n\r\n");
  EXPECT_NE(ten.find("HTTP/1.0 201 Created\r\n"), std::string::npos) << ten;
  EXPECT_NE(ten.find("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n/c"), std::string::npos)
      << ten;
  EXPECT_NE(ten.find("Content-Length: 2\r\n\r\n/d"), std::string::npos) << ten;
}

TEST(RawRequestTest, WritesTheRequestLineAndHeadersAsText) {
  RawRequest r(http::verb::post, "/v1/chat/completions");
  r.Header("Host", "127.0.0.1:8080");
  r.Header("X-Request-Id", "a\r\nb");
  EXPECT_EQ(r.head(),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Request-Id: a  b\r\n");
  EXPECT_EQ(r.HeaderValue("host"), "127.0.0.1:8080");
  EXPECT_EQ(r.HeaderValue("HOST"), "127.0.0.1:8080");
  EXPECT_EQ(r.HeaderValue("Hos"), "");
  EXPECT_EQ(r.HeaderValue("POST /v1/chat/completions HTTP/1.1"), "");
}

TEST(HttpServerTest, AHandlerExceptionBecomesA500) {
  ServerThread s([](HttpRequest&, Responder&) -> asio::awaitable<void> {
    throw std::runtime_error("boom");
    co_return;
  });
  auto r = BlockingHttp("127.0.0.1", s.port(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("boom"), std::string::npos);
}

TEST(HttpServerTest, ASlowReaderDoesNotStallOtherClients) {
  const std::string big(8 << 20, 'z');
  ServerThread s([&](HttpRequest& req, Responder& res) -> asio::awaitable<void> {
    HttpResponse r{http::status::ok, 11};
    r.body() = req.target() == "/big" ? big : "small";
    co_await res.Send(std::move(r));
  });
  // A client asks for 8 MiB and never reads it: the server's write blocks on that connection.
  asio::io_context io;
  asio::ip::tcp::socket slow(io);
  slow.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  const int tiny = 4096;
  ::setsockopt(slow.native_handle(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
  asio::write(slow, asio::buffer(std::string("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::this_thread::sleep_for(100ms);
  BlockingHttpRequest req;
  req.target = "/small";
  req.timeout = 2s;
  auto r = BlockingHttp("127.0.0.1", s.port(), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "small");
}

TEST(HttpServerTest, ErrorBodiesAreOpenAiShaped) {
  const auto v = boost::json::parse(OpenAiErrorBody("no such lane", "not_found_error", "404"));
  const auto& e = v.at("error").as_object();
  EXPECT_EQ(e.at("message").as_string(), "no such lane");
  EXPECT_EQ(e.at("type").as_string(), "not_found_error");
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_EQ(e.at("code").as_string(), "404");
}

}  // namespace
}  // namespace cortex::net

namespace cortex::net {
namespace {

TEST(OpenAiErrorMessageTest, ReadsTheMessageOfAnErrorBodyElseTheBodyItself) {
  EXPECT_EQ(OpenAiErrorMessage(OpenAiErrorBody("no such lane", "not_found_error")), "no such lane");
  EXPECT_EQ(OpenAiErrorMessage("upstream said no"), "upstream said no");
  EXPECT_EQ(OpenAiErrorMessage(std::string(600, 'x')).size(), 500u);
}

}  // namespace
}  // namespace cortex::net
