// What the whole machine uses, read from the kernel, next to what the ledger planned.
//
// Each reader takes the root of the tree it reads ("/proc", "/sys", a cgroup directory) so tests
// run on fixture trees written in the kernel's own formats. A source the machine does not have
// (no amdgpu device, cgroup v1, no ttm module) reads as nullopt — "not present" — never as an
// error: a box without a GPU still runs the simulator, the doctor says what is missing.
//
// Formats (docs/MONITOR.md cites each):
//  * /proc/meminfo: "MemTotal:       131072000 kB" lines, kB meaning KiB (proc(5)).
//  * cgroup v2 memory.current (bytes) and memory.max (bytes or "max") (cgroup-v2.rst).
//  * amdgpu sysfs under /sys/class/drm/cardN/device: mem_info_vram_total / _used,
//    mem_info_gtt_total / _used (bytes), gpu_busy_percent (0-100) (amdgpu driver-misc docs).
//  * The GPU's page limit: /sys/module/ttm/parameters/pages_limit (4 KiB pages; the
//    out-of-tree amdttm module's is /sys/module/amdttm/...) and the deprecated
//    /sys/module/amdgpu/parameters/gttsize (MiB, -1 for the driver's default).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json.hpp>

namespace cortex::monitor {

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};
std::optional<MemInfo> ReadMeminfo(const std::string& proc_root = "/proc");

struct CgroupMemory {
  uint64_t current_bytes = 0;
  std::optional<uint64_t> max_bytes;  // nullopt: "max", no limit
};
// `dir` is a cgroup v2 directory (/sys/fs/cgroup/system.slice/docker-ID.scope).
std::optional<CgroupMemory> ReadCgroupMemory(const std::string& dir);
// The cgroup v2 directory of a process, from /proc/PID/cgroup's "0::/path" line.
std::optional<std::string> CgroupDirOfPid(int pid, const std::string& proc_root = "/proc",
                                          const std::string& cgroup_root = "/sys/fs/cgroup");

struct AmdgpuDevice {
  std::string card;  // "card1"
  uint64_t vram_total_bytes = 0;
  uint64_t vram_used_bytes = 0;
  uint64_t gtt_total_bytes = 0;
  uint64_t gtt_used_bytes = 0;
  std::optional<int> busy_percent;
};
// The first DRM card with amdgpu's memory counters, in name order.
std::optional<AmdgpuDevice> ReadAmdgpuDevice(const std::string& drm_root = "/sys/class/drm");

struct GpuPageLimit {
  std::optional<uint64_t> ttm_bytes;   // pages_limit × 4 KiB
  std::string ttm_source;              // "ttm" or "amdttm"
  std::optional<int64_t> gttsize_mib;  // amdgpu.gttsize when set (not -1)
};
// nullopt when neither module's parameters are there.
std::optional<GpuPageLimit> ReadGpuPageLimit(const std::string& sys_root = "/sys");

// One sample of all of it.
struct MachineMemory {
  std::optional<MemInfo> meminfo;
  std::optional<AmdgpuDevice> amdgpu;
  std::optional<GpuPageLimit> page_limit;
};
struct MonitorRoots {
  std::string proc = "/proc";
  std::string sys = "/sys";
};
MachineMemory ReadMachineMemory(const MonitorRoots& roots = {});

// {"meminfo": {...} | {"present": false}, "amdgpu": ..., "gpu_page_limit": ...}.
boost::json::object MachineMemoryJson(const MachineMemory& m);

}  // namespace cortex::monitor
