// The official openai npm client against the gateway (tests/js/openai_client.test.mjs): chat,
// stream, an error and a 429, over `cortex sim`, and over a real llama-server when
// CORTEX_LLAMA_SERVER is set.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "model/synthetic_model.h"
#include "sim_harness.h"
#include "support/temp_dir.h"

namespace cortex::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJsDir = std::string(CORTEX_SOURCE_DIR) + "/tests/js";

bool NodeReady(std::string* why) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) {
    *why = "node is not installed";
    return false;
  }
  if (!std::filesystem::exists(kJsDir + "/node_modules/openai")) {
    *why =
        "the openai npm package is not installed: run `npm ci --prefix tests/js` "
        "(scripts/install-deps.sh does)";
    return false;
  }
  return true;
}

// Runs the JS suite against a gateway in front of the engine at `engine_port`.
void RunClientSuite(const TempDir& dir, uint16_t engine_port) {
  const uint16_t port = PickFreePort();
  const std::string config = dir.File(fmt::format("gw{}.yaml", port));
  std::ofstream(config) << fmt::format(
      "machine: {{memory: 16GiB, bandwidth: 100GB/s}}\n"
      "engines:\n  e: {{engine: llama.cpp, url: \"http://127.0.0.1:{}\"}}\n"
      "lanes:\n  chat: {{engine: e}}\n  busy: {{engine: e, max_concurrency: 1, queue: 0}}\n"
      "gateway: {{listen: \"127.0.0.1:{}\", probe_interval: 0.2}}\n",
      engine_port, port);
  auto gw = StartProcess({CORTEX_BINARY, "up", "-c", config}, port, dir.File("gw.log"));
  ASSERT_TRUE(gw && WaitHealthy(*gw)) << (gw ? gw->Log() : "");
  std::this_thread::sleep_for(500ms);
  const std::string out = dir.File(fmt::format("node{}.out", port));
  const std::string cmd = fmt::format(
      "cd {} && CORTEX_GATEWAY_URL=http://127.0.0.1:{}/v1 CORTEX_LANE=chat CORTEX_BUSY_LANE=busy "
      "timeout 120 node --test openai_client.test.mjs > {} 2>&1",
      kJsDir, port, out);
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(status, 0) << ReadWholeFile(out) << "\ngateway log:\n" << gw->Log();
  const std::string report = ReadWholeFile(out);
  EXPECT_NE(report.find("# pass 5"), std::string::npos) << report;
}

TEST(OpenAiClientTest, OfficialClientOverTheGatewayAndTheSimulator) {
  std::string why;
  if (!NodeReady(&why)) GTEST_SKIP() << why;
  TempDir dir;
  ASSERT_TRUE(WriteSyntheticModel(dir.File("m.gguf"), SyntheticModelSpec{}).ok());
  const uint16_t port = PickFreePort();
  auto sim = StartProcess(SimArgv("llama.cpp", {"-m", dir.File("m.gguf"), "--host", "127.0.0.1",
                                                "--port", std::to_string(port), "-np", "4",
                                                "--sim-load-seconds", "0", "--sim-itl-ms", "5"}),
                          port, dir.File("sim.log"));
  ASSERT_TRUE(sim && WaitHealthy(*sim)) << (sim ? sim->Log() : "");
  RunClientSuite(dir, port);
}

TEST(OpenAiClientTest, OfficialClientOverTheGatewayAndARealLlamaServer) {
  std::string why;
  if (!NodeReady(&why)) GTEST_SKIP() << why;
  if (LlamaServerBinary() == nullptr) {
    GTEST_SKIP() << "CORTEX_LLAMA_SERVER is not set; set it to a llama-server binary to run the "
                    "official client against a real engine too";
  }
  TempDir dir;
  ASSERT_TRUE(WriteSyntheticModel(dir.File("m.gguf"), SyntheticModelSpec{}).ok());
  const uint16_t port = PickFreePort();
  auto server = StartProcess({LlamaServerBinary(), "-m", dir.File("m.gguf"), "--host", "127.0.0.1",
                              "--port", std::to_string(port), "-np", "4", "-c", "8192"},
                             port, dir.File("llama.log"));
  ASSERT_TRUE(server && WaitHealthy(*server)) << (server ? server->Log() : "");
  RunClientSuite(dir, port);
}

}  // namespace
}  // namespace cortex::testing
