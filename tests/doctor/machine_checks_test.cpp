// The machine checks on fixture roots: a healthy Strix Halo box, one with the known problems
// (old kernel, no KFD fix, bad firmware, MES 0x83, low page limit, no device access), and a
// machine with no GPU, which must be told so with the fix rather than stop the report.
// File formats: KFD topology properties are "name value" lines (drivers/gpu/drm/amd/amdkfd/
// kfd_topology.c); amdgpu sysfs and ttm pages_limit as in tests/monitor; amdgpu_firmware_info
// as debugfs prints it; /var/lib/dpkg/status as dpkg(1) writes it.
#include "doctor/machine_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/config_loader.h"
#include "doctor/find_check.h"
#include "support/temp_dir.h"

namespace cortex::doctor {
namespace {

namespace fs = std::filesystem;
using cortex::testing::TempDir;

constexpr uint64_t GiB = uint64_t{1} << 30;

void Write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

const CheckResult& Find(const std::vector<CheckResult>& checks, const std::string& id) {
  return FindCheck(checks, id);
}

// A 128 GiB Strix Halo with 512 MiB carve-out and ttm.pages_limit at 124 GiB.
void WriteStrixHalo(const TempDir& root, bool fixed = true) {
  const std::string dev = root.File("sys/class/drm/card1/device/");
  Write(dev + "mem_info_vram_total", std::to_string(512ull << 20) + "\n");
  Write(dev + "mem_info_vram_used", "104857600\n");
  Write(dev + "mem_info_gtt_total", std::to_string(124 * GiB) + "\n");
  Write(dev + "mem_info_gtt_used", "1048576\n");
  Write(dev + "gpu_busy_percent", "3\n");
  Write(root.File("sys/module/ttm/parameters/pages_limit"), "32505856\n");
  Write(root.File("sys/class/kfd/kfd/topology/nodes/0/properties"),
        "cpu_cores_count 32\nsimd_count 0\ngfx_target_version 0\n");
  std::string gpu_node =
      "cpu_cores_count 0\nsimd_count 80\nmax_waves_per_simd 16\ngfx_target_version 110501\n"
      "drm_render_minor 128\n";
  if (fixed) gpu_node += "cwsr_size 5914624\nctl_stack_size 20480\n";
  Write(root.File("sys/class/kfd/kfd/topology/nodes/1/properties"), gpu_node);
  Write(root.File("proc/sys/kernel/osrelease"), fixed ? "6.18.9-200.fc43.x86_64\n" : "6.15.4\n");
  Write(root.File("proc/meminfo"), "MemTotal:       133693440 kB\nMemAvailable:   120000000 kB\n");
  Write(root.File("dev/kfd"), "");
  Write(root.File("dev/dri/renderD128"), "");
  Write(root.File("dev/dri/card1"), "");
  Write(root.File("etc/group"), "root:x:0:\nvideo:x:44:\nrender:x:105:\n");
}

Host FixtureHost(const TempDir& root) {
  Host h;
  h.root = root.path();
  h.path_env = "/usr/bin";
  h.uid = 0;
  h.run = [](const std::vector<std::string>&, double) { return CommandOutput{}; };
  return h;
}

DeploymentPlan PlanWithPool(uint64_t memory, uint64_t pool, uint64_t mapped, uint64_t budgets) {
  DeploymentPlan p;
  p.profile = "normal";
  p.machine.memory_bytes = memory;
  p.machine.gpu_pool_bytes = pool;
  p.machine.device_bytes = mapped;
  p.machine.budgets_bytes = budgets;
  p.machine.reserved_bytes = 6 * GiB;
  return p;
}

TEST(CheckGpu, FindsGfx1151WithTheKfdFix) {
  TempDir root;
  WriteStrixHalo(root);
  GpuFacts facts;
  const auto checks = CheckGpu(FixtureHost(root), facts);
  EXPECT_TRUE(facts.amdgpu);
  EXPECT_TRUE(facts.gfx1151);
  EXPECT_EQ(Find(checks, "gpu.device").state, CheckState::kOk);
  EXPECT_NE(Find(checks, "gpu.device").found.find("card1"), std::string::npos);
  EXPECT_EQ(Find(checks, "gpu.target").state, CheckState::kOk);
  EXPECT_EQ(Find(checks, "gpu.kfd_fix").state, CheckState::kOk);
}

TEST(CheckGpu, FailsTheKfdFixWhenTheTopologyLacksCwsrSize) {
  TempDir root;
  WriteStrixHalo(root, /*fixed=*/false);
  GpuFacts facts;
  const auto checks = CheckGpu(FixtureHost(root), facts);
  const CheckResult& fix = Find(checks, "gpu.kfd_fix");
  EXPECT_EQ(fix.state, CheckState::kFail);
  EXPECT_NE(fix.fix.find("6.18.4"), std::string::npos);
}

TEST(CheckGpu, WarnsAboutAnotherGpuTargetByName) {
  TempDir root;
  WriteStrixHalo(root);
  Write(root.File("sys/class/kfd/kfd/topology/nodes/1/properties"), "gfx_target_version 110001\n");
  GpuFacts facts;
  const auto checks = CheckGpu(FixtureHost(root), facts);
  EXPECT_EQ(Find(checks, "gpu.target").state, CheckState::kWarn);
  EXPECT_NE(Find(checks, "gpu.target").found.find("gfx1101"), std::string::npos);
  EXPECT_EQ(Find(checks, "gpu.kfd_fix").state, CheckState::kSkip);
}

TEST(CheckGpu, AMachineWithoutAGpuFailsOnceWithTheFixAndSkipsTheRest) {
  TempDir root;
  Write(root.File("proc/meminfo"), "MemTotal: 24000000 kB\nMemAvailable: 20000000 kB\n");
  const Host host = FixtureHost(root);
  GpuFacts facts;
  const auto gpu = CheckGpu(host, facts);
  EXPECT_EQ(Find(gpu, "gpu.device").state, CheckState::kFail);
  EXPECT_NE(Find(gpu, "gpu.device").fix.find("engine: sim"), std::string::npos);
  EXPECT_EQ(Find(gpu, "gpu.target").state, CheckState::kSkip);
  const auto access = CheckDeviceAccess(host, facts);
  EXPECT_EQ(Find(access, "dev.kfd").state, CheckState::kSkip);
  EXPECT_EQ(Find(access, "dev.render").state, CheckState::kSkip);
  EXPECT_EQ(CheckGpuPageLimit(host, PlanWithPool(128 * GiB, 120 * GiB, 0, 0), facts).state,
            CheckState::kSkip);
  const auto fw = CheckFirmware(host, facts);
  EXPECT_EQ(Find(fw, "firmware.mes").state, CheckState::kSkip);
}

TEST(MayReadWrite, FollowsOwnerGroupOtherBits) {
  EXPECT_TRUE(MayReadWrite(0660, 0, 105, 1000, {1000, 105}));
  EXPECT_FALSE(MayReadWrite(0660, 0, 105, 1000, {1000, 44}));
  EXPECT_TRUE(MayReadWrite(0666, 0, 105, 1000, {1000}));
  EXPECT_TRUE(MayReadWrite(0600, 1000, 105, 1000, {1000}));
  EXPECT_FALSE(MayReadWrite(0640, 0, 105, 1000, {105}));
  EXPECT_TRUE(MayReadWrite(0000, 0, 0, 0, {}));  // root
}

TEST(CheckDeviceAccess, NamesTheGroupToJoinWhenTheUserLacksIt) {
  TempDir root;
  WriteStrixHalo(root);
  ::chmod(root.File("dev/kfd").c_str(), 0660);
  ::chmod(root.File("dev/dri/renderD128").c_str(), 0666);
  Host host = FixtureHost(root);
  host.uid = 4242;  // not the files' owner, not in their group
  host.gids = {4242};
  struct stat st {};
  ::stat(root.File("dev/kfd").c_str(), &st);
  Write(root.File("etc/group"), "render:x:" + std::to_string(st.st_gid) + ":\n");
  GpuFacts facts;
  (void)CheckGpu(host, facts);
  const auto checks = CheckDeviceAccess(host, facts);
  const CheckResult& kfd = Find(checks, "dev.kfd");
  EXPECT_EQ(kfd.state, CheckState::kFail);
  EXPECT_NE(kfd.fix.find("usermod -aG render"), std::string::npos) << kfd.fix;
  EXPECT_EQ(Find(checks, "dev.render").state, CheckState::kOk);  // 0666
}

TEST(CheckKernel, FailsAnOldKernelOnlyWhereThereIsAnAmdGpu) {
  TempDir root;
  WriteStrixHalo(root, /*fixed=*/false);
  GpuFacts with_gpu;
  with_gpu.amdgpu = true;
  const CheckResult on_gpu = CheckKernel(FixtureHost(root), with_gpu);
  EXPECT_EQ(on_gpu.state, CheckState::kFail);
  EXPECT_NE(on_gpu.found.find("6.15.4 < 6.18.4"), std::string::npos);
  EXPECT_EQ(CheckKernel(FixtureHost(root), GpuFacts{}).state, CheckState::kWarn);
  Write(root.File("proc/sys/kernel/osrelease"), "6.17.0-19-generic\n");
  Write(root.File("proc/version_signature"), "Ubuntu 6.17.0-19.19~24.04.2-generic 6.17.9\n");
  EXPECT_EQ(CheckKernel(FixtureHost(root), with_gpu).state, CheckState::kOk);
}

TEST(CheckFirmware, FailsTheKnownBadReleaseAndMes0x83) {
  TempDir root;
  WriteStrixHalo(root);
  Write(root.File("var/lib/dpkg/status"),
        "Package: linux-firmware\nStatus: install ok installed\nVersion: 20251125.git1-0ubuntu1\n");
  Write(root.File("sys/kernel/debug/dri/1/amdgpu_firmware_info"),
        "MES_KIQ feature version: 6, firmware version: 0x0000006c\n"
        "MES feature version: 1, firmware version: 0x00000083\n");
  GpuFacts facts;
  facts.amdgpu = true;
  const auto checks = CheckFirmware(FixtureHost(root), facts);
  EXPECT_EQ(Find(checks, "firmware.package").state, CheckState::kFail);
  EXPECT_NE(Find(checks, "firmware.package").fix.find("20251111"), std::string::npos);
  EXPECT_EQ(Find(checks, "firmware.mes").state, CheckState::kFail);
  EXPECT_NE(Find(checks, "firmware.mes").found.find("0x83"), std::string::npos);
}

TEST(CheckFirmware, AsksRpmWhenThereIsNoDpkgAndAcceptsAGoodRelease) {
  TempDir root;
  WriteStrixHalo(root);
  Write(root.File("usr/bin/rpm"), "#!/bin/sh\n");
  ::chmod(root.File("usr/bin/rpm").c_str(), 0755);
  Write(root.File("sys/kernel/debug/dri/1/amdgpu_firmware_info"),
        "MES feature version: 1, firmware version: 0x00000080\n");
  Host host = FixtureHost(root);
  std::vector<std::string> asked;
  host.run = [&](const std::vector<std::string>& argv, double) {
    asked = argv;
    return CommandOutput{0, "20260110", true};
  };
  GpuFacts facts;
  facts.amdgpu = true;
  const auto checks = CheckFirmware(host, facts);
  EXPECT_EQ(Find(checks, "firmware.package").state, CheckState::kOk);
  EXPECT_NE(Find(checks, "firmware.package").found.find("20260110 (rpm)"), std::string::npos);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back(), "linux-firmware");
  EXPECT_EQ(Find(checks, "firmware.mes").state, CheckState::kOk);
}

TEST(CheckGpuPageLimit, ComparesTheSmallerOfGttAndTtmWithThePool) {
  TempDir root;
  WriteStrixHalo(root);
  GpuFacts facts;
  facts.amdgpu = true;
  const Host host = FixtureHost(root);
  const CheckResult ok =
      CheckGpuPageLimit(host, PlanWithPool(128 * GiB, 120 * GiB, 90 * GiB, 0), facts);
  EXPECT_EQ(ok.state, CheckState::kOk);
  EXPECT_NE(ok.found.find("carve-out"), std::string::npos);  // rocm-smi's "VRAM" explained
  // The default page limit (half the RAM) under a plan that maps more than that.
  Write(root.File("sys/module/ttm/parameters/pages_limit"), std::to_string(16252928) + "\n");
  const CheckResult low =
      CheckGpuPageLimit(host, PlanWithPool(128 * GiB, 120 * GiB, 90 * GiB, 0), facts);
  EXPECT_EQ(low.state, CheckState::kFail);
  EXPECT_NE(low.fix.find("options ttm pages_limit=31457280"), std::string::npos) << low.fix;
  const CheckResult enough =
      CheckGpuPageLimit(host, PlanWithPool(128 * GiB, 120 * GiB, 40 * GiB, 0), facts);
  EXPECT_EQ(enough.state, CheckState::kWarn);
}

TEST(CheckMemory, CountsTheCarveOutAndFailsAConfigForABiggerMachine) {
  TempDir root;
  WriteStrixHalo(root);
  const Host host = FixtureHost(root);
  auto ok = CheckMemory(host, PlanWithPool(128 * GiB, 120 * GiB, 0, 100 * GiB), false);
  EXPECT_EQ(Find(ok, "memory.total").state, CheckState::kOk);
  EXPECT_EQ(Find(ok, "memory.available").state, CheckState::kOk);
  auto big = CheckMemory(host, PlanWithPool(256 * GiB, 120 * GiB, 0, 100 * GiB), false);
  EXPECT_EQ(Find(big, "memory.total").state, CheckState::kFail);
  auto busy = CheckMemory(host, PlanWithPool(128 * GiB, 120 * GiB, 0, 118 * GiB), false);
  EXPECT_EQ(Find(busy, "memory.available").state, CheckState::kFail);
  auto running = CheckMemory(host, PlanWithPool(128 * GiB, 120 * GiB, 0, 118 * GiB), true);
  EXPECT_EQ(Find(running, "memory.available").state, CheckState::kSkip);
}

TEST(CheckGpuSoftware, FailsMissingRocmOnlyWhenVllmRunsOnTheHost) {
  TempDir root;
  WriteStrixHalo(root);
  auto config = ParseConfig(R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  v: {engine: vllm, model: {hf: Qwen/Qwen2.5-0.5B-Instruct}, port: 8000, budget: 10GiB}
  l: {engine: llama.cpp, model: /m.gguf, port: 8081, budget: 10GiB}
lanes:
  a: {engine: v}
)",
                            "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  GpuFacts facts;
  facts.amdgpu = true;
  auto checks = CheckGpuSoftware(FixtureHost(root), *config, facts);
  EXPECT_EQ(Find(checks, "rocm.version").state, CheckState::kFail);
  EXPECT_EQ(Find(checks, "vulkan.loader").state, CheckState::kFail);
  Write(root.File("opt/rocm/.info/version"), "7.2.1-81\n");
  Write(root.File("usr/lib/x86_64-linux-gnu/libvulkan.so.1"), "");
  Write(root.File("usr/share/vulkan/icd.d/radeon_icd.x86_64.json"), "{}");
  checks = CheckGpuSoftware(FixtureHost(root), *config, facts);
  EXPECT_EQ(Find(checks, "rocm.version").state, CheckState::kOk);
  EXPECT_EQ(Find(checks, "vulkan.loader").state, CheckState::kOk);
  Write(root.File("opt/rocm/.info/version"), "6.4.3-127\n");
  checks = CheckGpuSoftware(FixtureHost(root), *config, facts);
  EXPECT_EQ(Find(checks, "rocm.version").state, CheckState::kWarn);
}

}  // namespace
}  // namespace cortex::doctor
