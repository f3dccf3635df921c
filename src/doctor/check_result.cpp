#include "doctor/check_result.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace cortex::doctor {

std::string_view CheckStateName(CheckState state) {
  switch (state) {
    case CheckState::kOk:
      return "ok";
    case CheckState::kWarn:
      return "warn";
    case CheckState::kFail:
      return "fail";
    case CheckState::kSkip:
      return "skip";
  }
  return "?";
}

namespace {
CheckResult Make(CheckState state, std::string id, std::string title, std::string found,
                 std::string expected, std::string fix) {
  CheckResult r;
  r.id = std::move(id);
  r.title = std::move(title);
  r.state = state;
  r.found = std::move(found);
  r.expected = std::move(expected);
  r.fix = std::move(fix);
  return r;
}
}  // namespace

CheckResult Ok(std::string id, std::string title, std::string found, std::string expected) {
  return Make(CheckState::kOk, std::move(id), std::move(title), std::move(found),
              std::move(expected), "");
}
CheckResult Warn(std::string id, std::string title, std::string found, std::string expected,
                 std::string fix) {
  return Make(CheckState::kWarn, std::move(id), std::move(title), std::move(found),
              std::move(expected), std::move(fix));
}
CheckResult Fail(std::string id, std::string title, std::string found, std::string expected,
                 std::string fix) {
  return Make(CheckState::kFail, std::move(id), std::move(title), std::move(found),
              std::move(expected), std::move(fix));
}
CheckResult Skip(std::string id, std::string title, std::string why) {
  return Make(CheckState::kSkip, std::move(id), std::move(title), std::move(why), "", "");
}

bool DoctorReport::failed() const {
  return count(CheckState::kFail) > 0;
}

int DoctorReport::count(CheckState state) const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(),
                                        [&](const CheckResult& c) { return c.state == state; }));
}

boost::json::object ReportToJson(const DoctorReport& report) {
  boost::json::array checks;
  for (const CheckResult& c : report.checks) {
    checks.push_back(boost::json::object{{"id", c.id},
                                         {"title", c.title},
                                         {"state", std::string(CheckStateName(c.state))},
                                         {"found", c.found},
                                         {"expected", c.expected},
                                         {"fix", c.fix}});
  }
  boost::json::object counts;
  for (CheckState s : {CheckState::kOk, CheckState::kWarn, CheckState::kFail, CheckState::kSkip})
    counts[CheckStateName(s)] = report.count(s);
  return boost::json::object{
      {"ok", !report.failed()}, {"counts", std::move(counts)}, {"checks", std::move(checks)}};
}

std::string RenderReportText(const DoctorReport& report) {
  std::string out;
  for (const CheckResult& c : report.checks) {
    out += fmt::format("[{}] {}  {}\n", CheckStateName(c.state), c.id, c.title);
    if (!c.found.empty()) out += fmt::format("       found:    {}\n", c.found);
    if (!c.expected.empty() && c.state != CheckState::kOk)
      out += fmt::format("       expected: {}\n", c.expected);
    if (!c.fix.empty()) out += fmt::format("       fix:      {}\n", c.fix);
  }
  out += fmt::format("{} ok, {} warn, {} fail, {} skipped: {}\n", report.count(CheckState::kOk),
                     report.count(CheckState::kWarn), report.count(CheckState::kFail),
                     report.count(CheckState::kSkip),
                     report.failed() ? "some checks fail" : "nothing fails");
  return out;
}

}  // namespace cortex::doctor
