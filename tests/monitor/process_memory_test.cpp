#include "monitor/process_memory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex::monitor {
namespace {

namespace fs = std::filesystem;
using cortex::testing::TempDir;
using ::testing::Contains;
using ::testing::UnorderedElementsAre;

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

// amdgpu's fdinfo as kernels before 6.11 print it.
constexpr std::string_view kAmdgpuFdinfo =
    "pos:\t0\n"
    "flags:\t02100002\n"
    "mnt_id:\t26\n"
    "ino:\t1105\n"
    "drm-driver:\tamdgpu\n"
    "drm-client-id:\t42\n"
    "drm-pdev:\t0000:c4:00.0\n"
    "pasid:\t32781\n"
    "drm-memory-vram:\t1024 KiB\n"
    "drm-memory-gtt: \t2048 KiB\n"
    "drm-memory-cpu: \t0 KiB\n"
    "amd-memory-visible-vram:\t1024 KiB\n"
    "amd-evicted-vram:\t0 KiB\n"
    "amd-requested-vram:\t1024 KiB\n"
    "amd-requested-gtt:\t2048 KiB\n"
    "drm-engine-gfx:\t1234567 ns\n"
    "drm-engine-compute:\t0 ns\n";

// Newer kernels: the generic drm-total-/drm-resident-* keys beside the legacy ones.
constexpr std::string_view kNewerAmdgpuFdinfo =
    "pos:\t0\n"
    "flags:\t02100002\n"
    "drm-driver:\tamdgpu\n"
    "drm-client-id:\t7\n"
    "drm-pdev:\t0000:c4:00.0\n"
    "drm-total-cpu:\t0\n"
    "drm-shared-cpu:\t0\n"
    "drm-resident-cpu:\t0\n"
    "drm-total-gtt:\t3 MiB\n"
    "drm-shared-gtt:\t0\n"
    "drm-resident-gtt:\t3 MiB\n"
    "drm-total-vram:\t516 MiB\n"
    "drm-shared-vram:\t0\n"
    "drm-resident-vram:\t512 MiB\n"
    "drm-purgeable-vram:\t0\n"
    "drm-memory-vram:\t524288 KiB\n"
    "drm-memory-gtt: \t3072 KiB\n"
    "drm-memory-cpu: \t0 KiB\n";

constexpr std::string_view kPlainFileFdinfo =
    "pos:\t4096\n"
    "flags:\t0100002\n"
    "mnt_id:\t30\n"
    "ino:\t5242881\n";

void WriteFile(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string Stat(pid_t pid, std::string_view comm, pid_t ppid, pid_t pgrp) {
  return std::to_string(pid) + " (" + std::string(comm) + ") S " + std::to_string(ppid) + " " +
         std::to_string(pgrp) + " " + std::to_string(pgrp) +
         " 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 1000 12345678 512\n";
}

std::string StatusFile(std::string_view name, uint64_t rss_kb) {
  return "Name:\t" + std::string(name) + "\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t" +
         std::to_string(rss_kb * 4) + " kB\nVmRSS:\t" + std::to_string(rss_kb) + " kB\nRssAnon:\t" +
         std::to_string(rss_kb / 2) + " kB\nThreads:\t3\n";
}

TEST(ParseDrmFdinfoTest, ReadsAmdgpuVramAndGttOfAClient) {
  auto usage = ParseDrmFdinfo(kAmdgpuFdinfo);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->client_id, "42");
  EXPECT_EQ(usage->vram_bytes, 1024 * KiB);
  EXPECT_EQ(usage->gtt_bytes, 2048 * KiB);
}

TEST(ParseDrmFdinfoTest, PrefersTheTotalKeysOfNewerKernels) {
  auto usage = ParseDrmFdinfo(kNewerAmdgpuFdinfo);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->client_id, "7");
  EXPECT_EQ(usage->vram_bytes, 516 * MiB);
  EXPECT_EQ(usage->gtt_bytes, 3 * MiB);
}

TEST(ParseDrmFdinfoTest, ReadsTotalKeysWithoutTheLegacyOnes) {
  auto usage = ParseDrmFdinfo(
      "drm-driver:\tamdgpu\ndrm-client-id:\t9\ndrm-total-vram:\t8192\ndrm-total-gtt:\t2 GiB");
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->vram_bytes, 8192u);
  EXPECT_EQ(usage->gtt_bytes, 2048 * MiB);
}

TEST(ParseDrmFdinfoTest, ANonDrmFileIsNotAClient) {
  EXPECT_FALSE(ParseDrmFdinfo(kPlainFileFdinfo).has_value());
  EXPECT_FALSE(ParseDrmFdinfo("").has_value());
  EXPECT_FALSE(ParseDrmFdinfo("drm-driver:\tamdgpu\ndrm-memory-vram:\t1024 KiB\n").has_value())
      << "no drm-client-id";
}

TEST(ParseDrmFdinfoTest, AClientWithoutMemoryKeysUsesNothing) {
  auto usage = ParseDrmFdinfo("drm-driver:\ti915\r\ndrm-client-id:\t3\r\n");
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->client_id, "3");
  EXPECT_EQ(usage->vram_bytes, 0u);
  EXPECT_EQ(usage->gtt_bytes, 0u);
}

class FakeProcTest : public ::testing::Test {
 protected:
  fs::path Proc(pid_t pid) const { return fs::path(tmp_.path()) / std::to_string(pid); }
  TempDir tmp_;
};

TEST_F(FakeProcTest, SumsTheGroupsRssAndCountsEachDrmClientOnce) {
  // The engine, a name that fools a parser splitting at the first ')'.
  WriteFile(Proc(100) / "stat", Stat(100, "vllm) S 1 999 (x", 1, 100));
  WriteFile(Proc(100) / "status", StatusFile("vllm", 2048));
  WriteFile(Proc(100) / "fdinfo" / "0", kPlainFileFdinfo);
  WriteFile(Proc(100) / "fdinfo" / "3", kAmdgpuFdinfo);
  WriteFile(Proc(100) / "fdinfo" / "4", kAmdgpuFdinfo);  // a second fd of client 42
  // A worker it forked: its own client, and client 42 inherited.
  WriteFile(Proc(101) / "stat", Stat(101, "VllmWorker (TP0)", 100, 100));
  WriteFile(Proc(101) / "status", StatusFile("VllmWorker", 1000));
  WriteFile(Proc(101) / "fdinfo" / "5", kNewerAmdgpuFdinfo);
  WriteFile(Proc(101) / "fdinfo" / "9", kAmdgpuFdinfo);
  // Another engine's group.
  WriteFile(Proc(102) / "stat", Stat(102, "llama-server", 1, 200));
  WriteFile(Proc(102) / "status", StatusFile("llama-server", 999999));
  WriteFile(Proc(102) / "fdinfo" / "3",
            "drm-driver:\tamdgpu\ndrm-client-id:\t99\ndrm-memory-vram:\t9999 KiB\n");
  // A process that exited while the tree was listed, and entries that are not processes.
  fs::create_directories(Proc(103));
  WriteFile(fs::path(tmp_.path()) / "meminfo", "MemTotal: 1 kB\n");
  WriteFile(fs::path(tmp_.path()) / "100x" / "stat", Stat(104, "x", 1, 100));

  const GroupMemory mem = ReadGroupMemory(100, tmp_.path());
  EXPECT_THAT(mem.pids, UnorderedElementsAre(100, 101));
  EXPECT_EQ(mem.rss_bytes, (2048 + 1000) * KiB);
  EXPECT_TRUE(mem.gpu_readable);
  EXPECT_EQ(mem.gpu_bytes, (1024 + 2048) * KiB + (516 + 3) * MiB);
  EXPECT_EQ(mem.total_bytes(), mem.rss_bytes + mem.gpu_bytes);
}

// One pass for several engines: each group gets its own processes, RSS and DRM clients, and
// a client id seen in one group is still counted in another.
TEST_F(FakeProcTest, ReadsSeveralGroupsInOnePass) {
  WriteFile(Proc(100) / "stat", Stat(100, "vllm", 1, 100));
  WriteFile(Proc(100) / "status", StatusFile("vllm", 2048));
  WriteFile(Proc(100) / "fdinfo" / "3", kAmdgpuFdinfo);
  WriteFile(Proc(200) / "stat", Stat(200, "llama-server", 1, 200));
  WriteFile(Proc(200) / "status", StatusFile("llama-server", 512));
  WriteFile(Proc(200) / "fdinfo" / "3", kAmdgpuFdinfo);
  WriteFile(Proc(300) / "stat", Stat(300, "other", 1, 300));
  WriteFile(Proc(300) / "status", StatusFile("other", 64));

  auto groups = ReadGroupsMemory({100, 200, 400}, tmp_.path());
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_THAT(groups[100].pids, UnorderedElementsAre(100));
  EXPECT_EQ(groups[100].rss_bytes, 2048 * KiB);
  EXPECT_THAT(groups[200].pids, UnorderedElementsAre(200));
  EXPECT_EQ(groups[200].rss_bytes, 512 * KiB);
  EXPECT_EQ(groups[200].gpu_bytes, groups[100].gpu_bytes);
  EXPECT_GT(groups[200].gpu_bytes, 0u);
  EXPECT_TRUE(groups[400].pids.empty());
  EXPECT_EQ(groups[100].rss_bytes, ReadGroupMemory(100, tmp_.path()).rss_bytes);
}

TEST_F(FakeProcTest, AGroupWithoutDrmClientsHasNoReadableGpuMemory) {
  WriteFile(Proc(300) / "stat", Stat(300, "sleep", 1, 300));
  WriteFile(Proc(300) / "status", StatusFile("sleep", 640));
  WriteFile(Proc(300) / "fdinfo" / "1", kPlainFileFdinfo);
  const GroupMemory mem = ReadGroupMemory(300, tmp_.path());
  EXPECT_THAT(mem.pids, UnorderedElementsAre(300));
  EXPECT_EQ(mem.rss_bytes, 640 * KiB);
  EXPECT_FALSE(mem.gpu_readable);
  EXPECT_EQ(mem.gpu_bytes, 0u);
}

TEST_F(FakeProcTest, AnUnknownGroupOrMissingRootIsEmpty) {
  WriteFile(Proc(300) / "stat", Stat(300, "sleep", 1, 300));
  EXPECT_TRUE(ReadGroupMemory(301, tmp_.path()).pids.empty());
  const GroupMemory none = ReadGroupMemory(300, tmp_.File("no-such-proc"));
  EXPECT_TRUE(none.pids.empty());
  EXPECT_EQ(none.total_bytes(), 0u);
}

TEST(ReadGroupMemoryTest, FindsASpawnedGroupInTheRealProc) {
  TempDir tmp;
  auto child = cortex::testing::Subprocess::Start({"/bin/sh", "-c", "sleep 100 & wait"},
                                                  tmp.File("child.log"));
  ASSERT_TRUE(child.ok()) << child.status().message();
  const pid_t pgid = (*child)->pid();
  GroupMemory mem;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    mem = ReadGroupMemory(pgid);
    if (mem.pids.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(mem.pids.size(), 2u) << "the shell and its sleep";
  EXPECT_THAT(mem.pids, Contains(pgid));
  EXPECT_GT(mem.rss_bytes, 0u);
  EXPECT_THAT(ReadGroupMemory(getpgrp()).pids, Contains(getpid()));
}

}  // namespace
}  // namespace cortex::monitor
