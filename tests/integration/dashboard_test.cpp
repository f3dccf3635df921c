// The /ui dashboard in Debian's Chromium (tests/js/dashboard.test.mjs, through puppeteer-core)
// against a real `cortex up` with two simulated engines, one with a burst that pauses the
// other, behind an admin key. Skips, saying why, when node, puppeteer-core or Chromium is
// missing (scripts/install-deps.sh installs all three).
//
// The screenshot the browser takes goes to $CORTEX_SCREENSHOT_DIR when set (docs/dashboard.png
// is one), else into the test's temporary directory.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "model/synthetic_model.h"
#include "sim_harness.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJsDir = std::string(CORTEX_SOURCE_DIR) + "/tests/js";

std::string FindChromium() {
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

TEST(DashboardTest, ChromiumShowsTheLiveMachineAndTurnsTheBurstOnAndOff) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  if (!std::filesystem::exists(kJsDir + "/node_modules/puppeteer-core")) {
    GTEST_SKIP() << "puppeteer-core is not installed: run `npm ci --prefix tests/js` "
                    "(scripts/install-deps.sh does)";
  }
  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";

  TempDir dir;
  SyntheticModelSpec spec;
  spec.n_ctx_train = 1 << 20;
  ASSERT_TRUE(WriteSyntheticModel(dir.File("m.gguf"), spec).ok());
  const uint16_t port = PickFreePort();
  const std::string sim_flags =
      "parallel: 1, cache-ram: 0, flavor: llama.cpp, sim-load-seconds: 0.2, sim-ttft-ms: 20, "
      "sim-itl-ms: 2";
  std::ofstream(dir.File("cortex.yaml")) << fmt::format(
      "machine: {{ memory: 32GiB, gpu_pool: 32GiB, bandwidth: 256GB/s }}\n"
      "engines:\n"
      "  deep:\n    engine: sim\n    model: {0}\n    port: {1}\n    budget: 8GiB\n"
      "    flags: {{ ctx-size: 8192, {3} }}\n"
      "    profiles:\n      burst: {{ flags: {{ ctx-size: 262144 }}, pauses: [fast] }}\n"
      "  fast:\n    engine: sim\n    model: {0}\n    port: {2}\n    budget: 4GiB\n"
      "    flags: {{ ctx-size: 4096, {3} }}\n"
      "lanes:\n  reader: {{ engine: deep }}\n  quick: {{ engine: fast }}\n"
      "gateway: {{ listen: 127.0.0.1:{4}, probe_interval: 1, admin_key: sesame }}\n"
      "supervisor: {{ log_dir: {5}, restart_backoff: 0.2 }}\n",
      dir.File("m.gguf"), PickFreePort(), PickFreePort(), sim_flags, port, dir.File("logs"));
  auto cortex =
      StartProcess({CORTEX_BINARY, "up", "-c", dir.File("cortex.yaml")}, port, dir.File("up.log"));
  ASSERT_TRUE(cortex && WaitHealthy(*cortex)) << (cortex ? cortex->Log() : "");

  const char* shots = std::getenv("CORTEX_SCREENSHOT_DIR");
  const std::string screenshot =
      (shots != nullptr && *shots != '\0' ? std::string(shots) : dir.path()) + "/dashboard.png";
  const std::string out = dir.File("node.out");
  const std::string cmd = fmt::format(
      "cd {} && CORTEX_UI_URL=http://127.0.0.1:{}/ui CORTEX_ADMIN_KEY=sesame CORTEX_CHROMIUM={} "
      "CORTEX_SCREENSHOT={} CORTEX_BURST_ENGINE=deep CORTEX_PAUSED_ENGINE=fast "
      "timeout 240 node --test --test-concurrency=1 dashboard.test.mjs > {} 2>&1",
      kJsDir, port, chromium, screenshot, out);
  const int status = std::system(cmd.c_str());
  const std::string report = ReadWholeFile(out);
  EXPECT_EQ(status, 0) << report << "\ncortex up:\n" << cortex->Log();
  EXPECT_NE(report.find("# pass 2"), std::string::npos) << report;
  EXPECT_TRUE(std::filesystem::exists(screenshot)) << screenshot;
}

}  // namespace
}  // namespace cortex::testing
