// JobPlan: where an ingest job runs and how, decided from its exact token count. Pure.
//
// Routing (the seed's rule generalised): the lane the job names, else ingest.lane, else the
// deep lane for uploads over ingest.deep_threshold, else the smallest lane whose normal
// context holds prompt + max_tokens, else the smallest whose burst profile holds it, else the
// lane with the largest context (which can still take the job in parts).
//
// Strategy: `whole` keeps one prompt and needs a context that holds it; `split` cuts the packed
// files into parts that fit the lane's normal context and adds a final pass over the partial
// analyses; `auto` keeps the whole prompt when it fits and its estimated prefill is within
// ingest.max_whole_time, else splits. Time, not memory, is usually what forces a split: prefill
// slows with depth, so 32K parts of a 1M-token tree take under an hour where the whole prompt
// takes most of a day (plan/prefill_estimate.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "ingest/lane_targets.h"
#include "ingest/packer.h"

namespace cortex::ingest {

// The lane a job's tokens are counted on before the plan is made: routing as above with
// `estimated_tokens` (from bytes) standing in for the count. -1 when there is no lane at all.
int RouteLane(const std::vector<LaneTarget>& lanes, const IngestConfig& ingest,
              const std::string& requested_lane, uint64_t upload_bytes, uint64_t estimated_tokens,
              uint64_t max_tokens, bool burst_allowed);

struct JobPlanInput {
  uint64_t packed_tokens = 0;       // the packed tree
  uint64_t instruction_tokens = 0;  // the job's prompt, with the chat template's overhead
  uint64_t max_tokens = 0;          // the analysis
  std::string strategy = "auto";
  bool burst_allowed = true;  // ingest.burst auto and a supervisor that can switch it
  // Prefill seconds for a prompt of n tokens on the lane (nullopt: unknown).
  std::function<std::optional<double>(uint64_t tokens)> prefill_seconds;
};

struct JobPlan {
  bool ok = false;
  std::string error_code;  // when !ok: "context_exceeded", "split_impossible"
  std::string error_message;
  std::string strategy;  // "whole" or "split"
  bool needs_burst = false;
  uint64_t context = 0;              // tokens the request (or each part) may use
  uint64_t part_budget = 0;          // split: packed tokens per part
  uint64_t part_max_tokens = 0;      // split: analysis tokens per part
  std::optional<double> estimate_s;  // all prefills together
  std::string why;                   // one line for the job's log: why this strategy
};

JobPlan PlanJob(const LaneTarget& lane, const IngestConfig& ingest, const JobPlanInput& in);

// A contiguous byte range of the packed text.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};
struct PackedPart {
  std::vector<ByteRange> ranges;  // file blocks in output order (a huge file is cut in pieces)
  uint64_t bytes = 0;
};

// Cuts the packed files into parts of at most `budget_tokens` each, whole files in output order,
// at `tokens_per_byte` (the packed text's measured ratio). A file larger than a part gets parts of
// its own, cut by size.
std::vector<PackedPart> SplitPacked(const std::vector<PackedFile>& files, double tokens_per_byte,
                                    uint64_t budget_tokens);

}  // namespace cortex::ingest
