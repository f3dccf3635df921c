#include "cli/plan_report.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

#include "util/bytes.h"

namespace cortex::cli {
namespace {

namespace json = boost::json;

std::string Gib(uint64_t bytes) {
  return fmt::format("{:.2f}", static_cast<double>(bytes) / kGiB);
}

std::string Row(std::string_view name, std::string_view budget, std::string_view weights,
                std::string_view kv, std::string_view compute, std::string_view overhead,
                std::string_view status) {
  return fmt::format("  {:<28} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", name, budget, weights, kv,
                     compute, overhead, status);
}

// "45 s", "3 min 20 s", "19 h 25 min", "2 d 3 h": two units at most, because an estimate this
// rough has no more digits worth reading.
std::string Duration(double seconds) {
  const uint64_t s = static_cast<uint64_t>(std::llround(seconds));
  if (seconds < 1) return fmt::format("{:.1f} s", seconds);
  if (s < 60) return fmt::format("{} s", s);
  auto two = [](uint64_t big, const char* big_unit, uint64_t small, const char* small_unit) {
    return small == 0 ? fmt::format("{} {}", big, big_unit)
                      : fmt::format("{} {} {} {}", big, big_unit, small, small_unit);
  };
  if (s < 3600) return two(s / 60, "min", s % 60, "s");
  const uint64_t minutes = (s + 30) / 60;
  if (minutes < 24 * 60) return two(minutes / 60, "h", minutes % 60, "min");
  const uint64_t hours = (s + 1800) / 3600;
  return two(hours / 24, "d", hours % 24, "h");
}

json::value OptionalNumber(const std::optional<uint64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value OptionalDouble(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

std::string RenderPlanText(const DeploymentPlan& plan, const std::string& config_path) {
  const MachinePlan& m = plan.machine;
  std::string out;
  out += fmt::format("cortex plan: {} (profile {})\n", config_path, plan.profile);
  out +=
      fmt::format("machine: {} unified memory, GPU pool {}, {:g} GB/s at {:.0f}% efficiency",
                  FormatBytes(m.memory_bytes), FormatBytes(m.gpu_pool_bytes),
                  static_cast<double>(m.bandwidth_bytes_per_s) / 1e9, m.bandwidth_efficiency * 100);
  if (m.compute_flops > 0) {
    out += fmt::format(", {:g} TFLOPS ({:.0f}% for matmuls, {:.0f}% for attention)",
                       m.compute_flops / 1e12, m.compute_efficiency * 100,
                       m.attention_efficiency * 100);
  }
  out += "\n\n";

  out += "memory map (GiB)\n";
  out += Row("segment", "budget", "weights", "KV", "compute", "overhead", "");
  for (const EnginePlan& e : plan.engines) {
    const std::string name = fmt::format("{} ({})", e.name, EngineKindName(e.kind));
    if (!e.resident) {
      out += Row(name, "-", "", "", "", "", "paused in this profile");
      continue;
    }
    if (e.external) {
      out += Row(name, "-", "", "", "", "", "runs elsewhere (url), not planned");
      continue;
    }
    if (!e.planned) {
      out += Row(name, Gib(e.budget_bytes), "?", "?", "?", "?", "NOT PLANNED (see findings)");
      continue;
    }
    const uint64_t total = e.memory.total_bytes();
    std::string status =
        e.fits
            ? fmt::format("fits, {} unused", Gib(e.budget_bytes - std::min(total, e.budget_bytes)))
            : (total > e.budget_bytes ? fmt::format("OVER by {}", Gib(total - e.budget_bytes))
                                      : std::string("DOES NOT FIT (see findings)"));
    out += Row(name, Gib(e.budget_bytes), Gib(e.memory.weights_bytes), Gib(e.memory.kv_bytes),
               Gib(e.memory.compute_bytes + e.memory.output_bytes), Gib(e.memory.overhead_bytes),
               status);
  }
  out += Row("reserves (OS + backend)", Gib(m.reserved_bytes), "", "", "", "", "");
  out += Row("free",
             m.free_bytes >= 0 ? Gib(static_cast<uint64_t>(m.free_bytes))
                               : "-" + Gib(static_cast<uint64_t>(-m.free_bytes)),
             "", "", "", "", m.free_bytes >= 0 ? "" : "OVERCOMMITTED");
  out += Row("total", Gib(m.memory_bytes), "", "", "", "", "");

  out += "\nengines\n";
  for (const EnginePlan& e : plan.engines) {
    out += fmt::format("  {} ({}) on {}:{}{}: {}\n", e.name, EngineKindName(e.kind), e.host, e.port,
                       e.port_assigned ? " (port from supervisor.engine_ports)" : "",
                       e.model_name.empty() ? "model not resolved" : e.model_name);
    if (!e.model_provenance.empty()) out += fmt::format("      source: {}\n", e.model_provenance);
    if (!e.planned) continue;
    out += fmt::format(
        "      ctx {} in {} slot(s){}, {} per request; K {} / V {}{}; {} B of KV per token\n",
        FormatCount(e.ctx), e.n_seq, e.kv_unified ? " (unified)" : "",
        FormatCount(e.ctx_per_request), e.cache_type_k, e.cache_type_v,
        e.flash_attn ? (*e.flash_attn ? ", flash attention" : ", no flash attention") : "",
        FormatCount(e.kv_bytes_per_token));
    out += fmt::format(
        "      largest ctx in budget {}; one stream decodes at most {:.1f} tokens/s "
        "at full context\n",
        FormatCount(e.max_ctx_in_budget), e.decode_tokens_per_s_bound);
    if (e.prefill_seconds_at_ctx) {
      out += fmt::format("      fills its {}-token context from empty in about {}\n",
                         FormatCount(e.ctx_per_request), Duration(*e.prefill_seconds_at_ctx));
    }
    std::string flags;
    for (const auto& [k, v] : e.server_flags)
      flags += v.empty() ? fmt::format(" --{}", k) : fmt::format(" --{} {}", k, v);
    out += fmt::format("      engine flags:{}\n", flags);
  }

  out += "\nlanes\n";
  out += fmt::format("  {:<14} {:<20} {:>21} {:>12} {:>10} {:>8}  {}\n", "lane", "engine",
                     "context target", "tokens/s", "bound", "", "fits");
  for (const LanePlan& l : plan.lanes) {
    const std::string ctx =
        l.context ? (l.context == l.context_max
                         ? FormatCount(*l.context)
                         : FormatCount(*l.context) + "–" + FormatCount(*l.context_max))
                  : "-";
    const std::string tps =
        l.tokens_per_s_target
            ? (l.tokens_per_s_target == l.tokens_per_s_target_max
                   ? fmt::format("{:g}", *l.tokens_per_s_target)
                   : fmt::format("{:g}–{:g}", *l.tokens_per_s_target, *l.tokens_per_s_target_max))
            : "-";
    out += fmt::format("  {:<14} {:<20} {:>21} {:>12} {:>10.1f} {:>8}  {}\n", l.name, l.engine, ctx,
                       tps, l.decode_tokens_per_s_bound, "",
                       !l.available ? "unavailable" : (l.fits ? "yes" : "NO"));
  }

  bool any_prefill = false;
  for (const LanePlan& l : plan.lanes)
    any_prefill |= l.prefill_seconds_target.has_value();
  if (any_prefill) {
    out += "\nprefill (prompt reading from an empty context, estimated from compute)\n";
    for (const LanePlan& l : plan.lanes) {
      if (!l.prefill_seconds_target) continue;
      const auto it = std::find_if(plan.engines.begin(), plan.engines.end(),
                                   [&](const EnginePlan& e) { return e.name == l.engine; });
      const uint64_t tokens =
          l.context.value_or(it != plan.engines.end() ? it->ctx_per_request : 0);
      out += fmt::format("  {:<14} fills its {}-token context in about {}\n", l.name,
                         FormatCount(tokens), Duration(*l.prefill_seconds_target));
    }
  }

  out += "\nfindings\n";
  for (const Finding& f : plan.findings) {
    std::string who = f.lane.empty() ? f.engine : f.lane + " (" + f.engine + ")";
    out += fmt::format("  {:<7} {}{}{}\n", SeverityName(f.severity), who, who.empty() ? "" : ": ",
                       f.message);
  }
  out += fmt::format("\n{}\n", plan.fits ? "the plan fits" : "the plan does NOT fit");
  return out;
}

json::value PlanToJson(const DeploymentPlan& plan) {
  json::object root;
  root["fits"] = plan.fits;
  root["profile"] = plan.profile;
  const MachinePlan& m = plan.machine;
  root["machine"] = json::object{
      {"memory_bytes", m.memory_bytes},
      {"gpu_pool_bytes", m.gpu_pool_bytes},
      {"reserved_bytes", m.reserved_bytes},
      {"free_bytes", m.free_bytes},
      {"budgets_bytes", m.budgets_bytes},
      {"used_bytes", m.used_bytes},
      {"device_bytes", m.device_bytes},
      {"bandwidth_bytes_per_s", m.bandwidth_bytes_per_s},
      {"bandwidth_efficiency", m.bandwidth_efficiency},
      {"compute_flops", m.compute_flops},
      {"compute_efficiency", m.compute_efficiency},
      {"attention_efficiency", m.attention_efficiency},
  };
  json::array engines;
  for (const EnginePlan& e : plan.engines) {
    json::object o;
    o["name"] = e.name;
    o["engine"] = std::string(EngineKindName(e.kind));
    o["host"] = e.host;
    o["port"] = e.port;
    o["port_assigned"] = e.port_assigned;
    o["model"] = e.model_name;
    o["model_source"] = e.model_provenance;
    o["weights_exact"] = e.weights_exact;
    o["budget_bytes"] = e.budget_bytes;
    o["resident"] = e.resident;
    o["planned"] = e.planned;
    o["external"] = e.external;
    o["fits"] = e.fits;
    o["ctx"] = e.ctx;
    o["ctx_per_request"] = e.ctx_per_request;
    o["n_seq"] = e.n_seq;
    o["kv_unified"] = e.kv_unified;
    o["cache_type_k"] = e.cache_type_k;
    o["cache_type_v"] = e.cache_type_v;
    o["flash_attn"] = e.flash_attn ? json::value(*e.flash_attn) : json::value(nullptr);
    o["memory"] = json::object{
        {"weights_bytes", e.memory.weights_bytes},   {"kv_bytes", e.memory.kv_bytes},
        {"compute_bytes", e.memory.compute_bytes},   {"output_bytes", e.memory.output_bytes},
        {"overhead_bytes", e.memory.overhead_bytes}, {"total_bytes", e.memory.total_bytes()},
        {"device_bytes", e.memory.device_bytes},
    };
    o["max_ctx_in_budget"] = e.max_ctx_in_budget;
    o["max_ctx_per_request_in_budget"] = e.max_ctx_per_request_in_budget;
    o["kv_bytes_per_token"] = e.kv_bytes_per_token;
    o["active_weight_bytes_per_token"] = e.active_weight_bytes;
    o["decode_tokens_per_s_bound"] = e.decode_tokens_per_s_bound;
    o["prefill_seconds_at_ctx"] = OptionalDouble(e.prefill_seconds_at_ctx);
    json::array fits;
    for (const CacheTypeFit& f : e.cache_type_fits) {
      fits.push_back(json::object{{"cache_type_k", f.cache_type_k},
                                  {"cache_type_v", f.cache_type_v},
                                  {"kv_bytes_per_token", f.kv_bytes_per_token},
                                  {"max_ctx_in_budget", f.max_ctx},
                                  {"max_ctx_per_request_in_budget", f.max_ctx_per_request}});
    }
    o["max_ctx_by_cache_type"] = std::move(fits);
    json::object flags;
    for (const auto& [k, v] : e.server_flags)
      flags[k] = v;
    o["engine_flags"] = std::move(flags);
    engines.push_back(std::move(o));
  }
  root["engines"] = std::move(engines);
  json::array lanes;
  for (const LanePlan& l : plan.lanes) {
    lanes.push_back(json::object{
        {"name", l.name},
        {"engine", l.engine},
        {"available", l.available},
        {"context", OptionalNumber(l.context)},
        {"context_max", OptionalNumber(l.context_max)},
        {"fits", l.fits},
        {"tokens_per_s_target", OptionalDouble(l.tokens_per_s_target)},
        {"tokens_per_s_target_max", OptionalDouble(l.tokens_per_s_target_max)},
        {"decode_tokens_per_s_bound", l.decode_tokens_per_s_bound},
        {"prefill_seconds_target", OptionalDouble(l.prefill_seconds_target)},
    });
  }
  root["lanes"] = std::move(lanes);
  json::array findings;
  for (const Finding& f : plan.findings) {
    json::object o;
    o["severity"] = std::string(SeverityName(f.severity));
    if (!f.engine.empty()) o["engine"] = f.engine;
    if (!f.lane.empty()) o["lane"] = f.lane;
    o["message"] = f.message;
    findings.push_back(std::move(o));
  }
  root["findings"] = std::move(findings);
  return root;
}

}  // namespace cortex::cli
