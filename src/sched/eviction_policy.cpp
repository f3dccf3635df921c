#include "sched/eviction_policy.h"

#include <algorithm>
#include <tuple>

namespace cortex::sched {

std::vector<std::string> ChooseVictims(const std::vector<EvictionCandidate>& resident,
                                       uint64_t bytes_needed) {
  if (bytes_needed == 0) return {};
  std::vector<const EvictionCandidate*> allowed;
  for (const EvictionCandidate& c : resident) {
    if (c.pinned || c.paused || c.starting || c.held || c.bytes == 0) continue;
    allowed.push_back(&c);
  }
  std::sort(allowed.begin(), allowed.end(),
            [](const EvictionCandidate* a, const EvictionCandidate* b) {
              bool a_busy = a->in_flight > 0 || a->waiting > 0;
              bool b_busy = b->in_flight > 0 || b->waiting > 0;
              return std::tie(a_busy, a->idle_since, a->load_seconds, a->name) <
                     std::tie(b_busy, b->idle_since, b->load_seconds, b->name);
            });

  std::vector<const EvictionCandidate*> picked;
  uint64_t freed = 0;
  for (const EvictionCandidate* c : allowed) {
    if (freed >= bytes_needed) break;
    picked.push_back(c);
    freed += c->bytes;
  }
  if (freed < bytes_needed) return {};

  // The last pick was needed (or the loop would have stopped before it); an earlier, smaller
  // one may have been made redundant by it. Keep those engines running.
  for (size_t i = picked.size(); i-- > 1;) {
    size_t j = i - 1;
    if (freed - picked[j]->bytes >= bytes_needed) {
      freed -= picked[j]->bytes;
      picked.erase(picked.begin() + static_cast<std::ptrdiff_t>(j));
    }
  }
  std::vector<std::string> names;
  for (const EvictionCandidate* c : picked)
    names.push_back(c->name);
  return names;
}

}  // namespace cortex::sched
