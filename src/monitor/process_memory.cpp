#include "monitor/process_memory.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "monitor/kernel_text.h"

namespace cortex::monitor {
namespace {

namespace fs = std::filesystem;

// "123 KiB", "4096", "2 MiB" → bytes.
uint64_t ParseAmount(std::string_view v) {
  v = TrimSpace(v);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc()) return 0;
  const std::string_view unit = TrimSpace(std::string_view(p, v.data() + v.size() - p));
  if (unit == "KiB" || unit == "kB") return n << 10;
  if (unit == "MiB") return n << 20;
  if (unit == "GiB") return n << 30;
  return n;
}

// The process group of PID from /proc/PID/stat: field 5, after the ")" that ends the name.
std::optional<pid_t> ReadPgid(const fs::path& dir) {
  auto stat = ReadKernelFile(dir / "stat");
  if (!stat) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::string state;
  long ppid = 0;
  long pgrp = 0;
  if (!(rest >> state >> ppid >> pgrp)) return std::nullopt;
  return static_cast<pid_t>(pgrp);
}

}  // namespace

std::optional<DrmClientUsage> ParseDrmFdinfo(std::string_view text) {
  DrmClientUsage usage;
  bool client = false;
  uint64_t memory_vram = 0, memory_gtt = 0, total_vram = 0, total_gtt = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = TrimSpace(line.substr(0, colon));
    const std::string_view value = line.substr(colon + 1);
    if (key == "drm-client-id") {
      usage.client_id = std::string(TrimSpace(value));
      client = true;
    } else if (key == "drm-memory-vram") {
      memory_vram = ParseAmount(value);
    } else if (key == "drm-memory-gtt") {
      memory_gtt = ParseAmount(value);
    } else if (key == "drm-total-vram") {
      total_vram = ParseAmount(value);
    } else if (key == "drm-total-gtt") {
      total_gtt = ParseAmount(value);
    }
  }
  if (!client) return std::nullopt;
  // Newer kernels print drm-total-* (all buffers of the client) beside the older keys.
  usage.vram_bytes = std::max(memory_vram, total_vram);
  usage.gtt_bytes = std::max(memory_gtt, total_gtt);
  return usage;
}

std::map<pid_t, GroupMemory> ReadGroupsMemory(const std::vector<pid_t>& pgids,
                                              const std::string& root) {
  std::map<pid_t, GroupMemory> out;
  std::map<pid_t, std::set<std::string>> clients;  // DRM clients counted, per group
  for (pid_t pgid : pgids)
    out[pgid];
  // Iterated with error codes throughout: reading /proc/PID/fdinfo of a process that exits
  // meanwhile fails (ENOENT) mid-listing, which the range-for's increment would throw.
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    auto [p, perr] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (perr != std::errc() || p != name.data() + name.size()) continue;
    const auto pgrp = ReadPgid(entry.path());
    if (!pgrp) continue;
    auto group = out.find(*pgrp);
    if (group == out.end()) continue;
    GroupMemory& g = group->second;
    g.pids.push_back(pid);
    if (auto status = ReadKernelFile(entry.path() / "status")) {
      const size_t at = status->find("VmRSS:");
      if (at != std::string::npos) {
        const size_t end = status->find('\n', at);
        g.rss_bytes += ParseAmount(std::string_view(*status).substr(at + 6, end - at - 6));
      }
    }
    std::error_code fd_ec;
    for (fs::directory_iterator fd(entry.path() / "fdinfo", fd_ec), fd_end; !fd_ec && fd != fd_end;
         fd.increment(fd_ec)) {
      auto text = ReadKernelFile(fd->path());
      if (!text || text->find("drm-client-id") == std::string::npos) continue;
      auto usage = ParseDrmFdinfo(*text);
      if (!usage || !clients[*pgrp].insert(usage->client_id).second) continue;
      g.gpu_readable = true;
      g.gpu_bytes += usage->vram_bytes + usage->gtt_bytes;
    }
  }
  return out;
}

GroupMemory ReadGroupMemory(pid_t pgid, const std::string& root) {
  return ReadGroupsMemory({pgid}, root)[pgid];
}

}  // namespace cortex::monitor
