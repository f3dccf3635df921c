// Pure readings of the platform facts the doctor judges (docs/DOCTOR.md cites each source):
//
//  * Kernel: AMD's minimum for Ryzen AI Max (gfx1151) is the release carrying the two KFD
//    fixes (queue creation and memory checks): mainline/stable 6.18.4; Ubuntu 24.04's HWE kernel
//    from 6.17.0-19.19~24.04.2; Ubuntu's OEM kernel from 6.14.0-1018. ROCm 7.2.x is unsupported
//    below it (ROCm's "RDNA3.5 system optimization" page).
//  * linux-firmware 20251125 breaks ROCm on Strix Halo (downgrade to 20251111, or 20260110 and
//    later); MES firmware 0x83 hangs and page-faults, 0x80 is good.
//  * The KFD fix shows in the topology: a gfx1151 node's properties gain `cwsr_size` and
//    `ctl_stack_size` (Lemonade's `needs_gfx1151_cwsr_fix` test). gfx_target_version 110501 is
//    gfx1151.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cortex::doctor {

struct KernelVerdict {
  enum class Kind { kHasFix, kTooOld, kUnknown } kind = Kind::kUnknown;
  std::string why;  // "6.18.44 >= 6.18.4", "Ubuntu HWE 6.17.0-19.18 < 6.17.0-19.19~24.04.2"
};
// `osrelease` is /proc/sys/kernel/osrelease ("6.18.4-200.fc43.x86_64"); `ubuntu_signature` the
// contents of /proc/version_signature when present ("Ubuntu 6.17.0-19.19~24.04.2-generic ...").
KernelVerdict JudgeKernel(std::string_view osrelease, std::string_view ubuntu_signature);

inline constexpr std::string_view kMinimumKernelText =
    "6.18.4 (Ubuntu 24.04 HWE 6.17.0-19.19~24.04.2, Ubuntu OEM 6.14.0-1018)";

// The release date in a linux-firmware package version ("20251125",
// "20240318.git3b128b60-0ubuntu2", "20251125.b7ad3fd-1"): the first run of eight digits starting
// with 20.
std::optional<uint32_t> FirmwareReleaseDate(std::string_view package_version);
inline constexpr uint32_t kBadFirmwareRelease = 20251125;

// The MES firmware version in debugfs's amdgpu_firmware_info
// ("MES feature version: 1, firmware version: 0x00000083").
std::optional<uint32_t> MesFirmwareVersion(std::string_view firmware_info);
inline constexpr uint32_t kBadMesFirmware = 0x83;

// "key value" lines of a KFD topology node's properties file.
std::map<std::string, std::string> ParseKfdProperties(std::string_view text);
inline constexpr std::string_view kGfx1151TargetVersion = "110501";

// The Version of `package` in a dpkg status file, or nullopt when it is not installed.
std::optional<std::string> DpkgInstalledVersion(std::string_view status_file,
                                                std::string_view package);

}  // namespace cortex::doctor
