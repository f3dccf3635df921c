// The deployment checks: model files (synthetic GGUF written here, and broken copies), engine
// command lines against a --help text, ports held by a socket this test opens, the plan, the
// Argos variables, and the whole `cortex doctor` run as a user runs it.
#include "doctor/deployment_checks.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/config_loader.h"
#include "deploy/engine_models.h"
#include "doctor/doctor.h"
#include "doctor/find_check.h"
#include "engine/engine_launch.h"
#include "model/synthetic_model.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace cortex::doctor {
namespace {

namespace fs = std::filesystem;
using cortex::testing::TempDir;

const CheckResult& Find(const std::vector<CheckResult>& checks, const std::string& id) {
  return FindCheck(checks, id);
}

// A config with one llama.cpp engine on a synthetic model in `dir`, and what the doctor needs.
struct Deployment {
  Config config;
  DeploymentInputs in;
};

Deployment MakeDeployment(const TempDir& dir, const std::string& extra_engine_yaml = "",
                          uint16_t port = 0, const std::string& budget = "1GiB") {
  EXPECT_TRUE(testing::WriteSyntheticModel(dir.File("m.gguf"), {}).ok());
  const std::string yaml =
      "machine: {memory: 16GiB, bandwidth: 256GB/s}\n"
      "gateway: {listen: 127.0.0.1:" +
      std::to_string(port == 0 ? testing::PickFreePort() : port) +
      "}\n"
      "engines:\n"
      "  l:\n"
      "    engine: llama.cpp\n"
      "    binary: " +
      dir.File("llama-server") + "\n    model: " + dir.File("m.gguf") +
      "\n    port: " + std::to_string(testing::PickFreePort()) + "\n    budget: " + budget +
      "\n    flags: {ctx-size: 4096}\n" + extra_engine_yaml +
      "lanes:\n"
      "  coder: {engine: l}\n";
  auto config = ParseConfig(yaml, dir.File("c.yaml"));
  EXPECT_TRUE(config.ok()) << config.status().message();
  Deployment d{*config, {}};
  return d;
}

void Plan(Deployment& d) {
  d.in.config = &d.config;
  d.in.self_exe = CORTEX_BINARY;
  d.in.plans.clear();
  const auto models = ResolveEngineModels(d.config);
  for (const std::string& p : ProfileNames(d.config))
    d.in.plans.push_back(PlanDeployment(d.config, p, models));
}

void WriteExecutable(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all);
}

// The llama-server argv cortex will run, for a --help text that lists all but `drop`.
std::string HelpListing(const Deployment& d, const std::string& drop) {
  const EngineConfig e = ApplyProfile(d.config.engines[0], "normal");
  auto launch = BuildEngineLaunch(e, d.in.plans[0].engines[0], d.in.self_exe);
  EXPECT_TRUE(launch.ok());
  std::string help = "usage: llama-server [options]\n";
  for (const std::string& a : launch->argv)
    if (a.rfind("--", 0) == 0 && a != drop) help += "  " + a + " N     some words\n";
  return help;
}

TEST(CheckModels, AcceptsAValidGgufAndNamesTheProblemOfABrokenOne) {
  TempDir dir;
  Deployment d = MakeDeployment(dir);
  Plan(d);
  EXPECT_EQ(Find(CheckModels(Host{}, d.in), "model.l").state, CheckState::kOk);

  // Cut short: the tensors run past the end of the file.
  const auto size = fs::file_size(dir.File("m.gguf"));
  fs::resize_file(dir.File("m.gguf"), size / 2);
  const CheckResult cut = Find(CheckModels(Host{}, d.in), "model.l");
  EXPECT_EQ(cut.state, CheckState::kFail);
  EXPECT_NE(cut.found.find("m.gguf"), std::string::npos) << cut.found;

  // Another file's bytes appended: readable, but not the file it claims to be.
  ASSERT_TRUE(testing::WriteSyntheticModel(dir.File("m.gguf"), {}).ok());
  std::ofstream(dir.File("m.gguf"), std::ios::app) << std::string(1 << 16, 'x');
  EXPECT_EQ(Find(CheckModels(Host{}, d.in), "model.l").state, CheckState::kWarn);

  fs::remove(dir.File("m.gguf"));
  const CheckResult gone = Find(CheckModels(Host{}, d.in), "model.l");
  EXPECT_EQ(gone.state, CheckState::kFail);
  EXPECT_NE(gone.fix.find("model: path:"), std::string::npos);
}

TEST(CheckEngines, FailsAMissingBinaryWithTheConfigLine) {
  TempDir dir;
  Deployment d = MakeDeployment(dir);
  Plan(d);
  const auto checks = CheckEngines(Host{}, d.in);
  const CheckResult& bin = Find(checks, "engine.l.binary");
  EXPECT_EQ(bin.state, CheckState::kFail);
  EXPECT_NE(bin.fix.find("binary:"), std::string::npos);
  EXPECT_EQ(Find(checks, "engine.l.memory_flags").state, CheckState::kOk);
}

TEST(CheckEngines, ChecksEveryFlagAgainstTheBinarysRealHelpOutput) {
  TempDir dir;
  Deployment d = MakeDeployment(dir);
  Plan(d);
  // A real program answering --help, run by the real runner.
  std::ofstream(dir.File("help.txt")) << HelpListing(d, "");
  WriteExecutable(dir.File("llama-server"), "#!/bin/sh\ncat " + dir.File("help.txt") + "\n");
  Host host;
  EXPECT_EQ(Find(CheckEngines(host, d.in), "engine.l.flags").state, CheckState::kOk);

  std::ofstream(dir.File("help.txt")) << HelpListing(d, "--fit");  // an older llama-server
  const CheckResult old = Find(CheckEngines(host, d.in), "engine.l.flags");
  EXPECT_EQ(old.state, CheckState::kFail);
  EXPECT_EQ(old.found, "not in --help: --fit");

  WriteExecutable(dir.File("llama-server"),
                  "#!/bin/sh\necho 'libggml.so: not found' >&2; exit 127\n");
  const CheckResult broken = Find(CheckEngines(host, d.in), "engine.l.flags");
  EXPECT_EQ(broken.state, CheckState::kWarn);
  EXPECT_NE(broken.found.find("exited 127"), std::string::npos);
}

TEST(CheckEngines, AHangingHelpIsKilledAtItsTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const CommandOutput r = RunCommand({"/bin/sh", "-c", "sleep 30"}, 0.3);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(RunCommand({"/nonexistent/llama-server", "--help"}, 1).started);
}

TEST(HelpLongOptions, ReadsLlamaServerStyleListings) {
  const auto opts = HelpLongOptions(
      "-c,    --ctx-size N   size of the prompt context\n"
      "-fa,   --flash-attn [on|off|auto]\n"
      "--no-mmap, --mmap     whether to memory-map\n"
      "see https://x--y.example and a--b\n");
  EXPECT_EQ(opts, (std::vector<std::string>{"--ctx-size", "--flash-attn", "--mmap", "--no-mmap"}));
}

TEST(CheckPorts, FailsAPortAnotherProcessHoldsAndNamesIt) {
  TempDir dir;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  Deployment d = MakeDeployment(dir, "", port);
  Plan(d);
  const auto checks = CheckPorts(Host{}, d.in, RunningCortex{});
  const CheckResult& gw = Find(checks, "port.gateway");
  EXPECT_EQ(gw.state, CheckState::kFail);
  EXPECT_NE(gw.found.find("pid " + std::to_string(::getpid())), std::string::npos) << gw.found;
  EXPECT_EQ(Find(checks, "port.l").state, CheckState::kOk);
  // The same port held by the deployment's own running cortex up is expected.
  RunningCortex running;
  running.running = true;
  EXPECT_EQ(Find(CheckPorts(Host{}, d.in, running), "port.gateway").state, CheckState::kOk);
  ::close(fd);
}

TEST(ParseListeningSockets, ReadsListenEntriesOfProcNetTcp) {
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        "
      "0 123456 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0100007F:0FA0 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        "
      "0 777 1 0000000000000000 20 4 30 10 -1\n";
  const auto sockets = ParseListeningSockets(tcp);
  ASSERT_EQ(sockets.count(4000), 1u);
  EXPECT_EQ(sockets.at(4000), std::vector<uint64_t>{123456});
}

TEST(CheckPlans, WarnsWhenOnlyTheSumExceedsTheMachineAndFailsAnEngineThatCannotFit) {
  TempDir dir;
  Deployment d = MakeDeployment(dir,
                                "  m:\n    engine: llama.cpp\n    model: " + dir.File("m.gguf") +
                                    "\n    port: " + std::to_string(testing::PickFreePort()) +
                                    "\n    budget: 9GiB\n",
                                0, "9GiB");
  Plan(d);
  const CheckResult sum = Find(CheckPlans(d.in), "plan.normal");
  EXPECT_EQ(sum.state, CheckState::kWarn) << sum.found;  // 18 GiB of budgets on 16 GiB: swaps
  Deployment tight = MakeDeployment(dir, "", 0, "1MiB");
  Plan(tight);
  const CheckResult small = Find(CheckPlans(tight.in), "plan.normal");
  EXPECT_EQ(small.state, CheckState::kFail);
  EXPECT_NE(small.fix.find("cortex plan"), std::string::npos);
}

TEST(CheckArgosEnv, WarnsAboutValuesThatPointElsewhere) {
  TempDir dir;
  Deployment d = MakeDeployment(dir, "", 4000);
  Plan(d);
  EXPECT_EQ(CheckArgosEnv(d.in).state, CheckState::kOk);
  d.in.environ["ARGOS_LLM_BASE_URL"] = "http://127.0.0.1:4000/v1";
  d.in.environ["ARGOS_LANE_CODER_MODEL"] = "coder";
  EXPECT_EQ(CheckArgosEnv(d.in).state, CheckState::kOk);
  d.in.environ["ARGOS_LLM_BASE_URL"] = "http://127.0.0.1:8080/v1";
  d.in.environ["ARGOS_LANE_GONE_URL"] = "http://127.0.0.1:4000/v1";
  const CheckResult bad = CheckArgosEnv(d.in);
  EXPECT_EQ(bad.state, CheckState::kWarn);
  EXPECT_NE(bad.found.find("ARGOS_LLM_BASE_URL=http://127.0.0.1:8080/v1"), std::string::npos);
  EXPECT_NE(bad.found.find("ARGOS_LANE_GONE_URL names no lane"), std::string::npos);
}

TEST(CheckRunningCortex, SkipsTheLanesWhenNothingListens) {
  GatewayAddress gw;
  gw.port = testing::PickFreePort();
  RunningCortex running;
  const auto checks = CheckRunningCortex(gw, running);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].state, CheckState::kSkip);
  EXPECT_FALSE(running.running);
}

// The command as a user runs it, against a running `cortex up` of the built-in demo: the
// lanes answer, cortex's own ports are not failures, and --json holds every check.
TEST(CortexDoctor, ChecksTheRunningDemoLaneByLane) {
  TempDir dir;
  const uint16_t port = testing::PickFreePort();
  auto config = std::string("machine: {memory: 16GiB, bandwidth: 256GB/s}\n") +
                "gateway: {listen: 127.0.0.1:" + std::to_string(port) + "}\n" +
                "engines:\n  s:\n    engine: sim\n    model: " + dir.File("m.gguf") +
                "\n    port: " + std::to_string(testing::PickFreePort()) +
                "\n    budget: 1GiB\n    flags: {ctx-size: 4096, cache-ram: 0}\n" +
                "lanes:\n  coder: {engine: s}\n";
  ASSERT_TRUE(testing::WriteSyntheticModel(dir.File("m.gguf"), {}).ok());
  std::ofstream(dir.File("c.yaml")) << config;
  auto up = testing::Subprocess::Start({CORTEX_BINARY, "up", "-c", dir.File("c.yaml")},
                                       dir.File("up.log"));
  ASSERT_TRUE(up.ok()) << up.status().message();
  // Until the engine is ready the lane is skipped; wait for the lane's own check to pass.
  boost::json::object report;
  for (int i = 0; i < 100; ++i) {
    const CommandOutput r =
        RunCommand({CORTEX_BINARY, "doctor", "-c", dir.File("c.yaml"), "--json"}, 60);
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.output;
    report = boost::json::parse(r.output).as_object();
    bool lane_ok = false;
    for (const auto& c : report.at("checks").as_array())
      lane_ok = lane_ok || (c.at("id") == "lane.coder" && c.at("state") == "ok");
    if (lane_ok) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::map<std::string, std::string> state;
  for (const auto& c : report.at("checks").as_array())
    state[std::string(c.at("id").as_string())] = std::string(c.at("state").as_string());
  EXPECT_EQ(state["lane.coder"], "ok") << testing::ReadWholeFile(dir.File("up.log"));
  EXPECT_EQ(state["port.gateway"], "ok");
  EXPECT_EQ(state["port.s"], "ok");
  EXPECT_EQ(state["model.s"], "ok");
  EXPECT_EQ(state["plan.normal"], "ok");
  EXPECT_EQ(state["memory.available"], "skip");  // the engine holds its memory already
  EXPECT_TRUE(state.count("kernel.version"));
  EXPECT_TRUE(state.count("gpu.device"));
}

}  // namespace
}  // namespace cortex::doctor
