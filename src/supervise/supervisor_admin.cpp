// The supervisor's admin API and its views: /admin/status, /admin/burst, /admin/ledger,
// /admin/engines/{name}/{start|stop|restart|logs}, and its part of /metrics.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "supervise/supervisor.h"
#include "supervise/supervisor_impl.h"

namespace cortex::supervise {
namespace {

namespace json = boost::json;
namespace http = net::http;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

net::HttpResponse Json(http::status status, const json::value& body) {
  net::HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::cache_control, "no-store");
  r.body() = json::serialize(body);
  r.prepare_payload();
  return r;
}

net::HttpResponse Error(http::status status, std::string message, std::string type,
                        std::string code) {
  return Json(status, json::object{{"error", json::object{{"message", std::move(message)},
                                                          {"type", std::move(type)},
                                                          {"param", nullptr},
                                                          {"code", std::move(code)}}}});
}

std::string QueryValue(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? "1" : std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::string Supervisor::Impl::BurstEngineFor(const std::string& named) const {
  if (!named.empty()) return named;
  if (!scheduler->burst_engine().empty()) return scheduler->burst_engine();
  for (const std::string& name : order) {
    for (const EngineProfile& p : engines.at(name).config->profiles) {
      if (!p.pauses.empty()) return name;
    }
  }
  return {};
}

Status Supervisor::Impl::HoldBurst(const std::string& engine, const std::string& holder) {
  auto effects = scheduler->SetBurst(true, engine, Now(), holder);
  if (!effects.ok()) return effects.status();
  burst_holders.insert(holder);
  Apply(std::move(*effects));
  WakeAllWaiters();  // requests parked on a paused engine look again at once
  return Status::Ok();
}

Status Supervisor::Impl::ReleaseBurst(const std::string& engine, const std::string& holder,
                                      bool force) {
  if (force) {
    burst_holders.clear();
  } else {
    burst_holders.erase(holder);
    if (!burst_holders.empty()) return Status::Ok();  // still needed by someone else
  }
  auto effects = scheduler->SetBurst(false, engine, Now(), force ? "operator" : holder);
  if (!effects.ok()) return effects.status();
  Apply(std::move(*effects));
  WakeAllWaiters();
  return Status::Ok();
}

std::optional<uint64_t> Supervisor::BurstContext(const std::string& engine) const {
  const ManagedEngine* m = impl_->Find(engine);
  if (m == nullptr) return std::nullopt;
  for (const EngineProfile& p : m->config->profiles) {
    if (p.pauses.empty()) continue;
    if (auto it = m->plans.find(p.name); it != m->plans.end() && it->second.ctx_per_request > 0) {
      return it->second.ctx_per_request;
    }
  }
  return std::nullopt;
}

Status Supervisor::HoldBurst(const std::string& engine, const std::string& holder) {
  return impl_->HoldBurst(engine, holder);
}

void Supervisor::ReleaseBurst(const std::string& engine, const std::string& holder) {
  // Best effort: a burst an operator already turned off has nothing left to release.
  (void)impl_->ReleaseBurst(engine, holder, false);
}

bool Supervisor::BurstReady(const std::string& engine) const {
  const sched::ResidencyScheduler& s = *impl_->scheduler;
  return s.burst_engine() == engine && s.burst_settled() &&
         s.state(engine) == sched::EngineState::kReady;
}

json::object Supervisor::StatusJson() const {
  return impl_->StatusJson();
}

json::array Supervisor::Impl::LedgerEventsJson(size_t last) const {
  const auto& all = scheduler->ledger().events();
  json::array events;
  const size_t from = all.size() > last ? all.size() - last : 0;
  for (size_t i = from; i < all.size(); ++i) {
    const sched::LedgerEvent& e = all[i];
    events.push_back(json::object{{"seq", e.seq},
                                  {"kind", std::string(sched::LedgerEventKindName(e.kind))},
                                  {"engine", e.engine},
                                  {"profile", e.profile},
                                  {"bytes", e.bytes},
                                  {"committed_after", e.committed_after},
                                  {"reason", e.reason}});
  }
  return events;
}

json::object Supervisor::Snapshot() const {
  json::object s = impl_->StatusJson();
  s["ledger_events"] = impl_->LedgerEventsJson(20);
  return s;
}

void Supervisor::SetChangeListener(std::function<void()> listener) {
  impl_->change_listener = std::move(listener);
}

json::object Supervisor::Impl::StatusJson() const {
  const Impl& impl = *this;
  const sched::ResidencyScheduler& s = *impl.scheduler;
  json::array engines;
  for (const std::string& name : impl.order) {
    const ManagedEngine& m = impl.engines.at(name);
    json::object o;
    o["name"] = name;
    sched::EngineState state = s.state(name);
    o["state"] = std::string(sched::EngineStateName(state));
    o["paused"] = s.paused(name);
    o["pid"] = m.child && m.child->running() ? json::value(m.child->pid()) : json::value(nullptr);
    o["profile"] = s.profile(name);
    o["port"] = m.config->port;
    o["port_assigned"] = m.config->port_assigned;  // from supervisor.engine_ports, not the file
    json::array argv;
    for (const std::string& a : m.launch.argv)
      argv.push_back(json::value(a));
    o["flags"] = std::move(argv);
    auto plan = m.plans.find(s.profile(name));
    const EnginePlan& planned = plan != m.plans.end() ? plan->second : m.plans.at("normal");
    o["planned_bytes"] = planned.memory.total_bytes();
    // The parts `cortex plan --svg` draws, so a dashboard can draw the same map live.
    o["plan"] =
        json::object{{"weights_bytes", planned.memory.weights_bytes},
                     {"kv_bytes", planned.memory.kv_bytes},
                     {"compute_bytes", planned.memory.compute_bytes + planned.memory.output_bytes},
                     {"overhead_bytes", planned.memory.overhead_bytes},
                     {"budget_bytes", planned.budget_bytes},
                     {"ctx_per_request", planned.ctx_per_request}};
    if (m.container) {
      json::object c{{"id", m.container->id}, {"pid", m.container->pid}};
      c["cgroup"] = m.container->cgroup_dir ? json::value(*m.container->cgroup_dir) : nullptr;
      c["memory_max_bytes"] = m.container->cgroup_max_bytes
                                  ? json::value(*m.container->cgroup_max_bytes)
                                  : json::value(nullptr);
      o["container"] = std::move(c);
    } else {
      o["container"] = nullptr;
    }
    o["started_at_ms"] = m.child && m.child->running() && m.started_unix_ms
                             ? json::value(*m.started_unix_ms)
                             : json::value(nullptr);
    const auto held = s.ledger().Held(name);
    o["ledger_bytes"] = held ? json::value(*held) : json::value(0);
    o["actual_bytes"] = m.actual_bytes ? json::value(*m.actual_bytes) : json::value(nullptr);
    o["expected_bytes"] = m.expected_bytes ? json::value(*m.expected_bytes) : json::value(nullptr);
    o["memory_warning"] = m.drift.empty() ? json::value(nullptr) : json::value(m.drift);
    o["restarts"] = m.restarts;
    o["in_flight"] = s.in_flight(name);
    o["waiting"] = s.waiting(name);
    o["failure"] = m.failure.empty() ? json::value(nullptr) : json::value(m.failure);
    o["log"] = m.log->path();
    engines.push_back(std::move(o));
  }
  json::array lanes;
  for (const LaneConfig& l : impl.config.lanes) {
    json::object o;
    o["name"] = l.name;
    o["engine"] = l.engine;
    const bool managed = impl.Find(l.engine) != nullptr;
    std::string state = "external";
    if (managed) {
      const sched::EngineState es = s.state(l.engine);
      state = s.paused(l.engine)                  ? "paused"
              : es == sched::EngineState::kReady  ? "up"
              : es == sched::EngineState::kFailed ? "down"
                                                  : std::string(sched::EngineStateName(es));
    }
    o["state"] = state;
    o["queue_depth"] = managed ? s.waiting(l.engine) : 0;
    o["in_flight"] = managed ? s.in_flight(l.engine) : 0;
    lanes.push_back(std::move(o));
  }
  json::object root;
  root["engines"] = std::move(engines);
  root["lanes"] = std::move(lanes);
  root["ledger"] = json::object{{"pool_bytes", s.ledger().pool_bytes()},
                                {"committed_bytes", s.ledger().committed_bytes()}};
  // Plan vs actual for the whole machine: what the plan assumed, and what the kernel says.
  json::object machine = monitor::MachineMemoryJson(impl.machine);
  machine["planned"] =
      json::object{{"memory_bytes", impl.config.machine.memory_bytes},
                   {"gpu_pool_bytes", impl.config.machine.gpu_pool_bytes},
                   {"reserve_os_bytes", impl.config.machine.reserve_os_bytes},
                   {"reserve_backend_bytes", impl.config.machine.reserve_backend_bytes}};
  root["machine"] = std::move(machine);
  root["burst"] = json::object{
      {"active", s.burst_active()},
      {"engine", s.burst_active() ? json::value(s.burst_engine()) : json::value(nullptr)},
      {"settled", s.burst_settled()},
      {"held_by", json::array(impl.burst_holders.begin(), impl.burst_holders.end())}};
  root["swaps"] = s.swaps();
  return root;
}

std::string Supervisor::MetricsText() const {
  const Impl& impl = *impl_;
  const sched::ResidencyScheduler& s = *impl.scheduler;
  std::string out;
  out += "# HELP cortex_engine_up Whether the engine is ready for requests (1) or not (0).\n";
  out += "# TYPE cortex_engine_up gauge\n";
  for (const std::string& name : impl.order) {
    out += fmt::format("cortex_engine_up{{engine=\"{}\"}} {}\n", name,
                       s.state(name) == sched::EngineState::kReady ? 1 : 0);
  }
  out += "# HELP cortex_engine_restarts_total Restarts after a crash.\n";
  out += "# TYPE cortex_engine_restarts_total counter\n";
  for (const std::string& name : impl.order) {
    out += fmt::format("cortex_engine_restarts_total{{engine=\"{}\"}} {}\n", name,
                       impl.engines.at(name).restarts);
  }
  out +=
      "# HELP cortex_engine_memory_bytes Memory per engine: planned (the ledger) and actual "
      "(RSS plus GPU buffers of its process group).\n";
  out += "# TYPE cortex_engine_memory_bytes gauge\n";
  for (const std::string& name : impl.order) {
    const ManagedEngine& m = impl.engines.at(name);
    out += fmt::format("cortex_engine_memory_bytes{{engine=\"{}\",kind=\"planned\"}} {}\n", name,
                       s.ledger().Held(name).value_or(0));
    if (m.actual_bytes) {
      out += fmt::format("cortex_engine_memory_bytes{{engine=\"{}\",kind=\"actual\"}} {}\n", name,
                         *m.actual_bytes);
    }
  }
  const monitor::MachineMemory& mm = impl.machine;
  if (mm.meminfo) {
    out += "# HELP cortex_machine_memory_bytes The machine's memory from /proc/meminfo.\n";
    out += "# TYPE cortex_machine_memory_bytes gauge\n";
    out +=
        fmt::format("cortex_machine_memory_bytes{{kind=\"total\"}} {}\n", mm.meminfo->total_bytes);
    out += fmt::format("cortex_machine_memory_bytes{{kind=\"available\"}} {}\n",
                       mm.meminfo->available_bytes);
  }
  if (mm.amdgpu) {
    out += "# HELP cortex_gpu_memory_bytes amdgpu's VRAM (the carve-out on an APU) and GTT.\n";
    out += "# TYPE cortex_gpu_memory_bytes gauge\n";
    const std::pair<const char*, uint64_t> kinds[] = {{"vram_total", mm.amdgpu->vram_total_bytes},
                                                      {"vram_used", mm.amdgpu->vram_used_bytes},
                                                      {"gtt_total", mm.amdgpu->gtt_total_bytes},
                                                      {"gtt_used", mm.amdgpu->gtt_used_bytes}};
    for (const auto& [kind, bytes] : kinds) {
      out += fmt::format("cortex_gpu_memory_bytes{{card=\"{}\",kind=\"{}\"}} {}\n", mm.amdgpu->card,
                         kind, bytes);
    }
    if (mm.amdgpu->busy_percent) {
      out += "# HELP cortex_gpu_busy_percent amdgpu's gpu_busy_percent.\n";
      out += "# TYPE cortex_gpu_busy_percent gauge\n";
      out += fmt::format("cortex_gpu_busy_percent{{card=\"{}\"}} {}\n", mm.amdgpu->card,
                         *mm.amdgpu->busy_percent);
    }
  }
  if (mm.page_limit && mm.page_limit->ttm_bytes) {
    out += "# HELP cortex_gpu_page_limit_bytes The TTM limit on memory the GPU can map.\n";
    out += "# TYPE cortex_gpu_page_limit_bytes gauge\n";
    out += fmt::format("cortex_gpu_page_limit_bytes {}\n", *mm.page_limit->ttm_bytes);
  }
  out +=
      "# HELP cortex_engine_memory_drift Whether actual memory is off the plan by more than "
      "the configured margin.\n";
  out += "# TYPE cortex_engine_memory_drift gauge\n";
  for (const std::string& name : impl.order) {
    out += fmt::format("cortex_engine_memory_drift{{engine=\"{}\"}} {}\n", name,
                       impl.engines.at(name).drift.empty() ? 0 : 1);
  }
  out += "# HELP cortex_ledger_bytes The memory ledger: pool and committed bytes.\n";
  out += "# TYPE cortex_ledger_bytes gauge\n";
  out += fmt::format("cortex_ledger_bytes{{kind=\"pool\"}} {}\n", s.ledger().pool_bytes());
  out +=
      fmt::format("cortex_ledger_bytes{{kind=\"committed\"}} {}\n", s.ledger().committed_bytes());
  out += "# HELP cortex_swaps_total Engines evicted to load another on demand.\n";
  out += "# TYPE cortex_swaps_total counter\n";
  out += fmt::format("cortex_swaps_total {}\n", s.swaps());
  out += "# HELP cortex_burst_active Whether a burst profile is on.\n";
  out += "# TYPE cortex_burst_active gauge\n";
  out += fmt::format("cortex_burst_active {}\n", s.burst_active() ? 1 : 0);
  return out;
}

asio::awaitable<void> Supervisor::HandleAdmin(net::HttpRequest& req, net::Responder& res) {
  auto impl = impl_;
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;

  if (get && path == "/admin/status") {
    {
      net::HttpResponse reply_ = Json(http::status::ok, StatusJson());
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (get && path == "/admin/ledger") {
    json::array events = impl->LedgerEventsJson(SIZE_MAX);
    {
      net::HttpResponse reply_ =
          Json(http::status::ok,
               json::object{{"pool_bytes", impl->scheduler->ledger().pool_bytes()},
                            {"committed_bytes", impl->scheduler->ledger().committed_bytes()},
                            {"events", std::move(events)}});
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  if (post && path == "/admin/burst") {
    json::error_code ec;
    const json::value body = json::parse(req.body().empty() ? "{}" : req.body(), ec);
    const json::object* o = !ec && body.is_object() ? &body.as_object() : nullptr;
    const json::value* on = o ? o->if_contains("on") : nullptr;
    if (o == nullptr || on == nullptr || !on->is_bool()) {
      {
        net::HttpResponse reply_ = Error(
            http::status::bad_request,
            R"(expected {"on": true|false, "engine": NAME, "reason": TEXT} (engine and reason optional))",
            "invalid_request_error", "invalid_burst");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    std::string engine;
    if (const json::value* e = o->if_contains("engine"); e && e->is_string()) {
      engine = std::string(e->as_string());
    }
    std::string reason;
    if (const json::value* r = o->if_contains("reason"); r && r->is_string()) {
      reason = std::string(r->as_string());
    }
    engine = impl->BurstEngineFor(engine);
    const Status done = on->as_bool()
                            ? impl->HoldBurst(engine, reason.empty() ? "operator" : reason)
                            : impl->ReleaseBurst(engine, reason, reason.empty());
    if (!done.ok()) {
      {
        net::HttpResponse reply_ =
            Error(http::status::conflict, done.message(), "invalid_request_error", "burst_refused");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    if (!QueryValue(target, "wait").empty() && QueryValue(target, "wait") != "0") {
      const auto deadline = Clock::now() + Millis(impl->config.supervisor.ready_timeout_s +
                                                  impl->config.supervisor.drain_timeout_s +
                                                  impl->config.supervisor.stop_timeout_s);
      while (!impl->scheduler->burst_settled() && Clock::now() < deadline && !res.client_gone()) {
        co_await res.Sleep(std::chrono::milliseconds(20));
      }
      if (res.client_gone()) co_return;
    }
    {
      net::HttpResponse reply_ = Json(http::status::ok, StatusJson());
      co_await res.Send(std::move(reply_));
    }
    co_return;
  }
  // /admin/engines/{name}/{action}
  if (path.rfind("/admin/engines/", 0) == 0) {
    const std::string rest = path.substr(15);
    const size_t slash = rest.find('/');
    const std::string name = rest.substr(0, slash);
    const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    ManagedEngine* m = impl->Find(name);
    if (m == nullptr) {
      {
        net::HttpResponse reply_ = Error(
            http::status::not_found, fmt::format("no engine named \"{}\" is managed here", name),
            "not_found_error", "engine_not_found");
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
    if (get && action == "logs") {
      size_t lines = 100;
      const std::string n = QueryValue(target, "lines");
      std::from_chars(n.data(), n.data() + n.size(), lines);
      net::HttpResponse r{http::status::ok, 11};
      r.set(http::field::content_type, "text/plain; charset=utf-8");
      r.body() = m->log->Tail(std::min<size_t>(lines, 200));
      r.prepare_payload();
      co_await res.Send(std::move(r));
      co_return;
    }
    if (post && (action == "start" || action == "stop" || action == "restart")) {
      StatusOr<std::vector<sched::Effect>> effects =
          action == "start" ? impl->scheduler->AdminStart(name, impl->Now())
                            : impl->scheduler->AdminStop(name, impl->Now());
      if (!effects.ok()) {
        {
          net::HttpResponse reply_ =
              Error(http::status::conflict, effects.status().message(), "invalid_request_error",
                    "engine_" + action + "_refused");
          co_await res.Send(std::move(reply_));
        }
        co_return;
      }
      // A restart of an engine with nothing to stop (stopped, failed, between crash and
      // restart) is a start now; otherwise it starts again once its stop has completed.
      const bool stops = std::any_of(effects->begin(), effects->end(), [&](const sched::Effect& e) {
        return e.kind == sched::Effect::Kind::kStop && e.engine == name;
      });
      if (action == "restart") m->restart_after_stop = true;
      impl->Apply(std::move(*effects));
      if (action == "restart" && !stops) impl->RestartIfAsked(name);
      impl->WakeAllWaiters();
      {
        net::HttpResponse reply_ = Json(http::status::ok, StatusJson());
        co_await res.Send(std::move(reply_));
      }
      co_return;
    }
  }
  {
    net::HttpResponse reply_ =
        Error(http::status::not_found,
              fmt::format("no admin route {} {}", std::string(req.method_string()), path),
              "not_found_error", "route_not_found");
    co_await res.Send(std::move(reply_));
  }
}

}  // namespace cortex::supervise
