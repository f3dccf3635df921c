#include "sim/simulator.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "net/descriptor_limit.h"
#include "net/http_server.h"
#include "sim/flavor.h"
#include "sim/llama_flavor.h"
#include "sim/memory_hold.h"
#include "sim/sim_engine.h"
#include "sim/startup_log.h"
#include "sim/vllm_flavor.h"

namespace cortex::sim {
namespace {

namespace asio = boost::asio;

[[noreturn]] void ExitNow(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

// HttpServer::Listen takes IP addresses; engines also accept "localhost".
std::string BindAddress(const std::string& host) {
  return host == "localhost" ? "127.0.0.1" : host;
}

}  // namespace

int RunSimulator(const SimOptions& options) {
  // One socket per stream: lift the soft descriptor limit to the hard one, so a thousand
  // concurrent clients do not hit a 1024 default.
  net::RaiseDescriptorLimit();
  // 1. The model and its plan.
  std::unique_ptr<SimEngine> engine;
  std::unique_ptr<Flavor> flavor;
  std::string host;
  uint16_t port = 0;
  uint64_t kv_bytes = 0;
  if (options.flavor == SimFlavor::kLlamaCpp) {
    host = options.llama.host;
    port = options.llama.port;
    auto model = LoadLlamaCppModel(options);
    if (!model.ok()) return 1;
    kv_bytes = model->plan.memory.kv_bytes;
    engine = std::make_unique<SimEngine>(options, model->plan.n_seq, model->plan.kv.n_ctx);
    flavor = NewLlamaCppFlavor(*engine, std::move(*model));
  } else {
    host = options.vllm.host;
    port = options.vllm.port;
    auto model = LoadVllmModel(options);
    if (!model.ok()) return 1;
    kv_bytes = model->plan.memory.kv_bytes;
    engine = std::make_unique<SimEngine>(options, model->plan.max_num_seqs, model->plan.kv_tokens);
    flavor = NewVllmFlavor(*engine, std::move(*model));
  }
  for (const std::string& flag : options.ignored_flags)
    flavor->LogIgnoredFlag(flag);

  asio::io_context io(1);
  net::HttpServer server(
      io, net::HttpServerOptions{},
      [&](net::HttpRequest& req, net::Responder& res) { return flavor->Handle(req, res); },
      [&](net::http::status status, std::string_view message) {
        return flavor->Reject(status, message);
      });
  auto listen = [&]() -> bool {
    if (Status st = server.Listen(BindAddress(host), port); !st.ok()) {
      flavor->LogBindFailure(host, port, st.message());
      return false;
    }
    server.Start();
    return true;
  };

  // 2. llama-server binds before it loads.
  if (flavor->listens_while_loading() && !listen()) return 1;
  flavor->LogLoading();

  // 4 (armed early, so a signal during the load also shuts down cleanly).
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    // Shutdown takes no time here (nothing to unload), so unlike llama-server there is no
    // window in which a second signal could force exit 1.
    flavor->LogShutdown();
    server.Stop();
    io.stop();
  });

  asio::steady_timer exit_timer(io);
  engine->set_crash_hook([&](uint64_t answered) {
    flavor->LogCrash(answered);
    if (options.flavor == SimFlavor::kLlamaCpp) ExitNow(1);
    // vLLM: the engine core is dead at once; the API server notices and exits shortly after,
    // answering /health 503 meanwhile (D-engine-apis.md 2.3, 3.7 "Engine dead").
    engine->set_state(EngineState::kDead);
    exit_timer.expires_after(std::chrono::seconds(1));
    exit_timer.async_wait([](const boost::system::error_code&) { ExitNow(1); });
  });

  // 3. Loading: the load time and the memory hold run side by side; ready when both are done.
  bool timer_done = false;
  bool hold_done = options.hold_memory <= 0;
  std::unique_ptr<MemoryHold> hold;
  Status hold_status;
  const uint64_t hold_bytes =
      static_cast<uint64_t>(options.hold_memory * static_cast<double>(flavor->planned_bytes()));
  auto maybe_ready = [&] {
    if (!timer_done || !hold_done) return;
    if (!hold_status.ok()) {
      std::fputs(fmt::format("cortex sim: --sim-hold-memory: {}\n", hold_status.message()).c_str(),
                 stderr);
      ExitNow(1);
    }
    if (hold) {
      flavor->LogHold(hold->bytes());
      engine->SetHold(std::move(hold),
                      static_cast<uint64_t>(options.hold_memory * static_cast<double>(kv_bytes)));
    }
    if (!flavor->listens_while_loading() && !listen()) ExitNow(1);
    engine->set_state(EngineState::kReady);
    flavor->OnReady();
    flavor->LogReady(host, server.port());
    if (options.crash_after && *options.crash_after == 0) {
      flavor->LogCrash(0);
      ExitNow(1);
    }
    if (options.hang_after && *options.hang_after == 0) engine->set_state(EngineState::kHung);
  };
  std::thread toucher;
  if (!hold_done) {
    toucher = std::thread([&] {
      auto created = MemoryHold::Create(hold_bytes, hold_bytes);
      asio::post(io, [&, created = std::move(created)]() mutable {
        if (created.ok()) {
          hold = std::move(*created);
        } else {
          hold_status = created.status();
        }
        hold_done = true;
        maybe_ready();
      });
    });
  }
  asio::steady_timer load_timer(io);
  load_timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options.load_seconds)));
  load_timer.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    timer_done = true;
    maybe_ready();
  });

  io.run();
  if (toucher.joinable()) toucher.detach();
  ExitNow(0);
}

}  // namespace cortex::sim
