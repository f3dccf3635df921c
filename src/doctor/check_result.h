// CheckResult: one line of `cortex doctor`'s report — what was checked, what was found, what
// was expected, and the fix (a command or a config line) when it is not ok.
//
// States: ok; warn (works, but something will bite: a limit below the plan's, an unreadable
// firmware table); fail (cortex or an engine will not run as planned); skip (not applicable
// here: the KFD fix on a machine with no AMD GPU, lane requests with no `cortex up` running).
// `cortex doctor` exits 0 when no check fails.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace cortex::doctor {

enum class CheckState { kOk, kWarn, kFail, kSkip };
std::string_view CheckStateName(CheckState state);  // "ok", "warn", "fail", "skip"

struct CheckResult {
  std::string id;     // stable, dotted: "kernel.version", "model.coder"
  std::string title;  // what is checked, in words
  CheckState state = CheckState::kOk;
  std::string found;
  std::string expected;
  std::string fix;  // empty when ok
};

CheckResult Ok(std::string id, std::string title, std::string found, std::string expected = "");
CheckResult Warn(std::string id, std::string title, std::string found, std::string expected,
                 std::string fix);
CheckResult Fail(std::string id, std::string title, std::string found, std::string expected,
                 std::string fix);
CheckResult Skip(std::string id, std::string title, std::string why);

struct DoctorReport {
  std::vector<CheckResult> checks;
  bool failed() const;
  int count(CheckState state) const;
};

// {"ok": bool, "counts": {...}, "checks": [{"id", "title", "state", "found", "expected", "fix"}]}
boost::json::object ReportToJson(const DoctorReport& report);
// One block per check: "[fail] kernel.version  Linux kernel for gfx1151", then found / expected
// / fix lines, and a summary line.
std::string RenderReportText(const DoctorReport& report);

}  // namespace cortex::doctor
