#include "cli/config_path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace cortex::cli {
namespace {

// Runs in a fresh directory with CORTEX_CONFIG unset, and puts both back afterwards.
class ConfigPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_dir_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_.path());
    if (const char* env = std::getenv("CORTEX_CONFIG")) old_env_ = env;
    unsetenv("CORTEX_CONFIG");
  }
  void TearDown() override {
    std::filesystem::current_path(old_dir_);
    if (old_env_.empty()) {
      unsetenv("CORTEX_CONFIG");
    } else {
      setenv("CORTEX_CONFIG", old_env_.c_str(), 1);
    }
  }
  testing::TempDir dir_;
  std::filesystem::path old_dir_;
  std::string old_env_;
};

TEST_F(ConfigPathTest, TakesTheFlagThenTheEnvironmentThenCortexYaml) {
  EXPECT_EQ(ConfigPath(""), "cortex.yaml");
  setenv("CORTEX_CONFIG", "/etc/cortex/from-env.yaml", 1);
  EXPECT_EQ(ConfigPath(""), "/etc/cortex/from-env.yaml");
  EXPECT_EQ(ConfigPath("given.yaml"), "given.yaml");
}

TEST_F(ConfigPathTest, MeansTheDemoOnlyWhenNothingIsGivenAndNoCortexYamlExists) {
  EXPECT_EQ(ConfigPathOrDemo(""), "");
  std::ofstream("cortex.yaml") << "machine: {}\n";
  EXPECT_EQ(ConfigPathOrDemo(""), "cortex.yaml");
  setenv("CORTEX_CONFIG", "from-env.yaml", 1);
  EXPECT_EQ(ConfigPathOrDemo(""), "from-env.yaml");
  EXPECT_EQ(ConfigPathOrDemo("given.yaml"), "given.yaml");
}

}  // namespace
}  // namespace cortex::cli
