// TempDir: a fresh directory for one test's files, removed with everything in it when the
// TempDir is destroyed.
//
// Created with mkdtemp under $TMPDIR (or /tmp when unset) so that parallel test processes never
// share one. Creation failures abort the test program: a test without its scratch directory
// cannot say anything useful.
#pragma once

#include <string>
#include <string_view>

namespace cortex::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, without a trailing slash.
  const std::string& path() const { return path_; }

  // path() + "/" + name. Creates nothing.
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace cortex::testing
