#include "deploy/engine_settings.h"

#include <gtest/gtest.h>

#include <string>

namespace cortex {
namespace {

TEST(EngineSettingsTest, ReadsLlamaCppSettingsFromConfigFlags) {
  FlagMap flags;
  auto add = [&](std::string name, FlagValue::Kind kind, std::string text, int64_t i = 0,
                 bool b = false) {
    FlagValue v;
    v.kind = kind;
    v.text = std::move(text);
    v.int_value = i;
    v.bool_value = b;
    flags.emplace_back(std::move(name), v);
  };
  add("ctx-size", FlagValue::Kind::kInt, "65536", 65536);
  add("parallel", FlagValue::Kind::kInt, "2", 2);
  add("kv-unified", FlagValue::Kind::kBool, "true", 0, true);
  add("cache-type-k", FlagValue::Kind::kString, "q8_0");
  add("flash-attn", FlagValue::Kind::kString, "off");
  add("n-gpu-layers", FlagValue::Kind::kString, "all");
  auto s = ReadLlamaCppSettings(flags);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ctx_size, 65536);
  EXPECT_EQ(s->parallel, 2);
  EXPECT_EQ(s->kv_unified, std::optional<bool>(true));
  EXPECT_EQ(s->cache_type_k, GgmlType::kQ8_0);
  EXPECT_EQ(s->flash_attn, FlashAttnMode::kOff);
  EXPECT_EQ(s->n_gpu_layers, -2);

  FlagMap bad;
  FlagValue v;
  v.kind = FlagValue::Kind::kString;
  v.text = "q3_k";
  bad.emplace_back("cache-type-v", v);
  auto refused = ReadLlamaCppSettings(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cache-type-v"), std::string::npos);
}

// The config's defaults are the efficiencies plan/prefill_estimate.h was calibrated with.
TEST(EngineSettingsTest, TheDefaultMachineComputesAtTheCalibratedEfficiencies) {
  MachineConfig machine;
  machine.compute_flops = 59.4e12;
  const MachineCompute compute = MachineComputeOf(machine);
  EXPECT_EQ(compute.compute_flops, 59.4e12);
  EXPECT_DOUBLE_EQ(compute.compute_efficiency, 0.35);
  EXPECT_DOUBLE_EQ(compute.attention_efficiency, 0.07);
}

}  // namespace
}  // namespace cortex
