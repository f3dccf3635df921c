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

}  // namespace

std::string StatusTable(const json::object& s) {
  std::string out =
      fmt::format("{:<22} {:<9} {:<8} {:>8} {:>10} {:>10} {:>9} {}\n", "engine", "state", "profile",
                  "pid", "plan GiB", "actual GiB", "restarts", "note");
  for (const json::value& v : s.at("engines").as_array()) {
    const json::object& e = v.as_object();
    std::string note;
    if (e.at("paused").as_bool()) note = "paused for the burst";
    if (!e.at("memory_warning").is_null()) note = Text(e.at("memory_warning"));
    if (!e.at("failure").is_null()) {
      const std::string failure = Text(e.at("failure"));
      note = failure.substr(0, std::min<size_t>(failure.find('\n'), 100));
    }
    out += fmt::format("{:<22} {:<9} {:<8} {:>8} {:>10} {:>10} {:>9} {}\n", Text(e.at("name")),
                       Text(e.at("state")), Text(e.at("profile")), Text(e.at("pid")),
                       GiB(e.at("ledger_bytes")), GiB(e.at("actual_bytes")), Text(e.at("restarts")),
                       note);
  }
  out += fmt::format("\n{:<16} {:<22} {:<9} {:>6} {:>9}\n", "lane", "engine", "state", "queue",
                     "in flight");
  for (const json::value& v : s.at("lanes").as_array()) {
    const json::object& l = v.as_object();
    out +=
        fmt::format("{:<16} {:<22} {:<9} {:>6} {:>9}\n", Text(l.at("name")), Text(l.at("engine")),
                    Text(l.at("state")), Text(l.at("queue_depth")), Text(l.at("in_flight")));
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
