// Shared by the doctor's tests: the check with `id` in a report's list.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "doctor/check_result.h"

namespace cortex::doctor {

inline const CheckResult& FindCheck(const std::vector<CheckResult>& checks, const std::string& id) {
  for (const CheckResult& c : checks)
    if (c.id == id) return c;
  static const CheckResult none{"absent", "", CheckState::kSkip, "", "", ""};
  ADD_FAILURE() << "no check " << id;
  return none;
}

}  // namespace cortex::doctor
