// The machine-wide readers on fixture trees. Each fixture file is written in the format the
// kernel documents for it (cited beside it), with numbers from a 128 GiB Strix Halo box; the
// readers must also say "not present" for a tree without the file, as on a machine without an
// AMD GPU, rather than fail.
#include "monitor/machine_memory.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace cortex::monitor {
namespace {

namespace fs = std::filesystem;
using cortex::testing::TempDir;

constexpr uint64_t GiB = uint64_t{1} << 30;

void Write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// proc(5), /proc/meminfo: "key: value kB", where kB means KiB; abridged.
constexpr std::string_view kMeminfo =
    "MemTotal:       131072000 kB\n"
    "MemFree:         9437184 kB\n"
    "MemAvailable:   98304000 kB\n"
    "Buffers:          262144 kB\n"
    "Cached:         12582912 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

TEST(ReadMeminfo, ReadsTotalAndAvailableInBytes) {
  TempDir dir;
  Write(dir.File("proc/meminfo"), kMeminfo);
  auto m = ReadMeminfo(dir.File("proc"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->total_bytes, uint64_t{131072000} * 1024);
  EXPECT_EQ(m->available_bytes, uint64_t{98304000} * 1024);
}

TEST(ReadMeminfo, IsNotPresentWithoutTheFileOrWithoutMemAvailable) {
  TempDir dir;
  EXPECT_FALSE(ReadMeminfo(dir.File("proc")).has_value());
  Write(dir.File("proc/meminfo"), "MemTotal:       131072000 kB\nMemFree: 1 kB\n");
  EXPECT_FALSE(ReadMeminfo(dir.File("proc")).has_value()) << "a kernel before 3.14";
  Write(dir.File("proc/meminfo"), "MemTotal: lots kB\nMemAvailable: 1 kB\n");
  EXPECT_FALSE(ReadMeminfo(dir.File("proc")).has_value());
}

// Documentation/admin-guide/cgroup-v2.rst: memory.current is bytes; memory.max is bytes or
// "max"; /proc/PID/cgroup on a v2-only system is the single line "0::/path".
TEST(ReadCgroupMemory, ReadsCurrentAndALimitOrNone) {
  TempDir dir;
  const std::string scope = dir.File("cgroup/system.slice/docker-0123abcd.scope");
  Write(scope + "/memory.current", "52613349376\n");
  Write(scope + "/memory.max", "68719476736\n");
  auto m = ReadCgroupMemory(scope);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->current_bytes, 52613349376u);
  ASSERT_TRUE(m->max_bytes.has_value());
  EXPECT_EQ(*m->max_bytes, 64 * GiB);

  Write(scope + "/memory.max", "max\n");
  m = ReadCgroupMemory(scope);
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->max_bytes.has_value());
  EXPECT_FALSE(ReadCgroupMemory(dir.File("cgroup/none")).has_value());
}

TEST(CgroupDirOfPid, FindsTheUnifiedHierarchyLineAndRefusesEscapes) {
  TempDir dir;
  Write(dir.File("proc/4242/cgroup"), "0::/system.slice/docker-0123abcd.scope\n");
  auto d = CgroupDirOfPid(4242, dir.File("proc"), "/sys/fs/cgroup");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, "/sys/fs/cgroup/system.slice/docker-0123abcd.scope");
  // cgroup v1 (controller lines only): not present.
  Write(dir.File("proc/4243/cgroup"), "12:memory:/user.slice\n11:cpu,cpuacct:/user.slice\n");
  EXPECT_FALSE(CgroupDirOfPid(4243, dir.File("proc")).has_value());
  Write(dir.File("proc/4244/cgroup"), "0::/../../etc\n");
  EXPECT_FALSE(CgroupDirOfPid(4244, dir.File("proc")).has_value());
  EXPECT_FALSE(CgroupDirOfPid(1, dir.File("proc")).has_value());
}

// Documentation/gpu/amdgpu/driver-misc.rst: mem_info_vram_total/_used and mem_info_gtt_total/
// _used are bytes; gpu_busy_percent is 0-100. On Strix Halo VRAM is the BIOS carve-out
// (512 MiB here) and GTT is the pool the engines use.
void WriteAmdgpuCard(const TempDir& dir, const std::string& card, uint64_t gtt_used) {
  const std::string dev = dir.File("sys/class/drm/" + card + "/device");
  Write(dev + "/mem_info_vram_total", "536870912\n");
  Write(dev + "/mem_info_vram_used", "201326592\n");
  Write(dev + "/mem_info_gtt_total", std::to_string(124 * GiB) + "\n");
  Write(dev + "/mem_info_gtt_used", std::to_string(gtt_used) + "\n");
  Write(dev + "/gpu_busy_percent", "37\n");
}

TEST(ReadAmdgpuDevice, ReadsTheFirstCardWithTheCountersAndIgnoresConnectorsAndOthers) {
  TempDir dir;
  // card0: another vendor's device (no mem_info files); card1-eDP-1: a connector.
  Write(dir.File("sys/class/drm/card0/device/vendor"), "0x8086\n");
  Write(dir.File("sys/class/drm/card1-eDP-1/status"), "connected\n");
  WriteAmdgpuCard(dir, "card1", 80 * GiB);
  auto d = ReadAmdgpuDevice(dir.File("sys/class/drm"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->card, "card1");
  EXPECT_EQ(d->vram_total_bytes, 512u << 20);
  EXPECT_EQ(d->vram_used_bytes, 192u << 20);
  EXPECT_EQ(d->gtt_total_bytes, 124 * GiB);
  EXPECT_EQ(d->gtt_used_bytes, 80 * GiB);
  ASSERT_TRUE(d->busy_percent.has_value());
  EXPECT_EQ(*d->busy_percent, 37);
}

TEST(ReadAmdgpuDevice, IsNotPresentWithoutAnAmdgpuCard) {
  TempDir dir;
  EXPECT_FALSE(ReadAmdgpuDevice(dir.File("sys/class/drm")).has_value());
  Write(dir.File("sys/class/drm/card0/device/vendor"), "0x8086\n");
  EXPECT_FALSE(ReadAmdgpuDevice(dir.File("sys/class/drm")).has_value());
  // A half-written tree (a counter missing) is skipped, not read as zero.
  Write(dir.File("sys/class/drm/card1/device/mem_info_vram_total"), "536870912\n");
  EXPECT_FALSE(ReadAmdgpuDevice(dir.File("sys/class/drm")).has_value());
}

// ttm's pages_limit counts 4 KiB pages: 124 GiB = 32,505,856 pages (AMD's RDNA 3.5 system
// optimization guide); amdgpu.gttsize is MiB, -1 for the default.
TEST(ReadGpuPageLimit, ReadsTtmPagesAsBytesAndAnExplicitGttsize) {
  TempDir dir;
  Write(dir.File("sys/module/ttm/parameters/pages_limit"), "32505856\n");
  Write(dir.File("sys/module/amdgpu/parameters/gttsize"), "126976\n");
  auto l = ReadGpuPageLimit(dir.File("sys"));
  ASSERT_TRUE(l.has_value());
  ASSERT_TRUE(l->ttm_bytes.has_value());
  EXPECT_EQ(*l->ttm_bytes, 124 * GiB);
  EXPECT_EQ(l->ttm_source, "ttm");
  ASSERT_TRUE(l->gttsize_mib.has_value());
  EXPECT_EQ(*l->gttsize_mib, 126976);

  Write(dir.File("sys/module/amdgpu/parameters/gttsize"), "-1\n");
  EXPECT_FALSE(ReadGpuPageLimit(dir.File("sys"))->gttsize_mib.has_value());
}

TEST(ReadGpuPageLimit, ReadsTheOutOfTreeAmdttmModuleAndIsNotPresentWithNeither) {
  TempDir dir;
  EXPECT_FALSE(ReadGpuPageLimit(dir.File("sys")).has_value());
  Write(dir.File("sys/module/amdttm/parameters/pages_limit"), "16252928\n");
  auto l = ReadGpuPageLimit(dir.File("sys"));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->ttm_source, "amdttm");
  EXPECT_EQ(*l->ttm_bytes, 62 * GiB);
}

TEST(ReadMachineMemory, ReportsEachSourceOrNotPresentInJson) {
  TempDir dir;
  Write(dir.File("proc/meminfo"), kMeminfo);
  WriteAmdgpuCard(dir, "card1", 10 * GiB);
  const MachineMemory m = ReadMachineMemory({dir.File("proc"), dir.File("sys")});
  const boost::json::object j = MachineMemoryJson(m);
  EXPECT_TRUE(j.at("meminfo").at("present").as_bool());
  EXPECT_EQ(j.at("meminfo").at("used_bytes").to_number<uint64_t>(),
            uint64_t{131072000 - 98304000} * 1024);
  EXPECT_EQ(j.at("amdgpu").at("gtt_used_bytes").to_number<uint64_t>(), 10 * GiB);
  EXPECT_FALSE(j.at("gpu_page_limit").at("present").as_bool());
}

TEST(ReadMachineMemory, ThisMachineReadsWithoutErrorWhateverItHas) {
  const MachineMemory m = ReadMachineMemory();
  ASSERT_TRUE(m.meminfo.has_value()) << "Linux always has /proc/meminfo";
  EXPECT_GT(m.meminfo->total_bytes, 0u);
  EXPECT_LE(m.meminfo->available_bytes, m.meminfo->total_bytes);
  (void)MachineMemoryJson(m);
}

}  // namespace
}  // namespace cortex::monitor
