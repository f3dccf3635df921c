// The pure judgements behind the doctor's platform checks, against the releases and formats
// docs/DOCTOR.md cites.
#include "doctor/platform_facts.h"

#include <gtest/gtest.h>

namespace cortex::doctor {
namespace {

using Kind = KernelVerdict::Kind;

TEST(JudgeKernel, ComparesMainlineReleasesNumericallyAgainst6184) {
  EXPECT_EQ(JudgeKernel("6.18.4-200.fc43.x86_64\n", "").kind, Kind::kHasFix);
  EXPECT_EQ(JudgeKernel("6.18.44-fc-v1272", "").kind, Kind::kHasFix);  // 44 > 4, not "4" < "44"
  EXPECT_EQ(JudgeKernel("6.19.0-rc1", "").kind, Kind::kHasFix);
  EXPECT_EQ(JudgeKernel("7.0", "").kind, Kind::kHasFix);
  EXPECT_EQ(JudgeKernel("6.18.3-arch1-1", "").kind, Kind::kTooOld);
  EXPECT_EQ(JudgeKernel("6.15.2", "").kind, Kind::kTooOld);
  EXPECT_EQ(JudgeKernel("6.1.0-28-amd64", "").kind, Kind::kTooOld);
  EXPECT_EQ(JudgeKernel("6.18.3", "").why, "6.18.3 < 6.18.4");
}

TEST(JudgeKernel, TakesUbuntuHweKernelsFromTheirSignatureNotTheBaseVersion) {
  const std::string release = "6.17.0-19-generic";
  EXPECT_EQ(JudgeKernel(release, "Ubuntu 6.17.0-19.19~24.04.2-generic 6.17.9").kind, Kind::kHasFix);
  EXPECT_EQ(JudgeKernel("6.17.0-20-generic", "Ubuntu 6.17.0-20.20~24.04.1-generic 6.17.10").kind,
            Kind::kHasFix);
  EXPECT_EQ(JudgeKernel(release, "Ubuntu 6.17.0-19.19~24.04.1-generic 6.17.9").kind, Kind::kTooOld);
  EXPECT_EQ(JudgeKernel("6.17.0-18-generic", "Ubuntu 6.17.0-18.18~24.04.1-generic 6.17.8").kind,
            Kind::kTooOld);
  // Without a backport suffix a version sorts after the same one with it, as dpkg orders them.
  EXPECT_EQ(JudgeKernel(release, "Ubuntu 6.17.0-19.19-generic 6.17.9").kind, Kind::kHasFix);
}

TEST(JudgeKernel, TakesUbuntuOemKernelsFromTheirAbi) {
  EXPECT_EQ(JudgeKernel("6.14.0-1018-oem", "Ubuntu 6.14.0-1018.18-oem 6.14.8").kind, Kind::kHasFix);
  EXPECT_EQ(JudgeKernel("6.14.0-1017-oem", "Ubuntu 6.14.0-1017.17-oem 6.14.8").kind, Kind::kTooOld);
  EXPECT_EQ(JudgeKernel("6.14.0-1018-oem", "").kind, Kind::kHasFix);  // a container: no signature
  EXPECT_EQ(JudgeKernel("6.14.0-37-generic", "Ubuntu 6.14.0-37.37-generic 6.14.11").kind,
            Kind::kTooOld);
}

TEST(JudgeKernel, SaysWhenItCannotReadTheRelease) {
  EXPECT_EQ(JudgeKernel("", "").kind, Kind::kUnknown);
  EXPECT_EQ(JudgeKernel("linux", "").kind, Kind::kUnknown);
}

TEST(FirmwareReleaseDate, FindsTheDateInEachDistributionsVersion) {
  EXPECT_EQ(FirmwareReleaseDate("20251125"), 20251125u);
  EXPECT_EQ(FirmwareReleaseDate("20240318.git3b128b60-0ubuntu2"), 20240318u);
  EXPECT_EQ(FirmwareReleaseDate("linux-firmware 20251125.b7ad3fd-1"), 20251125u);
  EXPECT_EQ(FirmwareReleaseDate("20230210-5"), 20230210u);
  EXPECT_EQ(FirmwareReleaseDate("1.2.3"), std::nullopt);
  EXPECT_EQ(FirmwareReleaseDate("120251125"), std::nullopt);  // not a date on its own
}

TEST(MesFirmwareVersion, ReadsTheMesLineNotMesKiq) {
  const std::string info =
      "VCE feature version: 0, firmware version: 0x00000000\n"
      "MES_KIQ feature version: 6, firmware version: 0x0000006c\n"
      "MES feature version: 1, firmware version: 0x00000083\n";
  EXPECT_EQ(MesFirmwareVersion(info), 0x83u);
  EXPECT_EQ(MesFirmwareVersion("MES_KIQ feature version: 6, firmware version: 0x6c\n"),
            std::nullopt);
}

TEST(DpkgInstalledVersion, ReadsInstalledPackagesOnly) {
  const std::string status =
      "Package: firmware-amd-graphics\nStatus: deinstall ok config-files\nVersion: 20210315-3\n\n"
      "Package: linux-firmware\nStatus: install ok installed\nPriority: optional\n"
      "Version: 20240318.git3b128b60-0ubuntu2\n\n"
      "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n";
  EXPECT_EQ(DpkgInstalledVersion(status, "linux-firmware"), "20240318.git3b128b60-0ubuntu2");
  EXPECT_EQ(DpkgInstalledVersion(status, "firmware-amd-graphics"), std::nullopt);
  EXPECT_EQ(DpkgInstalledVersion(status, "absent"), std::nullopt);
}

TEST(ParseKfdProperties, ReadsKeyValueLines) {
  auto p = ParseKfdProperties("cpu_cores_count 0\nsimd_count 80\ngfx_target_version 110501\n");
  EXPECT_EQ(p["gfx_target_version"], "110501");
  EXPECT_EQ(p["simd_count"], "80");
  EXPECT_EQ(p.count("cwsr_size"), 0u);
}

}  // namespace
}  // namespace cortex::doctor
