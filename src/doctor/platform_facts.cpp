#include "doctor/platform_facts.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <tuple>
#include <vector>

namespace cortex::doctor {
namespace {

// Leading "A.B.C" of a release; missing parts are 0.
std::optional<std::array<int, 3>> ParseTriple(std::string_view text, size_t* consumed) {
  std::array<int, 3> v{0, 0, 0};
  size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    int n = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc()) {
      if (part == 0) return std::nullopt;
      break;
    }
    v[static_cast<size_t>(part)] = n;
    i = static_cast<size_t>(p - text.data());
    if (part < 2 && i < text.size() && text[i] == '.') {
      ++i;
    } else {
      break;
    }
  }
  if (consumed != nullptr) *consumed = i;
  return v;
}

std::string TripleText(const std::array<int, 3>& v) {
  return fmt::format("{}.{}.{}", v[0], v[1], v[2]);
}

// Integers in `text` separated by anything else: "19.19~24.04.2" -> {19, 19, 24, 4, 2}.
std::vector<int> Numbers(std::string_view text) {
  std::vector<int> out;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) {
      ++i;
      continue;
    }
    int n = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    out.push_back(n);
    i = static_cast<size_t>(p - text.data());
  }
  return out;
}

// Ubuntu's "ABI.UPLOAD[~BACKPORT]" against a minimum, the way dpkg orders them: a version
// without "~" sorts after the same one with it.
bool UbuntuAtLeast(std::string_view have, std::string_view want) {
  auto split = [](std::string_view v) {
    const size_t tilde = v.find('~');
    std::vector<int> main = Numbers(v.substr(0, tilde));
    std::vector<int> back;
    const bool has_tilde = tilde != std::string_view::npos;
    if (has_tilde) back = Numbers(v.substr(tilde + 1));
    return std::tuple(main, !has_tilde, back);
  };
  return split(have) >= split(want);
}

// The lines of `text`, without their line ends.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

KernelVerdict JudgeKernel(std::string_view osrelease, std::string_view ubuntu_signature) {
  KernelVerdict verdict;
  while (!osrelease.empty() && std::isspace(static_cast<unsigned char>(osrelease.back())) != 0)
    osrelease.remove_suffix(1);
  size_t used = 0;
  const auto release = ParseTriple(osrelease, &used);
  if (!release) {
    verdict.why = fmt::format("cannot read the kernel release \"{}\"", osrelease);
    return verdict;
  }
  const std::string_view rest = osrelease.substr(used);  // "-19-generic", "-1018-oem", ...
  using Kind = KernelVerdict::Kind;

  // Ubuntu names its kernels BASE-ABI-FLAVOUR and backports fixes into old bases, so the base
  // version alone says nothing; /proc/version_signature carries ABI.UPLOAD~BACKPORT.
  if (ubuntu_signature.rfind("Ubuntu ", 0) == 0) {
    std::string_view sig = ubuntu_signature.substr(7);
    sig = sig.substr(0, sig.find(' '));  // "6.17.0-19.19~24.04.2-generic"
    size_t sig_used = 0;
    const auto base = ParseTriple(sig, &sig_used);
    std::string_view abi = sig.substr(sig_used);
    if (!abi.empty() && abi.front() == '-') abi.remove_prefix(1);
    const size_t flavour_dash = abi.rfind('-');
    const std::string_view flavour =
        flavour_dash == std::string_view::npos ? "" : abi.substr(flavour_dash + 1);
    if (flavour_dash != std::string_view::npos) abi = abi.substr(0, flavour_dash);
    if (base && (*base)[0] == 6 && (*base)[1] == 17 && (*base)[2] == 0) {
      verdict.kind = UbuntuAtLeast(abi, "19.19~24.04.2") ? Kind::kHasFix : Kind::kTooOld;
      verdict.why = fmt::format("Ubuntu HWE 6.17.0-{} {} 6.17.0-19.19~24.04.2", abi,
                                verdict.kind == Kind::kHasFix ? ">=" : "<");
      return verdict;
    }
    if (base && (*base)[0] == 6 && (*base)[1] == 14 && (*base)[2] == 0 && flavour == "oem") {
      verdict.kind = UbuntuAtLeast(abi, "1018") ? Kind::kHasFix : Kind::kTooOld;
      verdict.why = fmt::format("Ubuntu OEM 6.14.0-{} {} 6.14.0-1018", abi,
                                verdict.kind == Kind::kHasFix ? ">=" : "<");
      return verdict;
    }
  } else if (release && (*release)[0] == 6 && (*release)[1] == 14 && (*release)[2] == 0 &&
             rest.size() > 4 && rest.substr(rest.size() - 4) == "-oem") {
    // No signature file (a container), but the OEM kernel's release names its ABI.
    const std::vector<int> abi = Numbers(rest);
    verdict.kind = !abi.empty() && abi[0] >= 1018 ? Kind::kHasFix : Kind::kTooOld;
    verdict.why = fmt::format("Ubuntu OEM {}{} {} 6.14.0-1018", TripleText(*release), rest,
                              verdict.kind == Kind::kHasFix ? ">=" : "<");
    return verdict;
  }
  const std::array<int, 3> floor{6, 18, 4};
  verdict.kind = *release >= floor ? Kind::kHasFix : Kind::kTooOld;
  verdict.why =
      fmt::format("{} {} 6.18.4", TripleText(*release), verdict.kind == Kind::kHasFix ? ">=" : "<");
  return verdict;
}

std::optional<uint32_t> FirmwareReleaseDate(std::string_view v) {
  for (size_t i = 0; i + 8 <= v.size(); ++i) {
    if (v[i] != '2' || v[i + 1] != '0') continue;
    if (i > 0 && std::isdigit(static_cast<unsigned char>(v[i - 1])) != 0) continue;
    bool digits = true;
    for (size_t k = i; k < i + 8; ++k)
      digits = digits && std::isdigit(static_cast<unsigned char>(v[k])) != 0;
    if (!digits) continue;
    if (i + 8 < v.size() && std::isdigit(static_cast<unsigned char>(v[i + 8])) != 0) continue;
    uint32_t date = 0;
    std::from_chars(v.data() + i, v.data() + i + 8, date);
    return date;
  }
  return std::nullopt;
}

std::optional<uint32_t> MesFirmwareVersion(std::string_view info) {
  for (const std::string_view line : Lines(info)) {
    if (line.rfind("MES feature version", 0) != 0) continue;  // not MES_KIQ
    const size_t hex = line.find("0x");
    if (hex == std::string_view::npos) continue;
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(line.data() + hex + 2, line.data() + line.size(), v, 16);
    if (ec == std::errc()) return v;
  }
  return std::nullopt;
}

std::map<std::string, std::string> ParseKfdProperties(std::string_view text) {
  std::map<std::string, std::string> out;
  for (const std::string_view line : Lines(text)) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0) continue;
    out[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return out;
}

std::optional<std::string> DpkgInstalledVersion(std::string_view status, std::string_view package) {
  // Stanzas separated by blank lines; fields "Name: value".
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find("\n\n", pos);
    if (end == std::string_view::npos) end = status.size();
    const std::string_view stanza = status.substr(pos, end - pos);
    pos = end + 2;
    auto field = [&](std::string_view name) -> std::string_view {
      for (std::string_view line : Lines(stanza)) {
        if (line.size() > name.size() + 1 && line.substr(0, name.size()) == name &&
            line[name.size()] == ':') {
          line.remove_prefix(name.size() + 1);
          while (!line.empty() && line.front() == ' ')
            line.remove_prefix(1);
          return line;
        }
      }
      return {};
    };
    if (field("Package") != package) continue;
    if (field("Status").find("installed") == std::string_view::npos ||
        field("Status").find("not-installed") != std::string_view::npos)
      continue;
    return std::string(field("Version"));
  }
  return std::nullopt;
}

}  // namespace cortex::doctor
