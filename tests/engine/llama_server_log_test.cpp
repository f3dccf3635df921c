#include "engine/llama_server_log.h"

#include <gtest/gtest.h>

namespace cortex {
namespace {

// Lines as llama-server (d32676d7) prints them with -lv 4 and the default log prefix.
constexpr char kCpuLog[] = R"(0.00.014.102 I print_info: n_ctx_train           = 8192
0.00.017.281 I load_tensors:   CPU_Mapped model buffer size =     2.70 MiB
0.00.017.612 I llama_context: n_ctx         = 1024
0.00.017.627 I llama_context: n_ctx_seq     = 512
0.00.017.657 I llama_context: n_ubatch      = 512
0.00.017.688 I llama_context: flash_attn    = enabled
0.00.017.825 I llama_context:        CPU  output buffer size =     0.02 MiB
0.00.017.977 I llama_kv_cache:        CPU KV buffer size =     1.00 MiB
0.00.018.548 I llama_kv_cache: size =    1.00 MiB (  1024 cells,   2 layers,  1/1 seqs), K (f16):    0.50 MiB, V (f16):    0.50 MiB
0.00.020.181 I sched_reserve:        CPU compute buffer size =     5.01 MiB
0.00.033.325 I srv  llama_server: listening on http://127.0.0.1:46935
)";

TEST(LlamaServerLogTest, ReadsEveryBufferAndTheContext) {
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(kCpuLog);
  EXPECT_DOUBLE_EQ(log.model_mib, 2.70);
  EXPECT_DOUBLE_EQ(log.kv_mib, 1.00);
  EXPECT_DOUBLE_EQ(log.compute_mib, 5.01);
  EXPECT_DOUBLE_EQ(log.output_mib, 0.02);
  ASSERT_TRUE(log.kv_size_mib.has_value());
  EXPECT_DOUBLE_EQ(*log.kv_size_mib, 1.00);
  EXPECT_EQ(log.n_ctx, std::optional<uint64_t>(1024));
  EXPECT_EQ(log.n_ctx_seq, std::optional<uint64_t>(512));
  EXPECT_EQ(log.n_ubatch, std::optional<uint64_t>(512));
  EXPECT_EQ(log.flash_attn, std::optional<bool>(true));
  EXPECT_TRUE(log.listening);
  EXPECT_TRUE(log.complete());
  EXPECT_TRUE(log.error.empty());
}

TEST(LlamaServerLogTest, SumsBuffersOfSeveralDevicesAndKeepsThemApart) {
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(
      "load_tensors:        ROCm0 model buffer size = 18560.00 MiB\n"
      "load_tensors:   CPU_Mapped model buffer size =   417.66 MiB\n"
      "llama_kv_cache:      ROCm0 KV buffer size =  8192.00 MiB\n"
      "sched_reserve:      ROCm0 compute buffer size =   312.00 MiB\n"
      "sched_reserve:  ROCm_Host compute buffer size =    72.01 MiB\n"
      "llama_memory_recurrent:      ROCm0 RS buffer size =   188.44 MiB\n");
  EXPECT_DOUBLE_EQ(log.model_mib, 18560.00 + 417.66);
  EXPECT_DOUBLE_EQ(log.model_mib_by_buffer.at("ROCm0"), 18560.00);
  EXPECT_DOUBLE_EQ(log.model_mib_by_buffer.at("CPU_Mapped"), 417.66);
  EXPECT_DOUBLE_EQ(log.compute_mib, 312.00 + 72.01);
  EXPECT_DOUBLE_EQ(log.compute_mib_by_buffer.at("ROCm_Host"), 72.01);
  EXPECT_DOUBLE_EQ(log.recurrent_mib, 188.44);
  EXPECT_FALSE(log.listening);
}

TEST(LlamaServerLogTest, ReadsOlderFunctionNamesAndLinesWithoutPrefix) {
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(
      "llm_load_tensors:      CUDA0 model buffer size =  4403.50 MiB\n"
      "llama_kv_cache_init:      CUDA0 KV buffer size =  1920.00 MiB\n"
      "llama_new_context_with_model:      CUDA0 compute buffer size =   560.00 MiB\n");
  EXPECT_DOUBLE_EQ(log.model_mib, 4403.50);
  EXPECT_DOUBLE_EQ(log.kv_mib, 1920.00);
  EXPECT_DOUBLE_EQ(log.compute_mib, 560.00);
}

TEST(LlamaServerLogTest, ReportsALoadFailure) {
  const LlamaServerMemoryLog log = ParseLlamaServerMemoryLog(
      "0.00.019.511 E llama_init_from_model: failed to initialize the context: quantized V cache "
      "was requested, but this requires Flash Attention\n"
      "0.00.019.600 E srv  llama_server: exiting due to model loading error\n");
  EXPECT_NE(log.error.find("exiting due to model loading error"), std::string::npos);
  EXPECT_FALSE(log.complete());
}

TEST(LlamaServerLogTest, IgnoresGarbage) {
  const LlamaServerMemoryLog log =
      ParseLlamaServerMemoryLog("\x01\x02 buffer size = MiB\nKV buffer size = lots\n\n");
  EXPECT_EQ(log.kv_mib, 0);
  EXPECT_FALSE(log.complete());
}

}  // namespace
}  // namespace cortex

namespace cortex {
namespace {

TEST(LlamaServerLogTest, FlashAttentionAutoIsResolvedByALaterLine) {
  EXPECT_EQ(ParseLlamaServerMemoryLog("llama_context: flash_attn    = auto\n"
                                      "resolve_fused_ops: Flash Attention enabled\n")
                .flash_attn,
            std::optional<bool>(true));
  EXPECT_EQ(ParseLlamaServerMemoryLog(
                "llama_context: flash_attn    = auto\n"
                "resolve_fused_ops: Flash Attention not supported, set to disabled\n")
                .flash_attn,
            std::optional<bool>(false));
}

}  // namespace
}  // namespace cortex
