#include "model/gguf_model.h"

#include <gtest/gtest.h>

#include "model/gguf_writer.h"

namespace cortex {
namespace {

using testing::GgufWriter;

// A llama header with `tweak` applied, parsed back into a ModelInfo.
template <typename Tweak>
StatusOr<ModelInfo> Llama(Tweak tweak) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.block_count", 2);
  w.AddUint32("llama.embedding_length", 256);
  w.AddUint32("llama.context_length", 4096);
  w.AddUint32("llama.feed_forward_length", 512);
  w.AddUint32("llama.attention.head_count", 4);
  tweak(w);
  auto file = ParseGguf(w.Bytes());
  if (!file.ok()) return file.status();
  return ModelInfoFromGguf(*file, "t.gguf");
}

TEST(GgufModelTest, ReadsLlamaHyperParametersWithDefaults) {
  auto m = Llama([](GgufWriter& w) { w.AddUint32("llama.attention.head_count_kv", 2); });
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->n_layer, 2u);
  EXPECT_EQ(m->layers[0].n_head, 4u);
  EXPECT_EQ(m->layers[0].n_head_kv, 2u);
  EXPECT_EQ(m->layers[0].head_dim_k, 64u);  // embedding_length / head_count
  EXPECT_EQ(m->layers[1].n_ff, 512u);
  EXPECT_EQ(m->n_ctx_train, 4096u);
}

TEST(GgufModelTest, HeadCountKvDefaultsToHeadCountOnlyWhenAbsent) {
  auto absent = Llama([](GgufWriter&) {});
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->layers[0].n_head_kv, 4u);
  auto wrong_type = Llama([](GgufWriter& w) { w.AddString("llama.attention.head_count_kv", "8"); });
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("head_count_kv"), std::string::npos);
  auto huge = Llama([](GgufWriter& w) { w.AddUint32("llama.attention.head_count_kv", 5000000); });
  EXPECT_FALSE(huge.ok());
}

TEST(GgufModelTest, MalformedOptionalKeysAreErrorsNotDefaults) {
  auto value_length =
      Llama([](GgufWriter& w) { w.AddUint64("llama.attention.value_length", 5000000000ull); });
  ASSERT_FALSE(value_length.ok());
  EXPECT_NE(value_length.status().message().find("llama.attention.value_length"),
            std::string::npos);
  auto experts = Llama([](GgufWriter& w) { w.AddString("llama.expert_count", "eight"); });
  ASSERT_FALSE(experts.ok());
  EXPECT_NE(experts.status().message().find("llama.expert_count"), std::string::npos);
}

TEST(GgufModelTest, RefusesAZeroHeadDimensionForAnAttentionModel) {
  auto m = Llama([](GgufWriter& w) { w.AddUint32("llama.attention.key_length", 0); });
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("head dimension of 0"), std::string::npos);
}

TEST(GgufModelTest, Gemma3SlidesFiveLayersOfSix) {
  GgufWriter w;
  w.AddString("general.architecture", "gemma3");
  w.AddUint32("gemma3.block_count", 12);
  w.AddUint32("gemma3.embedding_length", 256);
  w.AddUint32("gemma3.context_length", 32768);
  w.AddUint32("gemma3.feed_forward_length", 512);
  w.AddUint32("gemma3.attention.head_count", 4);
  w.AddUint32("gemma3.attention.sliding_window", 1024);
  auto file = ParseGguf(w.Bytes());
  ASSERT_TRUE(file.ok());
  auto m = ModelInfoFromGguf(*file, "g.gguf");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->n_swa, 1024u);
  int sliding = 0;
  for (const LayerInfo& l : m->layers)
    sliding += l.is_swa;
  EXPECT_EQ(sliding, 10);
  EXPECT_FALSE(m->layers[5].is_swa);
  EXPECT_FALSE(m->layers[11].is_swa);
}

TEST(GgufModelTest, MambaLayersKeepRecurrentState) {
  GgufWriter w;
  w.AddString("general.architecture", "mamba");
  w.AddUint32("mamba.block_count", 2);
  w.AddUint32("mamba.embedding_length", 256);
  w.AddUint32("mamba.context_length", 1048576);
  w.AddUint32("mamba.ssm.conv_kernel", 4);
  w.AddUint32("mamba.ssm.inner_size", 512);
  w.AddUint32("mamba.ssm.state_size", 16);
  auto file = ParseGguf(w.Bytes());
  ASSERT_TRUE(file.ok());
  auto m = ModelInfoFromGguf(*file, "m.gguf");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->layers[0].is_recurrent);
  EXPECT_FALSE(m->layers[0].has_kv);
  EXPECT_EQ(m->recurrent_state_elements, 3u * 512 + 16u * 512);
}

}  // namespace
}  // namespace cortex
