#include "ingest/job_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cortex::ingest {
namespace {

// Tokens kept free in every request beyond prompt and analysis: the chat template's role
// markers and what a tokenizer may add at the seams between chunks.
constexpr uint64_t kMargin = 256;

int FindLane(const std::vector<LaneTarget>& lanes, const std::string& name) {
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (lanes[i].lane == name) return static_cast<int>(i);
  }
  return -1;
}

int DeepLane(const std::vector<LaneTarget>& lanes, const IngestConfig& ingest) {
  if (!ingest.deep_lane.empty()) return FindLane(lanes, ingest.deep_lane);
  int best = -1;
  for (size_t i = 0; i < lanes.size(); ++i) {
    const uint64_t cap = std::max(lanes[i].ctx, lanes[i].burst_ctx);
    if (best < 0 || cap > std::max(lanes[best].ctx, lanes[best].burst_ctx)) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

std::string Seconds(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace

int RouteLane(const std::vector<LaneTarget>& lanes, const IngestConfig& ingest,
              const std::string& requested_lane, uint64_t upload_bytes, uint64_t estimated_tokens,
              uint64_t max_tokens, bool burst_allowed) {
  if (lanes.empty()) return -1;
  if (!requested_lane.empty()) return FindLane(lanes, requested_lane);
  if (!ingest.lane.empty()) return FindLane(lanes, ingest.lane);
  if (upload_bytes > ingest.deep_threshold_bytes) return DeepLane(lanes, ingest);
  const uint64_t need = estimated_tokens + max_tokens + kMargin;
  int best = -1;
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (lanes[i].ctx >= need && (best < 0 || lanes[i].ctx < lanes[best].ctx)) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) return best;
  if (burst_allowed) {
    for (size_t i = 0; i < lanes.size(); ++i) {
      if (lanes[i].burst_ctx >= need && (best < 0 || lanes[i].burst_ctx < lanes[best].burst_ctx)) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) return best;
  }
  return DeepLane(lanes, ingest);
}

JobPlan PlanJob(const LaneTarget& lane, const IngestConfig& ingest, const JobPlanInput& in) {
  JobPlan plan;
  const uint64_t prompt = in.packed_tokens + in.instruction_tokens;
  const uint64_t need = prompt + in.max_tokens + kMargin;
  const bool fits_normal = lane.ctx >= need;
  const bool fits_burst = !fits_normal && in.burst_allowed && lane.burst_ctx >= need;
  const std::optional<double> whole_s =
      in.prefill_seconds ? in.prefill_seconds(prompt) : std::nullopt;
  const std::string arithmetic = fmt::format(
      "the prompt is {} tokens ({} packed + {} instructions) and the analysis up to {}: {} "
      "tokens with the margin; lane {} holds {} per request{}",
      prompt, in.packed_tokens, in.instruction_tokens, in.max_tokens, need, lane.lane, lane.ctx,
      lane.burst_ctx > 0
          ? fmt::format(" normally and {} in its burst profile \"{}\"{}", lane.burst_ctx,
                        lane.burst_profile, in.burst_allowed ? "" : " (burst is not allowed here)")
          : "");

  auto whole = [&] {
    plan.ok = true;
    plan.strategy = "whole";
    plan.needs_burst = fits_burst;
    plan.context = fits_burst ? lane.burst_ctx : lane.ctx;
    plan.estimate_s = whole_s;
    return plan;
  };

  if (in.strategy == "whole" || (in.strategy == "auto" && (fits_normal || fits_burst) &&
                                 (!whole_s || *whole_s <= ingest.max_whole_time_s))) {
    if (!fits_normal && !fits_burst) {
      plan.error_code = "context_exceeded";
      plan.error_message = "the whole prompt fits no context: " + arithmetic;
      return plan;
    }
    plan.why = whole_s ? fmt::format("one prompt, estimated prefill {} (limit {})",
                                     Seconds(*whole_s), Seconds(ingest.max_whole_time_s))
                       : "one prompt (no prefill estimate for this engine)";
    if (fits_burst) plan.why += "; needs the burst profile's context";
    return whole();
  }

  // Split: parts within the normal context, each with the shared instructions first.
  plan.strategy = "split";
  plan.context = lane.ctx;
  uint64_t budget = lane.ctx;
  if (ingest.part_tokens > 0) budget = std::min<uint64_t>(budget, ingest.part_tokens);
  const uint64_t fixed = in.instruction_tokens + kMargin;
  // The final pass reads every part's analysis, so per-part analyses shrink when parts are
  // many; parts get the job's max_tokens at most.
  plan.part_max_tokens = in.max_tokens;
  if (budget <= fixed + in.max_tokens + 512) {
    plan.error_code = "split_impossible";
    plan.error_message = fmt::format(
        "lane {} holds {} tokens per request, too few for parts of this job "
        "(instructions {} + analysis {} + margin {}): {}",
        lane.lane, budget, in.instruction_tokens, in.max_tokens, kMargin, arithmetic);
    return plan;
  }
  plan.part_budget = budget - fixed - in.max_tokens;
  const uint64_t parts =
      std::max<uint64_t>(1, (in.packed_tokens + plan.part_budget - 1) / plan.part_budget);
  const uint64_t final_room =
      lane.ctx > fixed + in.max_tokens ? lane.ctx - fixed - in.max_tokens : 0;
  if (parts * plan.part_max_tokens > final_room) {
    plan.part_max_tokens = final_room / parts;
    if (plan.part_max_tokens < 64) {
      plan.ok = false;
      plan.error_code = "split_impossible";
      plan.error_message = fmt::format(
          "{} parts of {} tokens leave under 64 tokens per partial analysis for the final pass "
          "in lane {}'s {} tokens: {}",
          parts, plan.part_budget, lane.lane, lane.ctx, arithmetic);
      return plan;
    }
  }
  if (in.prefill_seconds) {
    std::optional<double> part_s = in.prefill_seconds(plan.part_budget + in.instruction_tokens);
    std::optional<double> final_s =
        in.prefill_seconds(parts * plan.part_max_tokens + in.instruction_tokens);
    if (part_s && final_s) plan.estimate_s = *part_s * static_cast<double>(parts) + *final_s;
  }
  plan.ok = true;
  if (in.strategy == "split") {
    plan.why =
        fmt::format("split as asked: about {} parts of up to {} tokens", parts, plan.part_budget);
  } else if (!fits_normal && !fits_burst) {
    plan.why = fmt::format(
        "split: the whole prompt fits no context ({}); about {} parts of up to {} tokens",
        arithmetic, parts, plan.part_budget);
  } else {
    plan.why = fmt::format(
        "split: one prompt would take about {} to prefill, over ingest.max_whole_time {}; about {} "
        "parts "
        "of up to {} tokens{}",
        Seconds(*whole_s), Seconds(ingest.max_whole_time_s), parts, plan.part_budget,
        plan.estimate_s ? fmt::format(" take about {}", Seconds(*plan.estimate_s)) : "");
  }
  return plan;
}

std::vector<PackedPart> SplitPacked(const std::vector<PackedFile>& files, double tokens_per_byte,
                                    uint64_t budget_tokens) {
  std::vector<PackedPart> parts;
  if (tokens_per_byte <= 0) tokens_per_byte = 0.25;
  const uint64_t budget_bytes =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::floor(budget_tokens / tokens_per_byte)));
  PackedPart current;
  auto flush = [&] {
    if (!current.ranges.empty()) parts.push_back(std::move(current));
    current = PackedPart{};
  };
  for (const PackedFile& f : files) {
    if (f.length > budget_bytes) {
      flush();
      for (uint64_t at = 0; at < f.length; at += budget_bytes) {
        const uint64_t n = std::min(budget_bytes, f.length - at);
        parts.push_back(PackedPart{{ByteRange{f.offset + at, n}}, n});
      }
      continue;
    }
    if (current.bytes + f.length > budget_bytes) flush();
    if (!current.ranges.empty() &&
        current.ranges.back().offset + current.ranges.back().length == f.offset) {
      current.ranges.back().length += f.length;  // neighbours merge into one read
    } else {
      current.ranges.push_back(ByteRange{f.offset, f.length});
    }
    current.bytes += f.length;
  }
  flush();
  return parts;
}

}  // namespace cortex::ingest
