#include "cli/status_table.h"

#include <fmt/format.h>

#include <algorithm>

namespace cortex::cli {
namespace {

namespace json = boost::json;

std::string GiB(const json::value& v) {
  if (!v.is_number()) return "-";
  return fmt::format("{:.2f}", v.to_number<double>() / (1ull << 30));
}

std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "-";
  return json::serialize(v);
}

// "5800", or "5800 auto" when cortex chose it (the engine's config gives no port).
std::string PortText(const json::object& engine) {
  const json::value* port = engine.if_contains("port");
  if (port == nullptr || !port->is_number()) return "-";
  const json::value* assigned = engine.if_contains("port_assigned");
  const bool automatic = assigned != nullptr && assigned->is_bool() && assigned->as_bool();
  return Text(*port) + (automatic ? " auto" : "");
}

}  // namespace

std::string StatusTable(const json::object& s) {
  std::string out =
      fmt::format("{:<22} {:<9} {:<9} {:<8} {:>8} {:>10} {:>10} {:>9} {}\n", "engine", "state",
                  "port", "profile", "pid", "plan GiB", "actual GiB", "restarts", "note");
  for (const json::value& v : s.at("engines").as_array()) {
    const json::object& e = v.as_object();
    std::string note;
    if (e.at("paused").as_bool()) note = "paused for the burst";
    if (!e.at("memory_warning").is_null()) note = Text(e.at("memory_warning"));
    if (!e.at("failure").is_null()) {
      const std::string failure = Text(e.at("failure"));
      note = failure.substr(0, std::min<size_t>(failure.find('\n'), 100));
    }
    out += fmt::format("{:<22} {:<9} {:<9} {:<8} {:>8} {:>10} {:>10} {:>9} {}\n",
                       Text(e.at("name")), Text(e.at("state")), PortText(e), Text(e.at("profile")),
                       Text(e.at("pid")), GiB(e.at("ledger_bytes")), GiB(e.at("actual_bytes")),
                       Text(e.at("restarts")), note);
  }
  // An /admin/events snapshot also has the gateway's counts per lane.
  const json::array& lanes = s.at("lanes").as_array();
  const bool counts = !lanes.empty() && lanes.front().as_object().contains("requests");
  out += fmt::format("\n{:<16} {:<22} {:<9} {:>6} {:>9}", "lane", "engine", "state", "queue",
                     "in flight");
  out += counts
             ? fmt::format(" {:>8} {:>6} {:>8} {:>8}\n", "requests", "errors", "TTFT ms", "tok/s")
             : "\n";
  for (const json::value& v : lanes) {
    const json::object& l = v.as_object();
    out += fmt::format("{:<16} {:<22} {:<9} {:>6} {:>9}", Text(l.at("name")), Text(l.at("engine")),
                       Text(l.at("state")), Text(l.at("queue_depth")), Text(l.at("in_flight")));
    if (!counts) {
      out += "\n";
      continue;
    }
    const double ttft_n = l.at("ttft_count").to_number<double>();
    const json::value& tps = l.at("tokens_per_second");
    out += fmt::format(
        " {:>8} {:>6} {:>8} {:>8}\n", l.at("requests").to_number<double>(),
        l.at("errors").to_number<double>(),
        ttft_n > 0 ? fmt::format("{:.0f}", 1000 * l.at("ttft_sum_s").to_number<double>() / ttft_n)
                   : "-",
        tps.is_number() ? fmt::format("{:.1f}", tps.to_number<double>()) : "-");
  }
  const json::object& ledger = s.at("ledger").as_object();
  const json::object& burst = s.at("burst").as_object();
  const bool burst_on = burst.at("active").as_bool();
  out += fmt::format("\nledger: {} of {} GiB committed; burst: {}{}; swaps: {}\n",
                     GiB(ledger.at("committed_bytes")), GiB(ledger.at("pool_bytes")),
                     burst_on ? "on for " : "off", burst_on ? Text(burst.at("engine")) : "",
                     Text(s.at("swaps")));
  // The machine as the kernel sees it, beside the plan (absent from an older cortex up).
  if (const json::value* m = s.if_contains("machine"); m != nullptr && m->is_object()) {
    const json::object& mo = m->as_object();
    const json::object& mem = mo.at("meminfo").as_object();
    const json::object& planned = mo.at("planned").as_object();
    if (mem.at("present").as_bool()) {
      out += fmt::format(
          "machine: {} of {} GiB in use ({} available); plan: {} GiB, {} GiB GPU "
          "pool\n",
          GiB(mem.at("used_bytes")), GiB(mem.at("total_bytes")), GiB(mem.at("available_bytes")),
          GiB(planned.at("memory_bytes")), GiB(planned.at("gpu_pool_bytes")));
    }
    const json::object& gpu = mo.at("amdgpu").as_object();
    if (gpu.at("present").as_bool()) {
      out += fmt::format("gpu {}: GTT {} of {} GiB, VRAM {} of {} GiB, busy {}%\n",
                         Text(gpu.at("card")), GiB(gpu.at("gtt_used_bytes")),
                         GiB(gpu.at("gtt_total_bytes")), GiB(gpu.at("vram_used_bytes")),
                         GiB(gpu.at("vram_total_bytes")), Text(gpu.at("busy_percent")));
    } else {
      out += "gpu: no amdgpu device found (memory above is host memory only)\n";
    }
  }
  return out;
}

std::string MemoryBar(const json::object& s, size_t width) {
  const json::value* ledger = s.if_contains("ledger");
  if (ledger == nullptr || !ledger->is_object() || width < 10) return {};
  const double pool = ledger->at("pool_bytes").to_number<double>();
  double reserves = 0;
  if (const json::value* m = s.if_contains("machine"); m != nullptr && m->is_object()) {
    if (const json::value* p = m->as_object().if_contains("planned"); p && p->is_object()) {
      reserves = p->at("reserve_os_bytes").to_number<double>() +
                 p->at("reserve_backend_bytes").to_number<double>();
    }
  }
  const double whole = pool + reserves;
  if (whole <= 0) return {};
  std::string bar, legend;
  double used = 0;  // bytes drawn so far; cells are rounded from the running sum so they add up
  auto draw = [&](double bytes, char c) {
    const size_t from = static_cast<size_t>(used / whole * static_cast<double>(width) + 0.5);
    used += bytes;
    const size_t to = static_cast<size_t>(used / whole * static_cast<double>(width) + 0.5);
    bar.append(std::min(to, width) - std::min(from, width), c);
  };
  if (reserves > 0) {
    draw(reserves, '#');
    legend += fmt::format("# reserves {} GiB", GiB(json::value(reserves)));
  }
  char letter = 'a';
  for (const json::value& v : s.at("engines").as_array()) {
    const json::object& e = v.as_object();
    const double held = e.at("ledger_bytes").to_number<double>();
    if (held <= 0) continue;
    draw(held, letter);
    legend += fmt::format("{}{} {} {} GiB", legend.empty() ? "" : "  ", letter, Text(e.at("name")),
                          GiB(e.at("ledger_bytes")));
    letter = letter == 'z' ? 'a' : static_cast<char>(letter + 1);
  }
  bar.append(width - std::min(bar.size(), width), '.');
  const double free = pool - ledger->at("committed_bytes").to_number<double>();
  legend += fmt::format("  . free {} of {} GiB", GiB(json::value(std::max(0.0, free))),
                        GiB(ledger->at("pool_bytes")));
  return fmt::format("memory [{}]\n       {}\n", bar, legend);
}

std::string JobsTable(const json::object& s) {
  const json::value* ingest = s.if_contains("ingest");
  if (ingest == nullptr || !ingest->is_object()) return {};
  const json::value* jobs = ingest->as_object().if_contains("jobs");
  if (jobs == nullptr || !jobs->is_array() || jobs->as_array().empty()) return {};
  std::string out =
      fmt::format("\n{:<30} {:<18} {:<14} {}\n", "ingest job", "status", "lane", "progress");
  for (const json::value& v : jobs->as_array()) {
    const json::object& j = v.as_object();
    std::string progress;
    if (const json::value* p = j.if_contains("progress"); p != nullptr && p->is_object()) {
      const json::object& po = p->as_object();
      const double total = po.at("total").to_number<double>();
      progress = Text(po.at("stage"));
      if (total > 0) {
        progress +=
            fmt::format(" {}/{} {} ({:.0f}%)", Text(po.at("done")), Text(po.at("total")),
                        Text(po.at("unit")), 100.0 * po.at("done").to_number<double>() / total);
      }
      if (const json::value* eta = po.if_contains("eta_s"); eta && eta->is_number()) {
        progress += fmt::format(", ~{} s left", Text(*eta));
      }
    }
    out += fmt::format("{:<30} {:<18} {:<14} {}\n", Text(j.at("id")), Text(j.at("status")),
                       Text(j.at("lane")), progress);
  }
  return out;
}

std::string LedgerEventsTable(const json::object& s, size_t count) {
  const json::value* events = s.if_contains("ledger_events");
  if (events == nullptr || !events->is_array() || events->as_array().empty()) return {};
  const json::array& all = events->as_array();
  std::string out = fmt::format("\n{:>5} {:<8} {:<22} {:<8} {:>9} {:>10} {}\n", "seq", "ledger",
                                "engine", "profile", "GiB", "after GiB", "reason");
  for (size_t i = all.size() > count ? all.size() - count : 0; i < all.size(); ++i) {
    const json::object& e = all[i].as_object();
    out += fmt::format("{:>5} {:<8} {:<22} {:<8} {:>9} {:>10} {}\n", Text(e.at("seq")),
                       Text(e.at("kind")), Text(e.at("engine")), Text(e.at("profile")),
                       GiB(e.at("bytes")), GiB(e.at("committed_after")), Text(e.at("reason")));
  }
  return out;
}

}  // namespace cortex::cli
