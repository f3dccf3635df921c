#include "monitor/machine_memory.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "monitor/kernel_text.h"

namespace cortex::monitor {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr uint64_t kPageBytes = 4096;  // ttm's pages_limit counts the kernel's 4 KiB pages

template <typename T>
std::optional<T> Number(std::string_view text) {
  text = TrimSpace(text);
  T n{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

template <typename T>
std::optional<T> NumberFile(const fs::path& path) {
  auto text = ReadKernelFile(path);
  return text ? Number<T>(*text) : std::nullopt;
}

}  // namespace

std::optional<MemInfo> ReadMeminfo(const std::string& proc_root) {
  auto text = ReadKernelFile(fs::path(proc_root) / "meminfo");
  if (!text) return std::nullopt;
  std::optional<uint64_t> total, available;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view key(line.data(), colon);
    std::string_view value = TrimSpace(std::string_view(line).substr(colon + 1));
    if (value.size() > 3 && value.substr(value.size() - 3) == " kB") {
      value.remove_suffix(3);
    }
    if (key == "MemTotal") {
      if (auto n = Number<uint64_t>(value)) total = *n * 1024;
    } else if (key == "MemAvailable") {
      if (auto n = Number<uint64_t>(value)) available = *n * 1024;
    }
  }
  if (!total || !available) return std::nullopt;
  return MemInfo{*total, *available};
}

std::optional<CgroupMemory> ReadCgroupMemory(const std::string& dir) {
  auto current = NumberFile<uint64_t>(fs::path(dir) / "memory.current");
  if (!current) return std::nullopt;
  CgroupMemory m;
  m.current_bytes = *current;
  if (auto max = ReadKernelFile(fs::path(dir) / "memory.max"); max && TrimSpace(*max) != "max") {
    m.max_bytes = Number<uint64_t>(*max);
  }
  return m;
}

std::optional<std::string> CgroupDirOfPid(int pid, const std::string& proc_root,
                                          const std::string& cgroup_root) {
  auto text = ReadKernelFile(fs::path(proc_root) / std::to_string(pid) / "cgroup");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    // cgroup v2's unified hierarchy is the line with id 0 and no controllers.
    if (line.rfind("0::", 0) != 0) continue;
    std::string path(TrimSpace(std::string_view(line).substr(3)));
    if (path.empty() || path[0] != '/' || path.find("..") != std::string::npos) return std::nullopt;
    return (fs::path(cgroup_root) / path.substr(1)).lexically_normal().string();
  }
  return std::nullopt;
}

std::optional<AmdgpuDevice> ReadAmdgpuDevice(const std::string& drm_root) {
  std::set<std::string> cards;  // name order, so the answer does not depend on readdir
  std::error_code ec;
  for (fs::directory_iterator it(drm_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // card1, not card1-eDP-1 (a connector) nor renderD128 (the same device again).
    if (name.rfind("card", 0) == 0 && name.find('-') == std::string::npos) cards.insert(name);
  }
  for (const std::string& card : cards) {
    const fs::path dev = fs::path(drm_root) / card / "device";
    auto vram_total = NumberFile<uint64_t>(dev / "mem_info_vram_total");
    auto vram_used = NumberFile<uint64_t>(dev / "mem_info_vram_used");
    auto gtt_total = NumberFile<uint64_t>(dev / "mem_info_gtt_total");
    auto gtt_used = NumberFile<uint64_t>(dev / "mem_info_gtt_used");
    if (!vram_total || !vram_used || !gtt_total || !gtt_used) continue;
    AmdgpuDevice d;
    d.card = card;
    d.vram_total_bytes = *vram_total;
    d.vram_used_bytes = *vram_used;
    d.gtt_total_bytes = *gtt_total;
    d.gtt_used_bytes = *gtt_used;
    if (auto busy = NumberFile<int>(dev / "gpu_busy_percent"); busy && *busy >= 0 && *busy <= 100) {
      d.busy_percent = *busy;
    }
    return d;
  }
  return std::nullopt;
}

std::optional<GpuPageLimit> ReadGpuPageLimit(const std::string& sys_root) {
  GpuPageLimit limit;
  bool found = false;
  for (const char* module : {"ttm", "amdttm"}) {
    auto pages =
        NumberFile<uint64_t>(fs::path(sys_root) / "module" / module / "parameters" / "pages_limit");
    if (!pages) continue;
    limit.ttm_bytes = *pages * kPageBytes;
    limit.ttm_source = module;
    found = true;
    break;
  }
  if (auto gtt = NumberFile<int64_t>(fs::path(sys_root) / "module/amdgpu/parameters/gttsize")) {
    found = true;
    if (*gtt >= 0) limit.gttsize_mib = *gtt;
  }
  if (!found) return std::nullopt;
  return limit;
}

MachineMemory ReadMachineMemory(const MonitorRoots& roots) {
  MachineMemory m;
  m.meminfo = ReadMeminfo(roots.proc);
  m.amdgpu = ReadAmdgpuDevice((fs::path(roots.sys) / "class/drm").string());
  m.page_limit = ReadGpuPageLimit(roots.sys);
  return m;
}

json::object MachineMemoryJson(const MachineMemory& m) {
  json::object out;
  if (m.meminfo) {
    out["meminfo"] = json::object{
        {"present", true},
        {"total_bytes", m.meminfo->total_bytes},
        {"available_bytes", m.meminfo->available_bytes},
        {"used_bytes",
         m.meminfo->total_bytes - std::min(m.meminfo->total_bytes, m.meminfo->available_bytes)}};
  } else {
    out["meminfo"] = json::object{{"present", false}};
  }
  if (m.amdgpu) {
    json::object a{{"present", true},
                   {"card", m.amdgpu->card},
                   {"vram_total_bytes", m.amdgpu->vram_total_bytes},
                   {"vram_used_bytes", m.amdgpu->vram_used_bytes},
                   {"gtt_total_bytes", m.amdgpu->gtt_total_bytes},
                   {"gtt_used_bytes", m.amdgpu->gtt_used_bytes}};
    a["busy_percent"] = m.amdgpu->busy_percent ? json::value(*m.amdgpu->busy_percent) : nullptr;
    out["amdgpu"] = std::move(a);
  } else {
    out["amdgpu"] = json::object{{"present", false}};
  }
  if (m.page_limit) {
    json::object p{{"present", true}};
    p["ttm_bytes"] = m.page_limit->ttm_bytes ? json::value(*m.page_limit->ttm_bytes) : nullptr;
    p["ttm_source"] = m.page_limit->ttm_source;
    p["amdgpu_gttsize_mib"] =
        m.page_limit->gttsize_mib ? json::value(*m.page_limit->gttsize_mib) : nullptr;
    out["gpu_page_limit"] = std::move(p);
  } else {
    out["gpu_page_limit"] = json::object{{"present", false}};
  }
  return out;
}

}  // namespace cortex::monitor
