// Specification of `cortex sim`'s argv: each engine's own flags, unknown flags ignored, strict
// --sim-* options.
#include "sim/sim_options.h"

#include <gtest/gtest.h>

namespace cortex::sim {
namespace {

SimOptions Parse(const std::vector<std::string>& args) {
  auto o = ParseSimOptions(args);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return o.ok() ? *o : SimOptions{};
}

std::string Error(const std::vector<std::string>& args) {
  auto o = ParseSimOptions(args);
  EXPECT_FALSE(o.ok());
  return o.ok() ? "" : o.status().message();
}

TEST(SimOptionsTest, LlamaCppTakesShortAndLongFlags) {
  const SimOptions o = Parse({"--flavor",
                              "llama.cpp",
                              "-m",
                              "/m/x.gguf",
                              "-c",
                              "8192",
                              "-np",
                              "3",
                              "-kvu",
                              "-ctk",
                              "q8_0",
                              "--cache-type-v=q8_0",
                              "-fa",
                              "on",
                              "--host",
                              "0.0.0.0",
                              "--port",
                              "9000",
                              "-a",
                              "b,a",
                              "--api-key",
                              "k1,k2",
                              "--metrics",
                              "--no-slots",
                              "--sse-ping-interval",
                              "5"});
  EXPECT_EQ(o.flavor, SimFlavor::kLlamaCpp);
  EXPECT_EQ(o.llama.model, "/m/x.gguf");
  EXPECT_EQ(o.llama.settings.ctx_size, 8192);
  EXPECT_EQ(o.llama.settings.parallel, 3);
  EXPECT_EQ(o.llama.settings.kv_unified, std::optional<bool>(true));
  EXPECT_EQ(o.llama.settings.cache_type_k, GgmlType::kQ8_0);
  EXPECT_EQ(o.llama.settings.cache_type_v, GgmlType::kQ8_0);
  EXPECT_EQ(o.llama.settings.flash_attn, FlashAttnMode::kOn);
  EXPECT_EQ(o.llama.host, "0.0.0.0");
  EXPECT_EQ(o.llama.port, 9000);
  EXPECT_EQ(o.llama.aliases, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(o.llama.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(o.llama.metrics);
  EXPECT_FALSE(o.llama.slots_endpoint);
  EXPECT_EQ(o.llama.sse_ping_interval_s, 5);
  EXPECT_TRUE(o.ignored_flags.empty());
}

TEST(SimOptionsTest, LlamaCppDefaultsAreLlamaServers) {
  const SimOptions o = Parse({"--flavor=llama.cpp", "-m", "x.gguf"});
  EXPECT_EQ(o.llama.host, "127.0.0.1");
  EXPECT_EQ(o.llama.port, 8080);
  EXPECT_EQ(o.llama.settings.ctx_size, 0);
  EXPECT_EQ(o.llama.settings.parallel, -1);
  EXPECT_FALSE(o.llama.metrics);
  EXPECT_TRUE(o.llama.slots_endpoint);
  EXPECT_EQ(o.llama.sse_ping_interval_s, 30);
}

TEST(SimOptionsTest, FlashAttnWithoutValueMeansOnAndNegativeNumbersAreValues) {
  const SimOptions o = Parse({"--flavor", "llama.cpp", "-fa", "-m", "x.gguf", "-ngl", "-1"});
  EXPECT_EQ(o.llama.settings.flash_attn, FlashAttnMode::kOn);
  EXPECT_EQ(o.llama.model, "x.gguf");
  EXPECT_EQ(o.llama.settings.n_gpu_layers, -1);
}

TEST(SimOptionsTest, UnknownEngineFlagsAreIgnoredWithTheirValues) {
  const SimOptions o = Parse({"--flavor", "llama.cpp", "--threads", "8", "--no-warmup", "-m",
                              "x.gguf", "--sleep-idle-seconds", "-1", "--log-file=/tmp/x"});
  EXPECT_EQ(o.llama.model, "x.gguf");
  EXPECT_EQ(o.ignored_flags,
            (std::vector<std::string>{"--threads 8", "--no-warmup", "--sleep-idle-seconds -1",
                                      "--log-file=/tmp/x"}));
}

TEST(SimOptionsTest, VllmTakesAPositionalModelAndManyNames) {
  const SimOptions o = Parse({"--flavor",
                              "vllm",
                              "serve",
                              "Qwen/Qwen2.5-0.5B-Instruct",
                              "--served-model-name",
                              "a",
                              "b",
                              "--max_model_len",
                              "32k",
                              "--max-num-seqs",
                              "8",
                              "--kv-cache-memory-bytes",
                              "1G",
                              "--gpu-memory-utilization",
                              "0.5",
                              "--enable-sleep-mode",
                              "--port",
                              "8001",
                              "--api-key",
                              "k",
                              "--tensor-parallel-size",
                              "2"});
  EXPECT_EQ(o.flavor, SimFlavor::kVllm);
  EXPECT_EQ(o.vllm.model, "Qwen/Qwen2.5-0.5B-Instruct");
  EXPECT_EQ(o.vllm.served_model_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.vllm.settings.max_model_len, std::optional<uint64_t>(32000));
  EXPECT_EQ(o.vllm.settings.max_num_seqs, std::optional<uint64_t>(8));
  EXPECT_EQ(o.vllm.settings.kv_cache_memory_bytes, std::optional<uint64_t>(1ull << 30));
  EXPECT_EQ(o.vllm.settings.gpu_memory_utilization, std::optional<double>(0.5));
  EXPECT_TRUE(o.vllm.enable_sleep_mode);
  EXPECT_EQ(o.vllm.port, 8001);
  EXPECT_EQ(o.vllm.host, "0.0.0.0");
  EXPECT_EQ(o.vllm.api_keys, (std::vector<std::string>{"k"}));
  EXPECT_EQ(o.ignored_flags, (std::vector<std::string>{"--tensor-parallel-size 2"}));
}

TEST(SimOptionsTest, VllmModelFlagBeatsPositional) {
  const SimOptions o = Parse({"--flavor", "vllm", "--model", "/models/q", "--max-model-len", "1K"});
  EXPECT_EQ(o.vllm.model, "/models/q");
  EXPECT_EQ(o.vllm.settings.max_model_len, std::optional<uint64_t>(1024));
}

TEST(SimOptionsTest, SimOptionsAreParsed) {
  const SimOptions o = Parse({"--flavor",
                              "vllm",
                              "m",
                              "--sim-load-seconds",
                              "0.25",
                              "--sim-ttft-ms=200",
                              "--sim-itl-ms",
                              "20",
                              "--sim-jitter",
                              "0.1",
                              "--sim-seed",
                              "7",
                              "--sim-hold-memory",
                              "0.5",
                              "--sim-fail-rate",
                              "0.2",
                              "--sim-fail-status",
                              "503",
                              "--sim-crash-after",
                              "3",
                              "--sim-hang-after",
                              "4",
                              "--sim-fail-after-tokens",
                              "2",
                              "--sim-max-tokens",
                              "8",
                              "--sim-gpu-memory",
                              "64GiB"});
  EXPECT_DOUBLE_EQ(o.load_seconds, 0.25);
  EXPECT_DOUBLE_EQ(o.ttft_ms, 200);
  EXPECT_DOUBLE_EQ(o.itl_ms, 20);
  EXPECT_DOUBLE_EQ(o.jitter, 0.1);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_DOUBLE_EQ(o.hold_memory, 0.5);
  EXPECT_DOUBLE_EQ(o.fail_rate, 0.2);
  EXPECT_EQ(o.fail_status, 503);
  EXPECT_EQ(o.crash_after, std::optional<uint64_t>(3));
  EXPECT_EQ(o.hang_after, std::optional<uint64_t>(4));
  EXPECT_EQ(o.fail_after_tokens, std::optional<uint64_t>(2));
  EXPECT_EQ(o.default_max_tokens, 8u);
  EXPECT_EQ(o.gpu_memory_bytes, 64ull << 30);
}

TEST(SimOptionsTest, BadSimValuesAreErrorsNamingTheFlag) {
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-jitter", "1.5"}).find("--sim-jitter"),
            std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-ttft-ms", "-1"}).find("--sim-ttft-ms"),
            std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-fail-status", "200"}).find("--sim-fail-status"),
            std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-hold-memory", "abc"}).find("--sim-hold-memory"),
            std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-seed"}).find("expected a value"), std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-bogus", "1"}).find("unknown simulator option"),
            std::string::npos);
}

TEST(SimOptionsTest, PrefillAndDisconnectOptions) {
  const SimOptions d = Parse({"--flavor", "llama.cpp", "-m", "x.gguf"});
  EXPECT_DOUBLE_EQ(d.prefill_tps, 0);
  EXPECT_FALSE(d.ignore_disconnect);
  EXPECT_EQ(d.llama.settings.ubatch_size, 512);

  const SimOptions o = Parse({"--flavor", "llama.cpp", "-m", "x.gguf", "--sim-prefill-tps", "2500",
                              "-ub", "64", "--sim-ignore-disconnect", "--sim-ttft-ms", "5"});
  EXPECT_DOUBLE_EQ(o.prefill_tps, 2500);
  EXPECT_TRUE(o.ignore_disconnect);
  EXPECT_EQ(o.llama.settings.ubatch_size, 64);
  EXPECT_DOUBLE_EQ(o.ttft_ms, 5);  // the switch took no value
  EXPECT_TRUE(o.ignored_flags.empty());

  EXPECT_EQ(Parse({"--flavor", "llama.cpp", "--ubatch-size=16"}).llama.settings.ubatch_size, 16);
  EXPECT_TRUE(Parse({"--flavor", "vllm", "m", "--sim-ignore-disconnect=true"}).ignore_disconnect);
  EXPECT_FALSE(Parse({"--flavor", "vllm", "m", "--sim-ignore-disconnect=false"}).ignore_disconnect);
  EXPECT_NE(
      Error({"--flavor", "vllm", "--sim-ignore-disconnect=maybe"}).find("--sim-ignore-disconnect"),
      std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--sim-prefill-tps", "-5"}).find("--sim-prefill-tps"),
            std::string::npos);
  EXPECT_NE(SimUsage().find("--sim-prefill-tps"), std::string::npos);
  EXPECT_NE(SimUsage().find("--sim-ignore-disconnect"), std::string::npos);
}

TEST(SimOptionsTest, FlavorIsRequiredAndChecked) {
  EXPECT_NE(Error({"-m", "x.gguf"}).find("--flavor is required"), std::string::npos);
  EXPECT_NE(Error({"--flavor", "tgi"}).find("llama.cpp or vllm"), std::string::npos);
}

TEST(SimOptionsTest, BadEngineValuesAreErrors) {
  EXPECT_NE(Error({"--flavor", "llama.cpp", "-c", "lots"}).find("ctx-size"), std::string::npos);
  EXPECT_NE(Error({"--flavor", "llama.cpp", "--port", "70000"}).find("--port"), std::string::npos);
  EXPECT_NE(Error({"--flavor", "llama.cpp", "-ctk", "q9"}).find("cache-type-k"), std::string::npos);
  EXPECT_NE(Error({"--flavor", "vllm", "--max-model-len", "big"}).find("--max-model-len"),
            std::string::npos);
}

TEST(SimOptionsTest, HelpNeedsNoFlavor) {
  EXPECT_TRUE(Parse({"--help"}).help);
  EXPECT_NE(SimUsage().find("--sim-hang-after"), std::string::npos);
}

}  // namespace
}  // namespace cortex::sim
