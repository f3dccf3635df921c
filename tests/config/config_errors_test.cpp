// Malformed configs and the exact lines the loader reports for them.
//
// Each row is a whole file and every line expected for it, line:column included, because the
// position is the contract: an operator jumps to it. Rows are small files written so that the
// offending token is easy to count to.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/scoped_env.h"

namespace cortex {
namespace {

struct ErrorCase {
  const char* name;
  const char* yaml;
  std::vector<std::string> lines;  // each without the "t.yaml:" prefix
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) {
  return os << c.name;
}

const ErrorCase kCases[] = {
    // Unknown keys, at each level.
    {"UnknownTopLevelKeyWithSuggestion",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
gatway: {listen: 127.0.0.1:4000}
)",
     {"6:1: unknown key \"gatway\" at the top level; expected one of: machine, engines, lanes, "
      "profiles, gateway, supervisor, ingest; did you mean \"gateway\"?"}},
    {"UnknownMachineKey",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  memroy: 1GiB
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:3: unknown key \"memroy\" in machine; expected one of: memory, gpu_pool, bandwidth, "
      "bandwidth_efficiency, compute, compute_efficiency, attention_efficiency, reserve; did you "
      "mean \"memory\"?"}},
    {"UnknownReserveKeyWithoutSuggestion",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, reserve: {os: 1GiB, gpu: 1GiB}}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:67: unknown key \"gpu\" in machine.reserve; expected one of: os, backend"}},
    {"MisspelledEngineKeyIsUnknownAndLeavesRequiredKeyMissing",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep-lane:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budgt: 10GiB
lanes:
  l: {engine: deep-lane}
)",
     {"3:3: missing required key \"budget\" in engines.deep-lane",
      "7:5: unknown key \"budgt\" in engines.deep-lane; expected one of: engine, model, binary, "
      "url, host, port, budget, overhead, flags, profiles, env, launch, pinned, image, "
      "load_seconds; did you mean \"budget\"?"}},
    {"UnknownModelKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: vllm, model: {path: /m, hff: org/m}, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:39: unknown key \"hff\" in engines.a.model; expected one of: path, hf, quant; did you "
      "mean \"hf\"?"}},
    {"UnknownEngineProfileKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
  b:
    engine: llama.cpp
    model: /m.gguf
    port: 8081
    budget: 10GiB
    profiles:
      burst: {budget: 20GiB, pause: [a]}
lanes:
  l: {engine: a}
)",
     {"10:30: unknown key \"pause\" in engines.b.profiles.burst; expected one of: budget, flags, "
      "pauses; did you mean \"pauses\"?"}},
    {"UnknownLaneKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, alias: [x]}
)",
     {"5:18: unknown key \"alias\" in lanes.l; expected one of: engine, aliases, targets, "
      "max_concurrency, queue, max_queue_wait, priority, fallback, fallback_on_context; did you "
      "mean \"aliases\"?"}},
    {"UnknownTargetsKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {ctx: 4096}}
)",
     {"5:28: unknown key \"ctx\" in lanes.l.targets; expected one of: context, tokens_per_s"}},
    {"UnknownGatewayKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
gateway: {listen: 127.0.0.1:4000, adminkey: x}
)",
     {"6:35: unknown key \"adminkey\" in gateway; expected one of: listen, admin_key, api_keys, "
      "max_body, max_header, header_timeout, idle_timeout, probe_interval; did you mean "
      "\"admin_key\"?"}},
    {"UnknownDeclaredProfileKey",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
profiles:
  burst: {description: x, budget: 1GiB}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:27: unknown key \"budget\" in profiles.burst; expected one of: description"}},

    // Duplicate keys: the second occurrence is reported.
    {"DuplicateKey",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  memory: 64GiB
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:3: duplicate key \"memory\" in machine (first at line 2)"}},
    {"DuplicateEngineName",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
  a: {engine: llama.cpp, model: /m.gguf, port: 8081, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:3: duplicate key \"a\" in engines (first at line 3)"}},

    // Wrong node kinds.
    {"MachineIsAList",
     R"(machine: [128GiB, 256GB/s]
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:10: machine: expected a map, got a list"}},
    {"EngineIsAString",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: llama.cpp
lanes:
  l: {engine: a}
)",
     {"3:6: engines.a: expected a map, got \"llama.cpp\""}},
    {"PortIsAWord",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: eighty, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:48: engines.a.port: expected an integer between 1 and 65535, got \"eighty\""}},
    {"PortWithoutValue",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port:
    budget: 10GiB
lanes:
  l: {engine: a}
)",
     {"6:5: engines.a.port: expected an integer between 1 and 65535, got nothing"}},
    {"FlagsIsAList",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB, flags: [ctx-size]}
lanes:
  l: {engine: a}
)",
     {"3:76: engines.a.flags: expected a map, got a list"}},
    {"AliasesIsAString",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, aliases: planner}
)",
     {"5:27: lanes.l.aliases: expected a list of names, got \"planner\""}},
    {"ModelIsAList",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: [/m.gguf], port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:33: engines.a.model: expected a path or a map with path and/or hf, got a list"}},

    {"BlockScalarValueStaysOnOneLine",
     R"(machine:
  memory: |
    128GiB
    more
  bandwidth: 256GB/s
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"2:11: machine.memory: expected a size unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB) in "
      "\"128GiB\\nmore\", got \"GiB\\nmore\""}},

    // Machine values.
    {"SizeWithUnknownUnit",
     R"(machine: {memory: 128 Gigs, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:19: machine.memory: expected a size unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB) in "
      "\"128 Gigs\", got \"Gigs\""}},
    {"NegativeSize",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  reserve: {os: -1GiB}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:17: machine.reserve.os: expected a size such as 64GiB, 512MiB or 20GB, got \"-1GiB\" "
      "(sizes cannot be negative)"}},
    {"GpuPoolLargerThanMemory",
     R"(machine: {memory: 128GiB, gpu_pool: 200GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:37: machine.gpu_pool: expected at most machine.memory (128GiB), got 200GiB"}},
    {"ReservesThatLeaveNoMemory",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  reserve: {os: 100GiB, backend: 28GiB}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:12: machine.reserve: expected os + backend less than machine.memory (128GiB), got "
      "128.00 GiB"}},
    {"BandwidthWithoutPerSecond",
     R"(machine: {memory: 128GiB, bandwidth: 256GB}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:38: machine.bandwidth: expected a bandwidth such as 256GB/s or 210GiB/s, got \"256GB\""}},
    {"ZeroBandwidthEfficiency",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, bandwidth_efficiency: 0}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:69: machine.bandwidth_efficiency: expected a number greater than 0 and at most 1, got 0"}},
    {"BandwidthEfficiencyAboveOne",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, bandwidth_efficiency: 1.5}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:69: machine.bandwidth_efficiency: expected a number greater than 0 and at most 1, got "
      "1.5"}},

    {"ComputeWithUnknownUnit",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, compute: 59TOPS}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:56: machine.compute: expected FLOP/s such as 59.4TFLOPS, 900GFLOPS or a plain number, "
      "from 0 (unknown) to 1000PFLOPS, got \"59TOPS\""}},
    {"NegativeCompute",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, compute: -1TFLOPS}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:56: machine.compute: expected FLOP/s such as 59.4TFLOPS, 900GFLOPS or a plain number, "
      "from 0 (unknown) to 1000PFLOPS, got \"-1TFLOPS\""}},
    {"ComputeAsAMap",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  compute: {fp16: 59TFLOPS}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:12: machine.compute: expected FLOP/s such as 59.4TFLOPS, 900GFLOPS or a plain number, "
      "from 0 (unknown) to 1000PFLOPS, got a map"}},
    {"ComputeEfficiencyAboveOne",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s, compute_efficiency: 35}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"1:67: machine.compute_efficiency: expected a number greater than 0 and at most 1, got 35"}},
    {"ZeroAttentionEfficiency",
     R"(machine:
  memory: 128GiB
  bandwidth: 256GB/s
  attention_efficiency: 0
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:25: machine.attention_efficiency: expected a number greater than 0 and at most 1, got "
      "0"}},

    // Missing required keys are reported at the key that introduces the map.
    {"MissingTopLevelSections",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
)",
     {"1:1: missing required key \"engines\" at the top level",
      "1:1: missing required key \"lanes\" at the top level"}},
    {"MissingMachineMemory",
     R"(# The box.
machine:
  bandwidth: 256GB/s
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"2:1: missing required key \"memory\" in machine"}},
    {"NoPortLeftInTheEnginePortRange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
  b: {engine: llama.cpp, model: /m.gguf, port: 5801, budget: 10GiB}
  c: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
lanes:
  l: {engine: a}
supervisor: {engine_ports: 5800-5801}
)",
     {"5:3: engines.c: no port given and none left in supervisor.engine_ports 5800-5801; set "
      "port: or widen the range"}},
    {"EnginePortRangeThatIsNotARange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, budget: 10GiB}
lanes:
  l: {engine: a}
supervisor: {engine_ports: 5999-5800}
)",
     {"6:28: supervisor.engine_ports: expected a port range FIRST-LAST such as 5800-5999, got "
      "\"5999-5800\""}},
    {"MissingLaneEngine",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {aliases: [x]}
)",
     {"5:3: missing required key \"engine\" in lanes.l"}},

    // Engines.
    {"UnknownEngineKind",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llamacpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:15: engines.a.engine: expected one of llama.cpp, vllm, sim, got \"llamacpp\""}},
    {"EngineNameWithCapitals",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  Deep_Lane: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: Deep_Lane}
)",
     {"3:3: engines: expected an engine name of lowercase letters, digits, '.', '_' and '-', "
      "starting with a letter or digit, got \"Deep_Lane\""}},
    {"EmptyEngines",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines: {}
lanes:
  l: {engine: a}
)",
     {"2:10: engines: expected at least one engine, got an empty map"}},
    {"PortOutOfRange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep-lane: {engine: llama.cpp, model: /m.gguf, port: 70000, budget: 10GiB}
lanes:
  l: {engine: deep-lane}
)",
     {"3:56: engines.deep-lane.port: expected an integer between 1 and 65535, got 70000"}},
    {"DuplicatePort",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
  b: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"4:48: engines.b.port: port 8080 is already used by engine \"a\" (line 3)"}},
    {"PortEqualToGatewayPort",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
gateway: {listen: 127.0.0.1:8080}
)",
     {"3:48: engines.a.port: port 8080 is the gateway's (gateway.listen 127.0.0.1:8080)"}},
    {"PortEqualToDefaultGatewayPort",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 4000, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:48: engines.a.port: port 4000 is the gateway's (the default gateway.listen "
      "127.0.0.1:4000)"}},
    {"ZeroBudget",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 0}
lanes:
  l: {engine: a}
)",
     {"3:62: engines.a.budget: expected a size greater than 0, got 0"}},
    {"BudgetLargerThanGpuPool",
     R"(machine: {memory: 128GiB, gpu_pool: 110GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 111GiB}
lanes:
  l: {engine: a}
)",
     {"3:62: engines.a.budget: expected at most machine.gpu_pool (110GiB), got 111GiB"}},
    {"BudgetLargerThanMemoryWhenPoolDefaults",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 200GiB}
lanes:
  l: {engine: a}
)",
     {"3:62: engines.a.budget: expected at most machine.gpu_pool (defaults to machine.memory, "
      "128GiB), got 200GiB"}},
    {"ModelMapWithoutPathOrHf",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: vllm, model: {quant: awq}, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:28: engines.a.model: expected \"path\" or \"hf\" (or both), got neither"}},

    // Flags.
    {"FlagWithLeadingDashes",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {--ctx-size: 4096}
lanes:
  l: {engine: a}
)",
     {"8:13: flag \"--ctx-size\" in engines.a.flags: write flag names without leading dashes, "
      "e.g. ctx-size"}},
    {"LlamaShortAlias",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {ngl: 99, ctk: q8_0}
lanes:
  l: {engine: a}
)",
     {"8:13: flag \"ngl\" in engines.a.flags is an alias; write its long name n-gpu-layers",
      "8:22: flag \"ctk\" in engines.a.flags is an alias; write its long name cache-type-k"}},
    {"UnknownCacheType",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {cache-type-k: q4_K, cache-type-v: Q8_0}
lanes:
  l: {engine: a}
)",
     {"8:27: engines.a.flags.cache-type-k: expected one of f32, f16, q4_0, q4_1, q5_0, q5_1, "
      "q8_0, iq4_nl, bf16, got \"q4_K\"",
      "8:47: engines.a.flags.cache-type-v: expected one of f32, f16, q4_0, q4_1, q5_0, q5_1, "
      "q8_0, iq4_nl, bf16, got \"Q8_0\""}},
    {"FlashAttnAsBool",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags: {flash-attn: true}
lanes:
  l: {engine: a}
)",
     {"8:25: engines.a.flags.flash-attn: expected on, off or auto, got \"true\""}},
    {"NestedFlagValue",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags:
      ctx-size: {value: 4096}
lanes:
  l: {engine: a}
)",
     {"9:17: engines.a.flags.ctx-size: expected a scalar value (a number, a string, true or "
      "false), got a map"}},
    {"LlamaMemoryFlagsOutOfRange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    flags:
      ctx-size: -1
      parallel: 0
      kv-unified: 1
      n-gpu-layers: some
      ubatch-size: 0
lanes:
  l: {engine: a}
)",
     {"9:17: engines.a.flags.ctx-size: expected an integer from 0 (the training context) to "
      "4294967040, got -1",
      "10:17: engines.a.flags.parallel: expected an integer from 1 to 256, or -1 (auto), got 0",
      "11:19: engines.a.flags.kv-unified: expected true or false, got 1",
      "12:21: engines.a.flags.n-gpu-layers: expected an integer >= -1, auto or all, got \"some\"",
      "13:20: engines.a.flags.ubatch-size: expected an integer from 1 to 1048576, got 0"}},
    {"VllmGpuMemoryUtilizationAboveOne",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: vllm
    model: /models/qwen
    port: 8000
    budget: 44GiB
    flags: {gpu-memory-utilization: 1.5}
lanes:
  l: {engine: a}
)",
     {"8:37: engines.a.flags.gpu-memory-utilization: expected a number greater than 0 and at "
      "most 1, got 1.5"}},
    {"VllmMemoryFlagsOutOfRange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: vllm
    model: /models/qwen
    port: 8000
    budget: 44GiB
    flags:
      max-model-len: 0
      kv-cache-dtype: fp4
      block-size: 24
      kv-cache-memory-bytes: 0GiB
lanes:
  l: {engine: a}
)",
     {"9:22: engines.a.flags.max-model-len: expected an integer from 1 to 4294967296, or auto, got "
      "0",
      "10:23: engines.a.flags.kv-cache-dtype: expected one of auto, bfloat16, float16, fp8, "
      "fp8_e4m3, fp8_e5m2, got \"fp4\"",
      "11:19: engines.a.flags.block-size: expected one of 1, 8, 16, 32, 64, 128, 256, got 24",
      "12:30: engines.a.flags.kv-cache-memory-bytes: expected a positive number of bytes up to "
      "1 PiB, or a size such as 12GiB, got \"0GiB\""}},
    {"QuantizedVCacheWithFlashAttentionOffIsRefusedAsLlamaServerDoes",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 8GiB
    flags: {cache-type-v: q8_0, flash-attn: off}
lanes:
  l: {engine: a}
)",
     {"8:45: engines.a: cache-type-v q8_0 needs flash attention, but flash-attn is off; "
      "llama-server refuses to start (\"quantized V cache was requested, but this requires "
      "Flash Attention\")"}},
    {"ProfileThatTurnsFlashAttentionOffUnderAQuantizedVIsRefused",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 8GiB
    flags: {cache-type-v: q4_0}
    profiles:
      slow: {flags: {flash-attn: off}}
lanes:
  l: {engine: a}
)",
     {"10:34: engines.a.profiles.slow: cache-type-v q4_0 needs flash attention, but flash-attn "
      "is off; llama-server refuses to start (\"quantized V cache was requested, but this "
      "requires Flash Attention\")"}},
    {"LlamaServerLimitsOnSlotsContextAndBatches",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 8GiB
    flags: {parallel: 300, ctx-size: 5000000000, batch-size: 9999999}
lanes:
  l: {engine: a}
)",
     {"8:23: engines.a.flags.parallel: expected an integer from 1 to 256, or -1 (auto), got 300",
      "8:38: engines.a.flags.ctx-size: expected an integer from 0 (the training context) to "
      "4294967040, got 5000000000",
      "8:62: engines.a.flags.batch-size: expected an integer from 1 to 1048576, got 9999999"}},
    {"MachineMemoryPastAPebibyteIsATypo",
     R"(machine: {memory: 2048TiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 8GiB}
lanes:
  l: {engine: a}
)",
     {"1:19: machine.memory: expected at most 1024TiB, got 2048TiB"}},
    {"LaneFallbacksMustNameOtherLanes",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 8GiB}
lanes:
  l: {engine: a, fallback: [l, nope], fallback_on_context: ghost, priority: urgent}
)",
     {"5:29: lanes.l.fallback[0]: lane \"l\" cannot fall back to itself",
      "5:32: lanes.l.fallback[1]: no lane named \"nope\"; lanes are: l",
      "5:60: lanes.l.fallback_on_context: no lane named \"ghost\"; lanes are: l",
      "5:77: lanes.l.priority: expected interactive or batch, got \"urgent\""}},
    {"EngineUrlMustBeHttpHostPortAndReplacesPort",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, url: "https://x:1"}
  b: {engine: vllm, url: "http://127.0.0.1:8000", port: 8000}
lanes:
  l: {engine: a}
)",
     {"3:31: engines.a.url: expected http://HOST:PORT, got \"https://x:1\"",
      "4:51: engines.b.port: an engine with a url takes its port from the url"}},

    {"VllmFlagWithUnderscores",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: vllm
    model: /models/qwen
    port: 8000
    budget: 44GiB
    flags: {max_model_len: 4096}
lanes:
  l: {engine: a}
)",
     {"8:13: flag \"max_model_len\" in engines.a.flags: write vllm flag names with dashes, "
      "max-model-len"}},

    // Lanes.
    {"LaneWithUnknownEngine",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep-lane: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
  fast-lane: {engine: vllm, model: /m, port: 8000, budget: 10GiB}
lanes:
  coder: {engine: fast-lanes}
)",
     {"6:19: lanes.coder.engine: no engine named \"fast-lanes\"; engines are: deep-lane, "
      "fast-lane"}},
    {"DuplicateAlias",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  orchestrator: {engine: a, aliases: [planner]}
  coder: {engine: a, aliases: [code, planner]}
)",
     {"6:38: lanes.coder.aliases[1]: \"planner\" is already an alias of lane \"orchestrator\""}},
    {"AliasEqualToLaterLaneName",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  orchestrator: {engine: a, aliases: [coder]}
  coder: {engine: a}
)",
     {"6:3: lanes: lane name \"coder\" is already an alias of lane \"orchestrator\""}},
    {"ContextRangeWithMinAboveMax",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {context: [5000, 100]}}
)",
     {"5:37: lanes.l.targets.context: expected [min, max] with min <= max, got [5000, 100]"}},
    {"FractionalContext",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {context: 1.5}}
)",
     {"5:37: lanes.l.targets.context: expected a positive integer or a [min, max] pair of them, "
      "got 1.5"}},
    {"NegativeTokensPerSecond",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {tokens_per_s: -5}}
)",
     {"5:42: lanes.l.targets.tokens_per_s: expected a positive number or a [min, max] pair of "
      "them, got -5"}},
    {"NegativeTokensPerSecondInRange",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {tokens_per_s: [-1, 5]}}
)",
     {"5:43: lanes.l.targets.tokens_per_s[0]: expected a positive number, got -1"}},
    {"TargetRangeWithThreeValues",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a, targets: {tokens_per_s: [1, 2, 3]}}
)",
     {"5:42: lanes.l.targets.tokens_per_s: expected a positive number or a [min, max] pair of "
      "them, got a list of 3"}},

    // Profiles.
    {"ProfilePausingUnknownEngine",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep-lane:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles:
      burst: {budget: 20GiB, pauses: [fast-lan]}
  fast-lane: {engine: vllm, model: /m, port: 8000, budget: 10GiB}
lanes:
  l: {engine: deep-lane}
)",
     {"9:39: engines.deep-lane.profiles.burst.pauses[0]: no engine named \"fast-lan\"; engines "
      "are: deep-lane, fast-lane"}},
    {"ProfilePausingItself",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  deep-lane:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles:
      burst: {pauses: [deep-lane]}
lanes:
  l: {engine: deep-lane}
)",
     {"9:24: engines.deep-lane.profiles.burst.pauses[0]: an engine cannot pause itself "
      "(\"deep-lane\")"}},
    {"ProfileBudgetLargerThanGpuPool",
     R"(machine: {memory: 128GiB, gpu_pool: 110GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles:
      burst: {budget: 120GiB}
lanes:
  l: {engine: a}
)",
     {"9:23: engines.a.profiles.burst.budget: expected at most machine.gpu_pool (110GiB), got "
      "120GiB"}},
    {"UndeclaredProfileName",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
profiles:
  burst: {description: deep lane takes the pool}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles:
      brust: {budget: 20GiB}
lanes:
  l: {engine: a}
)",
     {"11:7: profile \"brust\" in engines.a.profiles is not declared in the top-level profiles; "
      "declared: burst"}},
    {"ReservedProfileName",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a:
    engine: llama.cpp
    model: /m.gguf
    port: 8080
    budget: 10GiB
    profiles:
      normal: {budget: 20GiB}
lanes:
  l: {engine: a}
)",
     {"9:7: engines.a.profiles: profile name \"normal\" is reserved for running without a "
      "profile"}},
    {"DeclaredProfileWithoutDescription",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
profiles:
  burst: {}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
)",
     {"3:3: missing required key \"description\" in profiles.burst"}},

    // Gateway.
    {"ListenWithoutPort",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
gateway: {listen: localhost}
)",
     {"6:19: gateway.listen: expected host:port with a port between 1 and 65535, such as "
      "127.0.0.1:4000, got \"localhost\""}},
    {"ListenWithPortZero",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
gateway:
  listen: "0.0.0.0:0"
)",
     {"7:11: gateway.listen: expected host:port with a port between 1 and 65535, such as "
      "127.0.0.1:4000, got \"0.0.0.0:0\""}},

    // The document as a whole.
    {"YamlSyntaxError",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s
engines: {}
)",
     {"2:8: YAML syntax error: end of map flow not found"}},
    {"EmptyFile", "", {"1:1: the config is empty; expected a map with machine, engines and lanes"}},
    {"CommentsOnly",
     R"(# nothing here yet
)",
     {"1:1: the config is empty; expected a map with machine, engines and lanes"}},
    {"TopLevelList",
     R"(- machine
- engines
)",
     {"1:1: expected a map at the top level, got a list"}},
    // yaml-cpp 0.7 reads this as an empty document (and its LoadAll loops forever on it).
    {"LeadingCommaIsNotAnEmptyFile",
     R"(# typo below
, machine: {memory: 128GiB}
)",
     {"1:1: expected a map at the top level, got \", machine: {memory: 128GiB}\""}},
    {"NullDocument", "~\n", {"1:1: expected a map at the top level, got \"~\""}},
    {"SecondYamlDocument",
     R"(machine: {memory: 128GiB, bandwidth: 256GB/s}
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 8080, budget: 10GiB}
lanes:
  l: {engine: a}
---
lanes: {}
)",
     {"6:1: expected one YAML document, found a second one (a config is one document)"}},
    {"ManyProblemsReportedTogetherInFileOrder",
     R"(lanes:
  coder: {engine: nope}
machine:
  memory: 128GiB
  bandwidth: fast
engines:
  a: {engine: llama.cpp, model: /m.gguf, port: 0, budget: 10GiB, flags: {c: 4096}}
  b: {engine: vllm, model: /m, port: 8000, budget: 1TiB}
gateway: {listen: 127.0.0.1:4000}
extra: 1
)",
     {"2:19: lanes.coder.engine: no engine named \"nope\"; engines are: a, b",
      "5:14: machine.bandwidth: expected a bandwidth such as 256GB/s or 210GiB/s, got \"fast\"",
      "7:48: engines.a.port: expected an integer between 1 and 65535, got 0",
      "7:74: flag \"c\" in engines.a.flags is an alias; write its long name ctx-size",
      "8:52: engines.b.budget: expected at most machine.gpu_pool (defaults to machine.memory, "
      "128GiB), got 1TiB",
      "10:1: unknown key \"extra\" at the top level; expected one of: machine, engines, lanes, "
      "profiles, gateway, supervisor, ingest"}},
};

class MalformedConfigTest : public ::testing::TestWithParam<ErrorCase> {
 protected:
  void SetUp() override {
    env_.Unset("CORTEX_GATEWAY_LISTEN");
    env_.Unset("CORTEX_ADMIN_KEY");
  }

 private:
  config_test::ScopedEnv env_;
};

TEST_P(MalformedConfigTest, RejectsConfigWithExactLineColumnAndMessage) {
  const ErrorCase& c = GetParam();
  std::string expected;
  for (const std::string& line : c.lines) {
    if (!expected.empty()) expected += "\n";
    expected += "t.yaml:" + line;
  }

  StatusOr<Config> config = ParseConfig(c.yaml, "t.yaml");

  ASSERT_FALSE(config.ok()) << "the config was accepted";
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(config.status().message(), expected);
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedConfigTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace cortex
