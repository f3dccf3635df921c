#include "deploy/deployment_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <set>

#include "config/config_loader.h"
#include "deploy/engine_settings.h"
#include "plan/decode_bound.h"
#include "plan/llama_cpp_plan.h"
#include "plan/prefill_estimate.h"
#include "plan/vllm_plan.h"
#include "util/bytes.h"
#include "util/checked_math.h"

namespace cortex {
namespace {

std::string Tps(double v) {
  return fmt::format("{:.1f}", v);
}

std::string RangeText(double lo, double hi, bool tokens) {
  auto one = [&](double v) {
    return tokens ? FormatCount(static_cast<uint64_t>(v)) : fmt::format("{:g}", v);
  };
  return lo == hi ? one(lo) : one(lo) + "–" + one(hi);
}

// Engines planned as llama.cpp: llama.cpp itself, and the simulator unless it imitates vLLM.
bool PlansAsLlamaCpp(const EngineConfig& e) {
  if (e.kind == EngineKind::kLlamaCpp) return true;
  if (e.kind == EngineKind::kVllm) return false;
  const FlagValue* flavor = FindFlag(e.flags, "flavor");
  return flavor == nullptr || flavor->text != "vllm";
}

struct Context {
  const Config& config;
  DeploymentPlan& out;
  void Add(Severity s, std::string engine, std::string lane, std::string message) {
    out.findings.push_back({s, std::move(engine), std::move(lane), std::move(message)});
  }
};

void AddNotes(Context& ctx, const std::string& engine, const std::vector<Note>& notes) {
  for (const Note& n : notes)
    ctx.Add(n.severity, engine, "", n.message);
}

void PlanLlamaCppEngine(Context& ctx, const EngineConfig& e, const ModelInfo& m, EnginePlan& ep) {
  auto settings = ReadLlamaCppSettings(e.flags);
  if (!settings.ok()) {
    ctx.Add(Severity::kError, e.name, "", settings.status().message());
    return;
  }
  const uint64_t overhead = e.overhead_bytes.value_or(kLlamaCppDefaultOverhead);
  auto plan = PlanLlamaCpp(m, *settings, overhead);
  if (!plan.ok()) {
    ctx.Add(Severity::kError, e.name, "", plan.status().message());
    return;
  }
  ep.planned = true;
  AddNotes(ctx, e.name, plan->notes);
  ep.ctx = plan->kv.n_ctx;
  ep.ctx_per_request = plan->ctx_per_slot(m);
  ep.n_seq = plan->n_seq;
  ep.kv_unified = plan->unified;
  ep.cache_type_k = std::string(GgmlTypeName(settings->cache_type_k));
  ep.cache_type_v = std::string(GgmlTypeName(settings->cache_type_v));
  ep.flash_attn = plan->flash_attn;
  ep.memory = plan->memory;
  ep.kv_bytes_per_token = plan->kv.bytes_per_cell;
  ep.server_flags = plan->server_flags;
  ep.max_ctx_in_budget = MaxLlamaCppContext(m, *settings, overhead, e.budget_bytes);
  // One request holds a slot's share of the cache (all of it when unified), at most the
  // training context.
  auto per_request = [&](uint64_t ctx_size) {
    const uint64_t share = plan->unified ? ctx_size : ctx_size / plan->n_seq;
    return m.n_ctx_train > 0 ? std::min<uint64_t>(share, m.n_ctx_train) : share;
  };
  ep.max_ctx_per_request_in_budget = per_request(ep.max_ctx_in_budget);

  // The same budget with other cache types. Quantized V needs flash attention.
  const std::pair<GgmlType, GgmlType> kCacheTypes[] = {{GgmlType::kF16, GgmlType::kF16},
                                                       {GgmlType::kQ8_0, GgmlType::kF16},
                                                       {GgmlType::kQ8_0, GgmlType::kQ8_0},
                                                       {GgmlType::kQ4_0, GgmlType::kQ4_0}};
  for (auto [k, v] : kCacheTypes) {
    LlamaCppSettings s = *settings;
    s.cache_type_k = k;
    s.cache_type_v = v;
    if (IsQuantized(v)) s.flash_attn = FlashAttnMode::kOn;
    KvCacheParams kp;
    kp.n_ctx = kLlamaCppCtxPad;
    kp.type_k = k;
    kp.type_v = v;
    kp.flash_attn = IsQuantized(v) || plan->flash_attn;
    auto kv = LlamaCppKvCache(m, kp);
    if (!kv.ok()) continue;
    const uint64_t max_ctx = MaxLlamaCppContext(m, s, overhead, e.budget_bytes);
    ep.cache_type_fits.push_back({std::string(GgmlTypeName(k)), std::string(GgmlTypeName(v)),
                                  kv->bytes_per_cell, max_ctx, per_request(max_ctx)});
  }

  const uint64_t total = ep.memory.total_bytes();
  if (total > e.budget_bytes) {
    const uint64_t non_kv = total - ep.memory.kv_bytes;
    if (non_kv >= e.budget_bytes) {
      ctx.Add(
          Severity::kError, e.name, "",
          fmt::format("{} of weights, {} of compute buffers and {} of overhead already exceed "
                      "the {} budget before any KV cache",
                      FormatBytes(ep.memory.weights_bytes), FormatBytes(ep.memory.compute_bytes),
                      FormatBytes(ep.memory.overhead_bytes), FormatBytes(e.budget_bytes)));
    } else {
      ctx.Add(Severity::kError, e.name, "",
              fmt::format("ctx-size {} at K {} / V {} needs {} of KV cache ({} B per token); after "
                          "{} of weights, {} of compute and output buffers and {} of overhead, its "
                          "{} budget leaves {} for KV, which holds {} tokens",
                          FormatCount(plan->kv.n_ctx), ep.cache_type_k, ep.cache_type_v,
                          FormatBytes(ep.memory.kv_bytes), FormatCount(ep.kv_bytes_per_token),
                          FormatBytes(ep.memory.weights_bytes),
                          FormatBytes(ep.memory.compute_bytes + ep.memory.output_bytes),
                          FormatBytes(ep.memory.overhead_bytes), FormatBytes(e.budget_bytes),
                          FormatBytes(e.budget_bytes - non_kv), FormatCount(ep.max_ctx_in_budget)));
    }
  }
  if (!ep.cache_type_fits.empty()) {
    std::string list;
    for (const CacheTypeFit& f : ep.cache_type_fits) {
      if (!list.empty()) list += "; ";
      list +=
          fmt::format("K {} / V {}: {}", f.cache_type_k, f.cache_type_v, FormatCount(f.max_ctx));
    }
    const bool past_training =
        m.n_ctx_train > 0 &&
        std::any_of(ep.cache_type_fits.begin(), ep.cache_type_fits.end(),
                    [&](const CacheTypeFit& f) { return f.max_ctx > m.n_ctx_train; });
    ctx.Add(
        Severity::kInfo, e.name, "",
        fmt::format("largest ctx-size in its {} budget: {}{}", FormatBytes(e.budget_bytes), list,
                    past_training ? fmt::format(" (the model was trained on {} tokens; "
                                                "llama-server caps each slot there)",
                                                FormatCount(m.n_ctx_train))
                                  : ""));
  }
}

void PlanVllmEngine(Context& ctx, const EngineConfig& e, const ModelInfo& m, EnginePlan& ep) {
  auto settings = ReadVllmSettings(e.flags);
  if (!settings.ok()) {
    ctx.Add(Severity::kError, e.name, "", settings.status().message());
    return;
  }
  const uint64_t overhead = e.overhead_bytes.value_or(kVllmDefaultOverhead);
  auto plan = PlanVllm(m, *settings, e.budget_bytes, ctx.config.machine.gpu_pool_bytes, overhead);
  if (!plan.ok()) {
    ctx.Add(Severity::kError, e.name, "", plan.status().message());
    return;
  }
  ep.planned = true;
  AddNotes(ctx, e.name, plan->notes);
  ep.ctx = plan->max_model_len;
  ep.ctx_per_request = std::min(plan->max_model_len, plan->kv_tokens);
  ep.n_seq = plan->max_num_seqs;
  ep.kv_unified = true;
  ep.cache_type_k = ep.cache_type_v = plan->kv_dtype;
  ep.memory = plan->memory;
  ep.kv_bytes_per_token = plan->kv_bytes_per_token;
  ep.max_ctx_in_budget = plan->max_len_in_pool;
  ep.max_ctx_per_request_in_budget = plan->max_len_in_pool;
  ep.server_flags = plan->server_flags;
  for (auto [name, bytes] : {std::pair{"bf16", 2}, std::pair{"fp8", 1}}) {
    const uint64_t per_token = VllmKvBytesPerToken(m, static_cast<uint64_t>(bytes));
    const uint64_t tokens =
        per_token == 0
            ? 0
            : plan->kv_pool_bytes / (per_token * settings->block_size) * settings->block_size;
    ep.cache_type_fits.push_back({name, name, per_token, tokens, tokens});
  }
  if (settings->kv_cache_dtype.rfind("fp8", 0) == 0) {
    ctx.Add(Severity::kWarning, e.name, "",
            "kv-cache-dtype fp8: RDNA 3.5 (gfx1151) has no FP8 arithmetic and vLLM FP8 paths are "
            "reported to fail there; test before relying on it");
  }
  if (plan->requested_bytes > e.budget_bytes) {
    ctx.Add(Severity::kError, e.name, "",
            fmt::format("vLLM will ask for {} but the engine's budget is {}",
                        FormatBytes(plan->requested_bytes), FormatBytes(e.budget_bytes)));
  }
}

void PlanLanes(Context& ctx, const std::map<std::string, const ModelInfo*>& model_of) {
  const MachinePlan& mp = ctx.out.machine;
  for (const LaneConfig& lane : ctx.config.lanes) {
    LanePlan lp;
    lp.name = lane.name;
    lp.engine = lane.engine;
    if (lane.context) {
      lp.context = static_cast<uint64_t>(lane.context->min);
      lp.context_max = static_cast<uint64_t>(lane.context->max);
    }
    if (lane.tokens_per_s) {
      lp.tokens_per_s_target = lane.tokens_per_s->min;
      lp.tokens_per_s_target_max = lane.tokens_per_s->max;
    }
    auto it = std::find_if(ctx.out.engines.begin(), ctx.out.engines.end(),
                           [&](const EnginePlan& e) { return e.name == lane.engine; });
    if (it == ctx.out.engines.end()) {
      ctx.Add(Severity::kError, lane.engine, lane.name, "lane names an engine that does not exist");
      ctx.out.lanes.push_back(lp);
      continue;
    }
    const EnginePlan& ep = *it;
    if (!ep.resident) {
      ctx.Add(Severity::kWarning, ep.name, lane.name,
              fmt::format("unavailable under profile {}: engine {} is paused; requests get 503 "
                          "with Retry-After",
                          ctx.out.profile, ep.name));
      ctx.out.lanes.push_back(lp);
      continue;
    }
    if (ep.external) {
      lp.available = true;
      lp.fits = true;
      ctx.out.lanes.push_back(lp);
      continue;
    }
    if (!ep.planned) {
      ctx.out.lanes.push_back(lp);
      continue;
    }
    lp.available = true;
    bool ok = ep.fits;
    const ModelInfo* model = model_of.at(ep.name);

    const uint64_t context = lp.context.value_or(ep.ctx_per_request);
    if (lp.context) {
      const std::string wanted = RangeText(lane.context->min, lane.context->max, true);
      if (model->n_ctx_train > 0 && *lp.context > model->n_ctx_train) {
        ok = false;
        ctx.Add(Severity::kError, ep.name, lane.name,
                fmt::format("wants {} tokens of context, but {} was trained on {}", wanted,
                            model->name, FormatCount(model->n_ctx_train)));
      } else if (ep.ctx_per_request < *lp.context) {
        ok = false;
        std::string best;
        for (const CacheTypeFit& f : ep.cache_type_fits) {
          if (!best.empty()) best += ", ";
          best += fmt::format("{} at K {} / V {}", FormatCount(f.max_ctx_per_request),
                              f.cache_type_k, f.cache_type_v);
        }
        ctx.Add(
            Severity::kError, ep.name, lane.name,
            fmt::format("wants {} tokens per request; {} serves {} (in its {} budget one request "
                        "could hold at most {})",
                        wanted, ep.name, FormatCount(ep.ctx_per_request),
                        FormatBytes(ep.budget_bytes), best));
      } else if (lp.context_max && ep.ctx_per_request < *lp.context_max) {
        ctx.Add(
            Severity::kWarning, ep.name, lane.name,
            fmt::format("wants up to {} tokens of context; {} serves {} per request",
                        FormatCount(*lp.context_max), ep.name, FormatCount(ep.ctx_per_request)));
      }
    }

    const uint64_t kv_read = SatMul(ep.kv_bytes_per_token, context);
    lp.decode_tokens_per_s_bound = DecodeTokensPerSecondBound(
        mp.bandwidth_bytes_per_s, mp.bandwidth_efficiency, SatAdd(ep.active_weight_bytes, kv_read));
    if (lp.tokens_per_s_target) {
      const double empty = DecodeTokensPerSecondBound(
          mp.bandwidth_bytes_per_s, mp.bandwidth_efficiency, ep.active_weight_bytes);
      const std::string arithmetic = fmt::format(
          "one stream reads {} of weights and {} of KV at {} tokens for every token: {} × {:.2f} ÷ "
          "{} = {} tokens/s at most ({} with an empty context); batching raises total "
          "throughput, not one stream's speed",
          FormatBytes(ep.active_weight_bytes), FormatBytes(kv_read), FormatCount(context),
          fmt::format("{:g} GB/s", static_cast<double>(mp.bandwidth_bytes_per_s) / 1e9),
          mp.bandwidth_efficiency, FormatBytes(ep.active_weight_bytes + kv_read),
          Tps(lp.decode_tokens_per_s_bound), Tps(empty));
      const std::string wanted = RangeText(lane.tokens_per_s->min, lane.tokens_per_s->max, false);
      if (lp.decode_tokens_per_s_bound < *lp.tokens_per_s_target) {
        ok = false;
        ctx.Add(Severity::kError, ep.name, lane.name,
                fmt::format("wants {} tokens/s; {}", wanted, arithmetic));
      } else if (lp.decode_tokens_per_s_bound < *lp.tokens_per_s_target_max) {
        ctx.Add(
            Severity::kWarning, ep.name, lane.name,
            fmt::format("wants up to {:g} tokens/s; {}", *lp.tokens_per_s_target_max, arithmetic));
      }
    }
    lp.prefill_seconds_target =
        PrefillSeconds(*model, MachineComputeOf(ctx.config.machine), 0, context);
    lp.fits = ok;
    ctx.out.lanes.push_back(lp);
  }
}

}  // namespace

std::vector<std::string> ProfileNames(const Config& config) {
  std::vector<std::string> names = {"normal"};
  auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  for (const ProfileDecl& p : config.profiles)
    add(p.name);
  for (const EngineConfig& e : config.engines) {
    for (const EngineProfile& p : e.profiles)
      add(p.name);
  }
  return names;
}

DeploymentPlan PlanDeployment(const Config& config, const std::string& profile_in,
                              const std::map<std::string, StatusOr<ModelInfo>>& models) {
  DeploymentPlan out;
  out.profile = profile_in.empty() ? "normal" : profile_in;
  Context ctx{config, out};
  MachinePlan& mp = out.machine;
  mp.memory_bytes = config.machine.memory_bytes;
  mp.gpu_pool_bytes = config.machine.gpu_pool_bytes;
  mp.reserved_bytes = config.machine.reserve_os_bytes + config.machine.reserve_backend_bytes;
  mp.bandwidth_bytes_per_s = config.machine.bandwidth_bytes_per_s;
  mp.bandwidth_efficiency = config.machine.bandwidth_efficiency;
  mp.compute_flops = config.machine.compute_flops;
  mp.compute_efficiency = config.machine.compute_efficiency;
  mp.attention_efficiency = config.machine.attention_efficiency;

  const std::vector<std::string> known = ProfileNames(config);
  if (std::find(known.begin(), known.end(), out.profile) == known.end()) {
    ctx.Add(Severity::kError, "", "",
            fmt::format("no profile named \"{}\"; profiles are: {}", out.profile,
                        fmt::join(known, ", ")));
  }

  std::set<std::string> paused;
  for (const EngineConfig& e : config.engines) {
    for (const EngineProfile& p : e.profiles) {
      if (p.name == out.profile) paused.insert(p.pauses.begin(), p.pauses.end());
    }
  }

  std::map<std::string, const ModelInfo*> model_of;
  for (const EngineConfig& base : config.engines) {
    const EngineConfig e = ApplyProfile(base, out.profile);
    EnginePlan ep;
    ep.name = e.name;
    ep.kind = e.kind;
    ep.host = e.host;
    ep.port = e.port;
    ep.port_assigned = e.port_assigned;
    ep.budget_bytes = e.budget_bytes;
    ep.resident = paused.count(e.name) == 0;
    auto it = models.find(e.name);
    if (!ep.resident) {
      // Paused engines hold no memory in this profile (so nothing of theirs can fail to fit);
      // their lanes say they are unavailable.
      ep.budget_bytes = 0;
      ep.fits = true;
    } else if (!e.url.empty()) {
      // Runs elsewhere and is only proxied to: its memory is not ours to plan.
      ep.budget_bytes = 0;
      ep.fits = true;
      ep.external = true;
      ctx.Add(Severity::kInfo, e.name, "",
              fmt::format("runs at {} and is not launched or planned by cortex", e.url));
    } else if (it == models.end()) {
      ctx.Add(Severity::kError, e.name, "", "no model was resolved for this engine");
    } else if (!it->second.ok()) {
      ctx.Add(Severity::kError, e.name, "", it->second.status().message());
    } else {
      const ModelInfo& m = *it->second;
      model_of[e.name] = &m;
      ep.model_name = m.name;
      ep.model_provenance = m.provenance;
      ep.weights_exact = m.weights_exact;
      if (!m.weights_exact) {
        ctx.Add(Severity::kInfo, e.name, "",
                fmt::format("weights of {} estimated from the built-in table ({}), not read from "
                            "files; shapes are exact",
                            m.name, FormatBytes(m.weights_bytes)));
      }
      if (PlansAsLlamaCpp(e)) {
        PlanLlamaCppEngine(ctx, e, m, ep);
      } else {
        PlanVllmEngine(ctx, e, m, ep);
      }
      if (ep.planned) {
        ep.active_weight_bytes = ActiveWeightBytesPerToken(m);
        ep.decode_tokens_per_s_bound = DecodeTokensPerSecondBound(
            mp.bandwidth_bytes_per_s, mp.bandwidth_efficiency,
            SatAdd(ep.active_weight_bytes, SatMul(ep.kv_bytes_per_token, ep.ctx_per_request)));
        ep.prefill_seconds_at_ctx =
            PrefillSeconds(m, MachineComputeOf(config.machine), 0, ep.ctx_per_request);
        // llama-server drops a request after --timeout (default 3600 s) of reading or writing,
        // and a long prefill writes nothing: the engine must wait out its longest planned
        // prefill (research E §3.2). Only when the config does not set it.
        if (PlansAsLlamaCpp(e) && ep.prefill_seconds_at_ctx &&
            *ep.prefill_seconds_at_ctx * 1.5 > 3600 && FindFlag(e.flags, "timeout") == nullptr &&
            FindFlag(e.flags, "to") == nullptr) {
          ep.server_flags.emplace_back(
              "timeout",
              std::to_string(static_cast<uint64_t>(std::ceil(*ep.prefill_seconds_at_ctx * 1.5))));
        }
        bool engine_error = false;
        for (const Finding& f : out.findings) {
          engine_error |= f.engine == e.name && f.severity == Severity::kError;
        }
        ep.fits = !engine_error && ep.memory.total_bytes() <= e.budget_bytes;
      }
    }
    if (ep.resident) {
      mp.budgets_bytes = SatAdd(mp.budgets_bytes, ep.budget_bytes);
      // An engine over its budget is already an error of its own; counting only up to its
      // budget keeps the pool check about the budgets, not a repeat of that error.
      if (ep.planned) {
        mp.used_bytes = SatAdd(mp.used_bytes, ep.memory.total_bytes());
        mp.device_bytes =
            SatAdd(mp.device_bytes, std::min(ep.memory.device_bytes, ep.budget_bytes));
      } else {
        mp.device_bytes = SatAdd(mp.device_bytes, ep.budget_bytes);
      }
    }
    out.engines.push_back(std::move(ep));
  }

  // Config sizes are below 2^50 each, so these differences fit in 64 signed bits unless the
  // budgets saturated; clamp to the most negative meaningful value then.
  const uint64_t committed = SatAdd(mp.reserved_bytes, mp.budgets_bytes);
  mp.free_bytes = committed <= mp.memory_bytes
                      ? static_cast<int64_t>(mp.memory_bytes - committed)
                      : -static_cast<int64_t>(
                            std::min<uint64_t>(committed - mp.memory_bytes, uint64_t{1} << 62));
  if (mp.free_bytes < 0) {
    ctx.Add(Severity::kError, "", "",
            fmt::format(
                "resident engines' budgets add up to {}; with {} of reserves (OS {}, backend "
                "{}) that is {}, {} more than the machine's {}",
                FormatBytes(mp.budgets_bytes), FormatBytes(mp.reserved_bytes),
                FormatBytes(config.machine.reserve_os_bytes),
                FormatBytes(config.machine.reserve_backend_bytes),
                FormatBytes(mp.budgets_bytes + mp.reserved_bytes),
                FormatBytes(static_cast<uint64_t>(-mp.free_bytes)), FormatBytes(mp.memory_bytes)));
  }
  if (mp.device_bytes > mp.gpu_pool_bytes) {
    ctx.Add(Severity::kError, "", "",
            fmt::format("the GPU-mapped parts of resident engines add up to {}, more than the {} "
                        "GPU pool (GTT/TTM limit)",
                        FormatBytes(mp.device_bytes), FormatBytes(mp.gpu_pool_bytes)));
  }

  PlanLanes(ctx, model_of);
  out.fits = std::none_of(out.findings.begin(), out.findings.end(),
                          [](const Finding& f) { return f.severity == Severity::kError; });
  return out;
}

}  // namespace cortex
