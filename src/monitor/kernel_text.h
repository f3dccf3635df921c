// Reading the small text files /proc and /sys hold, shared by the monitor's readers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cortex::monitor {

// The whole file, or nullopt when it cannot be opened (absent, another user's, gone).
std::optional<std::string> ReadKernelFile(const std::filesystem::path& path);

// `s` without leading and trailing spaces, tabs and line ends.
std::string_view TrimSpace(std::string_view s);

}  // namespace cortex::monitor
