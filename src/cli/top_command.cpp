#include "cli/top_command.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>
#include <vector>

#include "cli/status_table.h"
#include "gateway/sse.h"
#include "net/http_client.h"

namespace cortex::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kEnterScreen[] = "\x1b[?1049h\x1b[?25l";  // alternate screen, cursor hidden
constexpr char kLeaveScreen[] = "\x1b[?25h\x1b[?1049l";
constexpr char kHome[] = "\x1b[H\x1b[J";

// The terminal as it was, for the signal handler (which may only use async-signal-safe calls).
termios g_saved_termios;
volatile sig_atomic_t g_terminal_changed = 0;

void RestoreTerminal() {
  if (!g_terminal_changed) return;
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  (void)!write(STDOUT_FILENO, kLeaveScreen, sizeof(kLeaveScreen) - 1);
  g_terminal_changed = 0;
}

void OnSignal(int sig) {
  RestoreTerminal();
  _exit(128 + sig);
}

// Keys without Enter and without echo, Ctrl-C still a signal; undone on every way out.
class InteractiveTerminal {
 public:
  InteractiveTerminal() {
    if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return;
    termios raw = g_saved_termios;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ::signal(SIGINT, OnSignal);
    ::signal(SIGTERM, OnSignal);
    ::signal(SIGHUP, OnSignal);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    (void)!write(STDOUT_FILENO, kEnterScreen, sizeof(kEnterScreen) - 1);
    g_terminal_changed = 1;
    keys_ = std::thread([this] {
      while (!done_) {
        pollfd p{STDIN_FILENO, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char c = 0;
        if (::read(STDIN_FILENO, &c, 1) <= 0) break;
        if (c == 'q' || c == 'Q') quit_ = true;
      }
    });
  }
  ~InteractiveTerminal() {
    done_ = true;
    if (keys_.joinable()) keys_.join();
    RestoreTerminal();
  }
  bool quit() const { return quit_; }

 private:
  std::atomic<bool> done_{false};
  std::atomic<bool> quit_{false};
  std::thread keys_;
};

size_t TerminalWidth() {
  winsize w{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 40) return w.ws_col;
  return 100;
}

std::string Clock() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

void AddTopOptions(CLI::App& app, TopOptions& options) {
  AddTarget(app, options.target);
  app.add_option("-n,--count", options.count, "stop after this many screens")
      ->check(CLI::NonNegativeNumber);
}

int RunTop(const TopOptions& options) {
  auto ep = ResolveGateway(options.target);
  if (!ep.ok()) {
    std::fprintf(stderr, "%s\n", ep.status().message().c_str());
    return 1;
  }
  const bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
  std::optional<InteractiveTerminal> terminal;
  if (tty) terminal.emplace();
  const std::string where = fmt::format("{}:{}", ep->host, ep->port);
  int screens = 0;
  bool ever_connected = false;
  auto backoff = 500ms;
  for (;;) {
    net::BlockingHttpRequest req;
    req.target = "/admin/events";
    req.headers["Accept"] = "text/event-stream";
    if (!ep->admin_key.empty()) req.headers["Authorization"] = "Bearer " + ep->admin_key;
    req.timeout = 10s;  // the stream ticks every second; ten silent ones mean it hangs
    gateway::SseSplitter splitter;
    std::vector<std::string> events;
    std::string failure;
    bool finished = false;
    auto r = net::BlockingHttp(ep->host, ep->port, req, [&](std::string_view piece) {
      ever_connected = true;
      backoff = 500ms;
      events.clear();
      splitter.Feed(piece, &events);
      for (const std::string& text : events) {
        const gateway::SseFields e = gateway::ParseEventFields(text);
        if (e.data.empty()) continue;
        if (terminal && terminal->quit()) {
          finished = true;
          return false;
        }
        if (!tty && e.event == "tick") continue;
        json::error_code ec;
        const json::value v = json::parse(e.data, ec);
        if (ec || !v.is_object()) continue;
        std::string screen;
        try {
          const json::object& o = v.as_object();
          screen = MemoryBar(o, tty ? TerminalWidth() - 9 : 72) + "\n" + StatusTable(o) +
                   JobsTable(o) + LedgerEventsTable(o, tty ? 8 : 3);
        } catch (const std::exception& ex) {
          failure = fmt::format("unexpected status shape: {}", ex.what());
          finished = true;
          return false;
        }
        if (tty) {
          screen =
              fmt::format("{}cortex top — {} — {} — q quits\n\n{}", kHome, where, Clock(), screen);
        } else {
          screen = fmt::format("--- {} {} {}\n{}\n", Clock(), e.event, where, screen);
        }
        std::fputs(screen.c_str(), stdout);
        std::fflush(stdout);
        ++screens;
        if (options.count > 0 && screens >= options.count) {
          finished = true;
          return false;
        }
      }
      return !(terminal && terminal->quit());
    });
    if (!failure.empty()) {
      terminal.reset();
      std::fprintf(stderr, "cortex top: %s\n", failure.c_str());
      return 1;
    }
    if (finished || (terminal && terminal->quit())) return 0;
    if (r.ok() && r->status != 200) {
      terminal.reset();
      std::fprintf(stderr, "cortex top: GET /admin/events: %d %s\n", r->status,
                   net::OpenAiErrorMessage(r->body).c_str());
      return 1;
    }
    const std::string why = r.ok() ? "the stream ended" : r.status().message();
    if (!ever_connected) {
      terminal.reset();
      std::fprintf(stderr, "cortex: no gateway at %s (%s); is `cortex up` running?\n",
                   where.c_str(), why.c_str());
      return 1;
    }
    const std::string line =
        fmt::format("cortex top: lost {} ({}); reconnecting in {:.1f} s\n", where, why,
                    std::chrono::duration<double>(backoff).count());
    std::fputs(((tty ? std::string(kHome) : std::string()) + line).c_str(), tty ? stdout : stderr);
    std::fflush(stdout);
    for (auto waited = 0ms; waited < backoff && !(terminal && terminal->quit()); waited += 100ms) {
      std::this_thread::sleep_for(100ms);
    }
    if (terminal && terminal->quit()) return 0;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
  }
}

}  // namespace cortex::cli
