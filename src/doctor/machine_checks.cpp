#include "doctor/machine_checks.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <optional>
#include <sstream>

#include "doctor/platform_facts.h"
#include "monitor/kernel_text.h"
#include "monitor/machine_memory.h"
#include "util/bytes.h"

namespace cortex::doctor {
namespace {

namespace fs = std::filesystem;
using monitor::ReadKernelFile;
using monitor::TrimSpace;

std::vector<fs::path> SortedEntries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// "gfx1151" from KFD's gfx_target_version (major*10000 + minor*100 + stepping).
std::string GfxName(std::string_view version) {
  unsigned v = 0;
  std::from_chars(version.data(), version.data() + version.size(), v);
  return fmt::format("gfx{}{}{:x}", v / 10000, (v / 100) % 100, v % 100);
}

// The group's name from the host's /etc/group, else its number.
std::string GroupName(const Host& host, unsigned gid) {
  if (auto text = ReadKernelFile(host.Path("/etc/group"))) {
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t a = line.find(':');
      const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
      const size_t c = b == std::string::npos ? b : line.find(':', b + 1);
      if (c == std::string::npos) continue;
      if (line.substr(b + 1, c - b - 1) == std::to_string(gid)) return line.substr(0, a);
    }
  }
  return std::to_string(gid);
}

bool EnginesUse(const Config& config, EngineKind kind, LaunchKind launch) {
  return std::any_of(config.engines.begin(), config.engines.end(), [&](const EngineConfig& e) {
    return e.url.empty() && e.kind == kind && e.launch == launch;
  });
}

// The first line of a command's output, trimmed, or "".
std::string FirstLine(const std::string& text) {
  const std::string_view t = TrimSpace(text);
  return std::string(t.substr(0, t.find('\n')));
}

}  // namespace

bool MayReadWrite(unsigned mode, unsigned owner_uid, unsigned owner_gid, unsigned uid,
                  const std::vector<unsigned>& gids) {
  if (uid == 0) return true;
  if (uid == owner_uid) return (mode & 0600) == 0600;
  if (std::find(gids.begin(), gids.end(), owner_gid) != gids.end()) return (mode & 060) == 060;
  return (mode & 06) == 06;
}

std::vector<CheckResult> CheckGpu(const Host& host, GpuFacts& facts) {
  std::vector<CheckResult> out;
  const auto device = monitor::ReadAmdgpuDevice(host.Path("/sys/class/drm"));
  facts.amdgpu = device.has_value();
  if (device) {
    out.push_back(Ok(
        "gpu.device", "AMD GPU (amdgpu driver)",
        fmt::format("{}: VRAM {} (on an APU: the BIOS carve-out), GTT {}", device->card,
                    FormatBytes(device->vram_total_bytes), FormatBytes(device->gtt_total_bytes))));
  } else {
    out.push_back(Fail(
        "gpu.device", "AMD GPU (amdgpu driver)",
        "no DRM card with amdgpu's memory counters under /sys/class/drm",
        "an amdgpu device (Strix Halo: Radeon 8060S, gfx1151)",
        "without a GPU cortex runs only simulated engines (`engine: sim`, as the demo does); on "
        "Strix Halo boot a kernel >= 6.18.4 with amdgpu loaded (`sudo modprobe amdgpu`, then "
        "`dmesg | grep amdgpu`)"));
  }

  // KFD's topology, as Lemonade reads it: the GPU node is the one with a gfx target.
  std::map<std::string, std::string> node;
  for (const fs::path& dir : SortedEntries(host.Path("/sys/class/kfd/kfd/topology/nodes"))) {
    auto text = ReadKernelFile(dir / "properties");
    if (!text) continue;
    auto props = ParseKfdProperties(*text);
    auto it = props.find("gfx_target_version");
    if (it == props.end() || TrimSpace(it->second) == "0") continue;
    node = std::move(props);
    facts.kfd_node = dir.string();
    break;
  }
  if (node.empty()) {
    if (!facts.amdgpu) {
      out.push_back(Skip("gpu.target", "GPU target (KFD topology)", "no AMD GPU"));
      out.push_back(Skip("gpu.kfd_fix", "Kernel's gfx1151 KFD fix", "no AMD GPU"));
    } else {
      out.push_back(Fail("gpu.target", "GPU target (KFD topology)",
                         "no GPU node under /sys/class/kfd/kfd/topology/nodes",
                         "a node with gfx_target_version 110501 (gfx1151)",
                         "load amdkfd with amdgpu (`sudo modprobe amdgpu`); ROCm engines need it"));
      out.push_back(Skip("gpu.kfd_fix", "Kernel's gfx1151 KFD fix", "no KFD GPU node"));
    }
    return out;
  }
  const std::string target(TrimSpace(node["gfx_target_version"]));
  facts.gfx1151 = target == kGfx1151TargetVersion;
  if (facts.gfx1151) {
    out.push_back(Ok("gpu.target", "GPU target (KFD topology)",
                     fmt::format("gfx1151 (gfx_target_version {})", target)));
  } else {
    out.push_back(Warn("gpu.target", "GPU target (KFD topology)",
                       fmt::format("{} (gfx_target_version {})", GfxName(target), target),
                       "gfx1151 (gfx_target_version 110501), the reference machine",
                       "cortex runs here, but set `machine:` (memory, gpu_pool, bandwidth, "
                       "compute) to this GPU's figures: the defaults are Strix Halo's"));
  }
  if (!facts.gfx1151) {
    out.push_back(Skip("gpu.kfd_fix", "Kernel's gfx1151 KFD fix", "not a gfx1151 GPU"));
  } else if (node.count("cwsr_size") != 0 && node.count("ctl_stack_size") != 0) {
    out.push_back(
        Ok("gpu.kfd_fix", "Kernel's gfx1151 KFD fix",
           fmt::format("cwsr_size {}, ctl_stack_size {} in {}", TrimSpace(node["cwsr_size"]),
                       TrimSpace(node["ctl_stack_size"]), facts.kfd_node)));
  } else {
    out.push_back(Fail("gpu.kfd_fix", "Kernel's gfx1151 KFD fix",
                       "no cwsr_size / ctl_stack_size in " + facts.kfd_node + "/properties",
                       "both, as kernels with the fix publish them",
                       fmt::format("boot a kernel >= {}; ROCm engines fail to create queues "
                                   "without it",
                                   kMinimumKernelText)));
  }
  return out;
}

std::vector<CheckResult> CheckDeviceAccess(const Host& host, const GpuFacts& gpu) {
  std::vector<CheckResult> out;
  auto judge = [&](const std::string& id, const std::string& title,
                   const std::vector<std::string>& devices, bool needed_for_all) {
    if (devices.empty()) {
      if (!gpu.amdgpu) {
        out.push_back(Skip(id, title, "no AMD GPU"));
      } else if (needed_for_all) {
        out.push_back(Fail(id, title, "no /dev/dri/renderD* node", "a render node for the GPU",
                           "the amdgpu driver did not create one: `dmesg | grep amdgpu`"));
      } else {
        out.push_back(Warn(id, title, "no /dev/kfd", "/dev/kfd (ROCm's compute device)",
                           "ROCm engines (vLLM, llama.cpp HIP) cannot run; Vulkan llama.cpp can. "
                           "Load amdkfd with amdgpu (`sudo modprobe amdgpu`)"));
      }
      return;
    }
    std::string found, blocked, groups;
    for (const std::string& d : devices) {
      struct stat st {};
      if (::stat(host.Path(d).c_str(), &st) != 0) continue;
      const bool ok = MayReadWrite(st.st_mode & 07777, st.st_uid, st.st_gid, host.uid, host.gids);
      const std::string group = GroupName(host, st.st_gid);
      found += fmt::format("{}{} (mode {:o}, group {}): {}", found.empty() ? "" : "; ", d,
                           st.st_mode & 0777, group, ok ? "read-write" : "no access");
      if (!ok) {
        blocked += (blocked.empty() ? "" : ", ") + d;
        if (groups.find(group) == std::string::npos) groups += (groups.empty() ? "" : ",") + group;
      }
    }
    if (blocked.empty()) {
      out.push_back(Ok(id, title, found));
    } else {
      out.push_back(Fail(id, title, found,
                         "read-write access for the user the engines run as (uid " +
                             std::to_string(host.uid) + ")",
                         fmt::format("sudo usermod -aG {} $USER, then log in again (containers: "
                                     "`group_add: [{}]`)",
                                     groups, groups)));
    }
  };
  std::vector<std::string> kfd;
  if (fs::exists(host.Path("/dev/kfd"))) kfd.push_back("/dev/kfd");
  judge("dev.kfd", "Access to /dev/kfd (ROCm)", kfd, false);
  std::vector<std::string> render;
  for (const fs::path& p : SortedEntries(host.Path("/dev/dri"))) {
    if (p.filename().string().rfind("renderD", 0) == 0)
      render.push_back("/dev/dri/" + p.filename().string());
  }
  judge("dev.render", "Access to the GPU's render nodes (Vulkan, ROCm)", render, true);
  return out;
}

CheckResult CheckKernel(const Host& host, const GpuFacts& gpu) {
  const std::string title = "Linux kernel for gfx1151 (AMD's minimum)";
  const auto release = ReadKernelFile(host.Path("/proc/sys/kernel/osrelease"));
  if (!release)
    return Warn("kernel.version", title, "cannot read /proc/sys/kernel/osrelease",
                std::string(kMinimumKernelText), "run the doctor on the host itself");
  const auto signature = ReadKernelFile(host.Path("/proc/version_signature"));
  const KernelVerdict v = JudgeKernel(*release, signature ? TrimSpace(*signature) : "");
  const std::string found = fmt::format("{} ({})", TrimSpace(*release), v.why);
  switch (v.kind) {
    case KernelVerdict::Kind::kHasFix:
      return Ok("kernel.version", title, found, std::string(kMinimumKernelText));
    case KernelVerdict::Kind::kTooOld: {
      const std::string fix = fmt::format(
          "install a kernel >= {} (Fedora 43, Ubuntu 26.04 and Arch 2026.02.01 ship one); ROCm "
          "7.2 is unsupported below it and ROCm engines fail to create queues",
          kMinimumKernelText);
      if (gpu.amdgpu)
        return Fail("kernel.version", title, found, std::string(kMinimumKernelText), fix);
      return Warn("kernel.version", title, found + "; no AMD GPU here, so nothing fails yet",
                  std::string(kMinimumKernelText), fix);
    }
    case KernelVerdict::Kind::kUnknown:
      break;
  }
  return Warn("kernel.version", title, found, std::string(kMinimumKernelText),
              "check the release by hand against the minimum");
}

std::vector<CheckResult> CheckFirmware(const Host& host, const GpuFacts& gpu) {
  std::vector<CheckResult> out;
  const std::string title = "linux-firmware release";
  std::string version, source;
  if (auto status = ReadKernelFile(host.Path("/var/lib/dpkg/status"))) {
    for (const char* package : {"linux-firmware", "firmware-amd-graphics"}) {
      if (auto v = DpkgInstalledVersion(*status, package)) {
        version = *v;
        source = std::string("dpkg ") + package;
        break;
      }
    }
  }
  if (version.empty()) {
    const std::array<std::vector<std::string>, 2> queries = {
        std::vector<std::string>{"rpm", "-q", "--qf", "%{VERSION}", "linux-firmware"},
        std::vector<std::string>{"pacman", "-Q", "linux-firmware"}};
    for (const auto& argv : queries) {
      if (!FindExecutable(host, argv[0])) continue;
      const CommandOutput r = host.run(argv, 10);
      if (r.exit_code == 0 && FirmwareReleaseDate(r.output)) {
        version = FirstLine(r.output);
        source = argv[0];
        break;
      }
    }
  }
  const auto date = FirmwareReleaseDate(version);
  if (!date) {
    out.push_back(Skip("firmware.package", title,
                       "no linux-firmware package found (dpkg, rpm, pacman): cannot tell the "
                       "release"));
  } else if (*date == kBadFirmwareRelease) {
    const std::string found = fmt::format("{} ({})", version, source);
    const std::string fix =
        "downgrade to linux-firmware 20251111 or upgrade to 20260110 or later, then reboot";
    if (gpu.amdgpu)
      out.push_back(Fail("firmware.package", title, found, "not 20251125 (it breaks ROCm)", fix));
    else
      out.push_back(Warn("firmware.package", title, found + "; no AMD GPU here",
                         "not 20251125 (it breaks ROCm)", fix));
  } else {
    out.push_back(
        Ok("firmware.package", title, fmt::format("{} ({})", version, source), "not 20251125"));
  }

  // MES (the GPU's scheduler firmware) as the driver loaded it; debugfs needs root.
  std::optional<uint32_t> mes;
  std::string mes_file;
  for (const fs::path& dir : SortedEntries(host.Path("/sys/kernel/debug/dri"))) {
    auto text = ReadKernelFile(dir / "amdgpu_firmware_info");
    if (!text) continue;
    mes = MesFirmwareVersion(*text);
    if (mes) {
      mes_file = (dir / "amdgpu_firmware_info").string();
      break;
    }
  }
  const std::string mes_title = "MES firmware version";
  if (!mes) {
    out.push_back(Skip("firmware.mes", mes_title,
                       gpu.amdgpu ? "debugfs's amdgpu_firmware_info is not readable (run `sudo "
                                    "cortex doctor` to check it)"
                                  : "no AMD GPU"));
  } else if (*mes == kBadMesFirmware) {
    out.push_back(Fail("firmware.mes", mes_title, fmt::format("0x{:x} ({})", *mes, mes_file),
                       "not 0x83 (hangs and page faults); 0x80 is good",
                       "update linux-firmware (20260110 or later); until then boot with "
                       "amdgpu.cwsr_enable=0"));
  } else {
    out.push_back(
        Ok("firmware.mes", mes_title, fmt::format("0x{:x} ({})", *mes, mes_file), "not 0x83"));
  }
  return out;
}

std::vector<CheckResult> CheckGpuSoftware(const Host& host, const Config& config,
                                          const GpuFacts& gpu) {
  std::vector<CheckResult> out;
  // ROCm: its version file, and the tools' own words when they are installed.
  std::vector<std::string> found;
  std::optional<std::array<int, 2>> rocm;
  if (auto text = ReadKernelFile(host.Path("/opt/rocm/.info/version"))) {
    const std::string v(TrimSpace(*text));
    found.push_back("ROCm " + v + " (/opt/rocm/.info/version)");
    int major = 0, minor = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
    if (ec == std::errc() && p < v.data() + v.size() && *p == '.' &&
        std::from_chars(p + 1, v.data() + v.size(), minor).ec == std::errc())
      rocm = std::array<int, 2>{major, minor};
  }
  for (const std::vector<std::string>& argv : {std::vector<std::string>{"amd-smi", "version"},
                                               std::vector<std::string>{"rocm-smi", "--version"}}) {
    if (!FindExecutable(host, argv[0])) continue;
    const CommandOutput r = host.run(argv, 15);
    found.push_back(argv[0] + ": " +
                    (r.exit_code == 0 ? FirstLine(r.output) : fmt::format("exit {}", r.exit_code)));
  }
  const bool rocm_on_host = EnginesUse(config, EngineKind::kVllm, LaunchKind::kProcess);
  const std::string title = "ROCm on the host";
  auto joined = [&] {
    std::string s;
    for (const std::string& f : found)
      s += (s.empty() ? "" : "; ") + f;
    return s;
  };
  if (found.empty()) {
    if (rocm_on_host) {
      out.push_back(Fail("rocm.version", title, "not installed (no /opt/rocm, amd-smi, rocm-smi)",
                         "ROCm 7.2.1 or later: a vLLM engine runs as a host process",
                         "install ROCm 7.2.1+ (https://rocm.docs.amd.com), or give the vLLM "
                         "engine `launch: docker` to run vLLM's ROCm image"));
    } else {
      out.push_back(Ok("rocm.version", title,
                       "not installed; no engine needs it on the host (llama.cpp on Vulkan, or "
                       "engines in containers)"));
    }
  } else if (rocm && ((*rocm)[0] < 7 || ((*rocm)[0] == 7 && (*rocm)[1] < 2) ||
                      ((*rocm)[0] == 7 && ((*rocm)[1] == 9 || (*rocm)[1] == 10)))) {
    out.push_back(Warn("rocm.version", title, joined(),
                       "ROCm 7.2.1+ or 7.11+ (supported on gfx1151 with the fixed kernels)",
                       "upgrade ROCm; 6.4.x, 7.1.x and 7.9-7.10 are unsupported on gfx1151 "
                       "kernels with the KFD fix"));
  } else {
    out.push_back(Ok("rocm.version", title, joined(), "ROCm 7.2.1+ or 7.11+"));
  }

  // The Vulkan loader and Mesa's RADV driver, for a llama.cpp Vulkan build on the host.
  const bool vulkan_on_host = EnginesUse(config, EngineKind::kLlamaCpp, LaunchKind::kProcess);
  std::string loader;
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/libvulkan.so.1", "/usr/lib64/libvulkan.so.1",
                        "/usr/lib/libvulkan.so.1", "/usr/lib/aarch64-linux-gnu/libvulkan.so.1"}) {
    if (fs::exists(host.Path(p))) {
      loader = p;
      break;
    }
  }
  std::string icds;
  bool radeon = false;
  for (const char* dir : {"/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"}) {
    for (const fs::path& f : SortedEntries(host.Path(dir))) {
      const std::string name = f.filename().string();
      if (f.extension() != ".json") continue;
      icds += (icds.empty() ? "" : ", ") + name;
      radeon = radeon || name.rfind("radeon_icd", 0) == 0;
    }
  }
  const std::string vk_title = "Vulkan loader and RADV (llama.cpp's Vulkan backend)";
  const std::string vk_found = fmt::format(
      "loader: {}; drivers: {}", loader.empty() ? "none" : loader, icds.empty() ? "none" : icds);
  if (!vulkan_on_host) {
    out.push_back(Skip(
        "vulkan.loader", vk_title,
        "no llama.cpp engine runs on the host (the Vulkan image carries its own); " + vk_found));
  } else if (loader.empty() || !radeon) {
    const auto make = gpu.amdgpu ? Fail : Warn;
    out.push_back(make("vulkan.loader", vk_title, vk_found,
                       "libvulkan.so.1 and Mesa's radeon_icd (RADV)",
                       "sudo apt-get install libvulkan1 mesa-vulkan-drivers (Fedora: "
                       "vulkan-loader mesa-vulkan-drivers); a llama-server built with ROCm/HIP "
                       "does not need them"));
  } else {
    out.push_back(Ok("vulkan.loader", vk_title, vk_found));
  }
  return out;
}

CheckResult CheckGpuPageLimit(const Host& host, const DeploymentPlan& plan, const GpuFacts& gpu) {
  const std::string title = "GPU page limit (TTM / GTT) against the plan's gpu_pool";
  const uint64_t pool = plan.machine.gpu_pool_bytes;
  const uint64_t mapped = plan.machine.device_bytes;
  if (!gpu.amdgpu)
    return Skip(
        "gpu.page_limit", title,
        fmt::format("no AMD GPU: the plan's gpu_pool ({}) cannot be checked", FormatBytes(pool)));
  const auto device = monitor::ReadAmdgpuDevice(host.Path("/sys/class/drm"));
  const auto limit = monitor::ReadGpuPageLimit(host.Path("/sys"));
  std::optional<uint64_t> usable;
  std::string found;
  if (device) {
    usable = device->gtt_total_bytes;
    found = fmt::format(
        "GTT {} ({}); VRAM {} is the BIOS carve-out, which is all rocm-smi's "
        "\"VRAM\" shows on this APU",
        FormatBytes(device->gtt_total_bytes), device->card, FormatBytes(device->vram_total_bytes));
  }
  if (limit && limit->ttm_bytes) {
    usable = usable ? std::min(*usable, *limit->ttm_bytes) : *limit->ttm_bytes;
    found += fmt::format("; {}.pages_limit {} ({} pages)", limit->ttm_source,
                         FormatBytes(*limit->ttm_bytes), *limit->ttm_bytes / 4096);
  }
  if (limit && limit->gttsize_mib)
    found += fmt::format("; amdgpu.gttsize={} MiB is deprecated (set only ttm.pages_limit)",
                         *limit->gttsize_mib);
  if (!usable)
    return Warn("gpu.page_limit", title, "no GTT size or TTM limit readable", FormatBytes(pool),
                "check /sys/module/ttm/parameters/pages_limit");
  const uint64_t pages = (pool + 4095) / 4096;
  const std::string fix = fmt::format(
      "echo 'options ttm pages_limit={}' | sudo tee /etc/modprobe.d/ttm.conf, rebuild the "
      "initramfs and reboot ({} = gpu_pool / 4 KiB); or set `machine: gpu_pool: {}` to what the "
      "GPU maps now",
      pages, pages, FormatBytes(*usable));
  const std::string expected = fmt::format("at least the plan's gpu_pool, {}", FormatBytes(pool));
  if (*usable >= pool) return Ok("gpu.page_limit", title, found, expected);
  if (*usable >= mapped)
    return Warn("gpu.page_limit", title,
                found + fmt::format("; below gpu_pool, but holds what the engines map ({})",
                                    FormatBytes(mapped)),
                expected, fix);
  return Fail("gpu.page_limit", title,
              found + fmt::format("; the engines map {}", FormatBytes(mapped)), expected, fix);
}

std::vector<CheckResult> CheckMemory(const Host& host, const DeploymentPlan& plan,
                                     bool engines_running) {
  std::vector<CheckResult> out;
  const auto mem = monitor::ReadMeminfo(host.Path("/proc"));
  if (!mem) {
    out.push_back(Warn("memory.total", "Physical memory against the config", "no /proc/meminfo", "",
                       "run the doctor on the host itself"));
    return out;
  }
  // MemTotal leaves out the BIOS carve-out, which is still the machine's memory.
  const auto device = monitor::ReadAmdgpuDevice(host.Path("/sys/class/drm"));
  const uint64_t carve_out = device ? device->vram_total_bytes : 0;
  const uint64_t physical = mem->total_bytes + carve_out;
  const uint64_t configured = plan.machine.memory_bytes;
  const std::string title = "Physical memory against the config's machine.memory";
  const std::string found =
      carve_out > 0 ? fmt::format("{} (MemTotal {} + carve-out {})", FormatBytes(physical),
                                  FormatBytes(mem->total_bytes), FormatBytes(carve_out))
                    : fmt::format("{} (MemTotal)", FormatBytes(physical));
  // The kernel keeps a few percent for itself, so MemTotal is always a little below the RAM.
  if (static_cast<double>(physical) < 0.95 * static_cast<double>(configured)) {
    out.push_back(Fail("memory.total", title, found,
                       fmt::format("machine.memory {} (within 5%)", FormatBytes(configured)),
                       fmt::format("run on the machine the config describes, or set `machine: "
                                   "memory: {}` and plan again (`cortex plan`)",
                                   FormatBytes(physical))));
  } else {
    out.push_back(Ok("memory.total", title, found, FormatBytes(configured)));
  }

  const uint64_t budgets = plan.machine.budgets_bytes;
  const std::string avail_title = "Available memory against the engines' budgets";
  const std::string avail_found = fmt::format(
      "MemAvailable {}; the plan's budgets {}, reserves {}", FormatBytes(mem->available_bytes),
      FormatBytes(budgets), FormatBytes(plan.machine.reserved_bytes));
  if (engines_running) {
    out.push_back(Skip("memory.available", avail_title,
                       avail_found + "; cortex's engines are running and hold their share"));
  } else if (mem->available_bytes < budgets) {
    out.push_back(Fail("memory.available", avail_title, avail_found,
                       "MemAvailable >= the engines' budgets",
                       "stop what holds the rest (`ps aux --sort=-rss | head`), or lower the "
                       "engines' budgets"));
  } else if (mem->available_bytes < budgets + plan.machine.reserved_bytes) {
    out.push_back(Warn("memory.available", avail_title, avail_found,
                       "MemAvailable >= budgets + reserves",
                       "other programs hold part of the reserves; expect swapping under load"));
  } else {
    out.push_back(Ok("memory.available", avail_title, avail_found));
  }
  return out;
}

}  // namespace cortex::doctor
