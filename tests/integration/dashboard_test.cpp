// The /ui dashboard in Debian's Chromium (tests/js/dashboard.test.mjs, through puppeteer-core)
// against a real `cortex up` on the built-in demo's simulated engines, behind an admin key. Skips,
// saying why, when node, puppeteer-core or Chromium is missing (scripts/install-deps.sh installs
// all three).
//
// The screenshot the browser takes goes to $CORTEX_SCREENSHOT_DIR when set (docs/dashboard.png
// is one), else into the test's temporary directory.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cli/demo_config.h"
#include "ingest/archive_test_util.h"
#include "model/synthetic_model.h"
#include "sim_harness.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kJsDir = std::string(CORTEX_SOURCE_DIR) + "/tests/js";

std::string FindChromium() {
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// The built-in demo (five lanes, the deep lane's burst pausing the three vLLM-like engines),
// on ports of its own, behind an admin key, with a request served on the coder lane and one
// finished ingest job, so every section of the page has something real to show.
TEST(DashboardTest, ChromiumShowsTheDemoLiveAndTurnsTheBurstOnAndOff) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  if (!std::filesystem::exists(kJsDir + "/node_modules/puppeteer-core")) {
    GTEST_SKIP() << "puppeteer-core is not installed: run `npm ci --prefix tests/js` "
                    "(scripts/install-deps.sh does)";
  }
  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";

  TempDir dir;
  ASSERT_TRUE(cli::WriteDemoModels(dir.File("models")).ok());
  std::string yaml = cli::DemoConfigYaml(dir.File("models"));
  // Every engine on a port picked now (the demo's own may be taken by another test).
  std::set<uint16_t> ports;
  for (size_t at = yaml.find("\n    port: "); at != std::string::npos;
       at = yaml.find("\n    port: ", at + 1)) {
    uint16_t p = PickFreePort();
    while (!ports.insert(p).second)  // the kernel may hand out a just-closed port again
      p = PickFreePort();
    const size_t value = at + 11, end = yaml.find('\n', value);
    yaml.replace(value, end - value, std::to_string(p));
  }
  ASSERT_EQ(ports.size(), 5u) << yaml;
  uint16_t port = PickFreePort();
  while (ports.count(port) != 0)
    port = PickFreePort();
  const std::string listen = "gateway: { listen: 127.0.0.1:4000 }";
  const size_t at = yaml.find(listen);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, listen.size(),
               fmt::format("gateway: {{ listen: 127.0.0.1:{}, admin_key: sesame }}\n"
                           "ingest: {{ dir: {} }}",
                           port, dir.File("ingest")));
  const std::string supervisor = "supervisor: {";
  yaml.replace(yaml.find(supervisor), supervisor.size(),
               "supervisor: { log_dir: " + dir.File("logs") + ",");
  std::ofstream(dir.File("cortex.yaml")) << yaml;
  auto cortex =
      StartProcess({CORTEX_BINARY, "up", "-c", dir.File("cortex.yaml")}, port, dir.File("up.log"));
  ASSERT_TRUE(cortex && WaitHealthy(*cortex)) << (cortex ? cortex->Log() : "");

  // One streamed request served on the coder lane (it waits for the engine to load); streams
  // are where the gateway measures time to the first token.
  auto chat = Http(
      port, "POST", "/v1/chat/completions",
      R"({"model":"coder","stream":true,"messages":[{"role":"user","content":"hi"}],"max_tokens":4})",
      {}, 60s);
  ASSERT_EQ(chat.status, 200) << chat.body << cortex->Log();
  // One ingest job, finished before the browser looks.
  ingest::testing::TestArchiveWriter tar(dir.File("notes.tar"), ingest::testing::TestFormat::kTar);
  tar.File("notes/a.md", "# A\nThe first note.\n").File("notes/b.md", "# B\nThe second note.\n");
  ASSERT_TRUE(tar.Close()) << tar.error();
  auto job =
      Http(port, "POST", "/v1/ingest?lane=super-reader&max_tokens=8",
           ReadWholeFile(dir.File("notes.tar")), {{"Content-Type", "application/x-tar"}}, 60s);
  ASSERT_EQ(job.status, 202) << job.body;
  const std::string id(ParseJson(job.body).at("id").as_string());
  bool finished = false;
  for (int i = 0; i < 600 && !finished; ++i) {
    const json::value v = ParseJson(Http(port, "GET", "/v1/ingest/" + id).body);
    finished = v.is_object() && v.at("status").is_string() &&
               (v.at("status") == "completed" || v.at("status") == "failed");
    if (!finished) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(finished) << Http(port, "GET", "/v1/ingest/" + id).body;

  const char* shots = std::getenv("CORTEX_SCREENSHOT_DIR");
  const std::string screenshot =
      (shots != nullptr && *shots != '\0' ? std::string(shots) : dir.path()) + "/dashboard.png";
  const std::string out = dir.File("node.out");
  const std::string cmd = fmt::format(
      "cd {} && CORTEX_UI_URL=http://127.0.0.1:{}/ui CORTEX_ADMIN_KEY=sesame CORTEX_CHROMIUM={} "
      "CORTEX_SCREENSHOT={} CORTEX_BURST_ENGINE=deep-lane-sim CORTEX_PAUSED_ENGINE=coder-sim "
      "CORTEX_LANES=orchestrator,coder,super-reader,fast-rag,governance CORTEX_SERVED_LANE=coder "
      "CORTEX_JOB={} timeout 300 node --test --test-concurrency=1 dashboard.test.mjs > {} 2>&1",
      kJsDir, port, chromium, screenshot, id, out);
  const int status = std::system(cmd.c_str());
  const std::string report = ReadWholeFile(out);
  EXPECT_EQ(status, 0) << report << "\ncortex up:\n" << cortex->Log();
  EXPECT_NE(report.find("# pass 3"), std::string::npos) << report;
  EXPECT_TRUE(std::filesystem::exists(screenshot)) << screenshot;
}

}  // namespace
}  // namespace cortex::testing
