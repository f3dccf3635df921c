// Memory an engine actually uses, read from the kernel, to compare with what the plan said.
//
// An engine is a process group (the supervisor starts each in its own), so its use is summed
// over the group: vLLM forks workers that hold most of the memory. Two sources:
//  * RSS from /proc/PID/status (VmRSS): host memory, which on a unified-memory APU is also
//    where the "GPU" allocations of a CPU build or a host-mapped buffer live;
//  * GPU buffers from DRM fdinfo (/proc/PID/fdinfo/FD, keys drm-memory-vram / drm-memory-gtt,
//    or drm-total-* on newer kernels), counted once per drm-client-id because a process often
//    holds several fds to one client. amdgpu's GTT buffers are pinned system pages that VmRSS
//    does not count, so RSS + VRAM + GTT is the engine's footprint; a buffer both mapped and
//    counted by fdinfo may be counted twice, which errs on the side of a drift warning.
// `root` is "/proc" except in tests, which build a fake tree.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cortex::monitor {

struct DrmClientUsage {
  std::string client_id;
  uint64_t vram_bytes = 0;
  uint64_t gtt_bytes = 0;
};

// One fdinfo file's text; nullopt when it is not a DRM client (no drm-client-id).
std::optional<DrmClientUsage> ParseDrmFdinfo(std::string_view text);

struct GroupMemory {
  std::vector<pid_t> pids;
  uint64_t rss_bytes = 0;
  uint64_t gpu_bytes = 0;     // VRAM + GTT over distinct DRM clients
  bool gpu_readable = false;  // at least one DRM client was found
  uint64_t total_bytes() const { return rss_bytes + gpu_bytes; }
};

// The processes whose process group is `pgid`, and their memory. Unreadable entries (a process
// that exited meanwhile, another user's) are skipped.
GroupMemory ReadGroupMemory(pid_t pgid, const std::string& root = "/proc");
// The same for several groups in one pass over `root` (the supervisor samples every engine).
std::map<pid_t, GroupMemory> ReadGroupsMemory(const std::vector<pid_t>& pgids,
                                              const std::string& root = "/proc");

}  // namespace cortex::monitor
