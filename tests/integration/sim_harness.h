// Test harness for engines on the wire: start `cortex sim` (or a real llama-server), wait for
// it, talk HTTP, split SSE streams, and reduce JSON bodies to their shape.
//
// The shape of a JSON value is what two engines must agree on even when their values differ
// (ids, timestamps, generated text): objects become their sorted keys with the shape of each
// value, arrays the set of their elements' shapes, scalars their type (string, int, double,
// bool, null). Two bodies with equal shapes have the same key sets and value types everywhere.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "support/subprocess.h"

namespace cortex::testing {

inline const char* LlamaServerBinary() {
  const char* path = std::getenv("CORTEX_LLAMA_SERVER");
  return (path != nullptr && *path != '\0') ? path : nullptr;
}

// A running engine process.
struct EngineProcess {
  std::unique_ptr<Subprocess> process;
  uint16_t port = 0;
  std::string log_path;

  std::string Log() const { return ReadWholeFile(log_path); }
};

// `cortex sim --flavor <flavor>` followed by `args`.
inline std::vector<std::string> SimArgv(const std::string& flavor,
                                        const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CORTEX_BINARY, "sim", "--flavor", flavor};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

inline std::unique_ptr<EngineProcess> StartProcess(const std::vector<std::string>& argv,
                                                   uint16_t port, const std::string& log_path) {
  auto proc = Subprocess::Start(argv, log_path);
  EXPECT_TRUE(proc.ok()) << proc.status().ToString();
  if (!proc.ok()) return nullptr;
  auto e = std::make_unique<EngineProcess>();
  e->process = std::move(*proc);
  e->port = port;
  e->log_path = log_path;
  return e;
}

inline net::BlockingHttpResult Http(uint16_t port, const std::string& method,
                                    const std::string& target, const std::string& body = "",
                                    std::map<std::string, std::string> headers = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  net::BlockingHttpRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers = std::move(headers);
  if (!body.empty() && !req.headers.count("Content-Type")) {
    req.headers["Content-Type"] = "application/json";
  }
  req.timeout = timeout;
  auto r = net::BlockingHttp("127.0.0.1", port, req);
  EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
  return r.ok() ? *r : net::BlockingHttpResult{};
}

// Polls GET /health until 200. Returns false when the process exits or the deadline passes.
inline bool WaitHealthy(EngineProcess& e,
                        std::chrono::seconds deadline = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (e.process->Poll()) return false;
    net::BlockingHttpRequest req;
    req.target = "/health";
    req.timeout = std::chrono::milliseconds(1000);
    auto r = net::BlockingHttp("127.0.0.1", e.port, req);
    if (r.ok() && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The events of an SSE body, each without its trailing blank line ("data: {...}", ":").
inline std::vector<std::string> SseEvents(const std::string& body) {
  std::vector<std::string> events;
  size_t start = 0;
  while (start < body.size()) {
    const size_t end = body.find("\n\n", start);
    if (end == std::string::npos) {
      events.push_back(body.substr(start));  // an unterminated tail: a framing error
      break;
    }
    events.push_back(body.substr(start, end - start));
    start = end + 2;
  }
  return events;
}

// The JSON of a "data: " event; null when it is not JSON.
inline boost::json::value EventJson(const std::string& event) {
  if (event.rfind("data: ", 0) != 0) return nullptr;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(event.substr(6), ec);
  return ec ? boost::json::value(nullptr) : v;
}

inline boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text.substr(0, 300);
  return ec ? boost::json::value(nullptr) : v;
}

inline std::string Shape(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      std::map<std::string, std::string> fields;
      for (const auto& [k, x] : v.get_object())
        fields[std::string(k)] = Shape(x);
      std::string out = "{";
      for (const auto& [k, s] : fields)
        out += k + ":" + s + ",";
      return out + "}";
    }
    case boost::json::kind::array: {
      std::set<std::string> elements;
      for (const auto& x : v.get_array())
        elements.insert(Shape(x));
      std::string out = "[";
      for (const auto& s : elements)
        out += s + ",";
      return out + "]";
    }
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "int";
    case boost::json::kind::double_:
      return "double";
    case boost::json::kind::bool_:
      return "bool";
    case boost::json::kind::null:
      return "null";
  }
  return "?";
}

// The value at a '/'-separated path ("choices/0/delta"), or nullptr.
inline const boost::json::value* At(const boost::json::value& v, const std::string& path) {
  const boost::json::value* cur = &v;
  size_t start = 0;
  while (start <= path.size() && cur != nullptr) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (cur->is_object()) {
      cur = cur->get_object().if_contains(part);
    } else if (cur->is_array()) {
      const size_t i = std::stoul(part);
      cur = i < cur->get_array().size() ? &cur->get_array()[i] : nullptr;
    } else {
      cur = nullptr;
    }
    start = end + 1;
  }
  return cur;
}

inline std::string Str(const boost::json::value& v, const std::string& path) {
  const boost::json::value* x = At(v, path);
  if (x == nullptr) return "<absent>";
  if (x->is_string()) return std::string(x->get_string());
  return boost::json::serialize(*x);
}

inline int64_t Int(const boost::json::value& v, const std::string& path) {
  const boost::json::value* x = At(v, path);
  return x != nullptr && x->is_int64() ? x->get_int64() : -1;
}

// A chat body whose prompt is `words` words.
inline std::string ChatBody(int max_tokens, bool stream, int words = 2,
                            const std::string& extra = "") {
  std::string content;
  for (int i = 0; i < words; ++i)
    content += i == 0 ? "hello" : " word";
  return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content +
         "\"}],\"max_tokens\":" + std::to_string(max_tokens) +
         ",\"stream\":" + (stream ? "true" : "false") + extra + "}";
}

// VmRSS of `pid` in bytes, from /proc/PID/status (0 when unreadable).
inline uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// A plain TCP client for what BlockingHttp hides: when the response header arrives, a client
// that vanishes mid-request, a socket the server keeps open without answering.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads for up to `timeout`, returning early once the text read so far contains `until`
  // (when given) or the peer closed (see peer_closed()).
  std::string Read(std::chrono::milliseconds timeout, const std::string& until = "") {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!until.empty() && received_.find(until) != std::string::npos) break;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || peer_closed_) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        peer_closed_ = true;
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  bool peer_closed() const { return peer_closed_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool peer_closed_ = false;
  std::string received_;
};

// An HTTP/1.1 request as text.
inline std::string RequestText(const std::string& method, const std::string& target,
                               const std::string& body = "",
                               const std::map<std::string, std::string>& headers = {}) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers)
    text += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    text +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return text + "\r\n" + body;
}

}  // namespace cortex::testing
