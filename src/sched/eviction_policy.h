// ChooseVictims: which resident engines to stop so that a waiting engine fits in the pool.
//
// The eviction policy is a pure function of the resident set, kept apart from the scheduler
// (as in llama-swap's router) so it can be tested, and replaced, alone. The scheduler asks it
// whenever the engine at the head of its memory queue does not fit, possibly many times per
// actual swap, so it must stay cheap and must not log.
//
// Rules, in order:
//   1. Never a pinned engine, one paused by the active burst (its memory is lent to the burst
//      and must come back to it), one still starting (stopping it throws the load away), or one
//      inside its anti-thrash hold window (`held`).
//   2. Prefer engines with nothing in flight and nobody waiting, then the one idle longest,
//      then the one cheapest to load again (load_seconds), then by name for determinism.
//   3. Only as many as needed: take engines in that order until enough is freed, then give
//      back any earlier pick the later ones made unnecessary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cortex::sched {

struct EvictionCandidate {
  std::string name;
  uint64_t bytes = 0;       // what stopping it gives back to the pool
  int in_flight = 0;        // requests it is serving
  int waiting = 0;          // requests waiting for it (including admitted, not yet started)
  double idle_since = 0;    // when it last started or finished work (monotonic seconds)
  double load_seconds = 0;  // what bringing it back would cost
  bool pinned = false;      // never evicted for an on-demand load
  bool paused = false;      // paused by the active burst
  bool starting = false;    // still loading
  bool held = false;        // inside its anti-thrash hold window with demand
};

// Returns the names of the engines to stop, most preferred first, whose bytes together are at
// least `bytes_needed`. Returns the empty list when no allowed set frees that much, or when
// `bytes_needed` is 0.
std::vector<std::string> ChooseVictims(const std::vector<EvictionCandidate>& resident,
                                       uint64_t bytes_needed);

}  // namespace cortex::sched
