// Startup and shutdown log lines, in each engine's own format, with sizes from our planner.
//
// The supervisor learns an engine's memory and readiness partly from its log, so the simulator
// prints what the real engine prints, in the same format, with the figures the planner computes
// for the same model and flags. A supervisor tested against the simulator therefore parses the
// real formats (engine/llama_server_log.h reads the llama.cpp lines back to the planned sizes).
//
// llama.cpp (D-engine-apis.md 1.1, 1.10): every line on stderr behind llama-server's
// "M.SS.mmm.uuu L " prefix (time since process start, level letter I/W/E). The buffer lines are
// printed always (llama-server prints them only with -lv 4); the simulator presents itself as a
// CPU build, so every buffer is "CPU"/"CPU_Mapped" whatever -ngl says.
//
// vLLM (2.1, 2.6): "(APIServer pid=N) INFO MM-DD HH:MM:SS [file.py:line] message" on stdout, the
// engine core's lines with "(EngineCore_0 pid=N)", and uvicorn's "INFO:     ..." lines on stderr.
//
// Thread safety: LogLine writes whole lines with one call each; fine from the event-loop thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "model/model_info.h"
#include "plan/llama_cpp_plan.h"
#include "plan/vllm_plan.h"

namespace cortex::sim {

// Marks the process start for llama.cpp's elapsed-time prefix. Call once, early.
void MarkProcessStart();

// "0.00.017.281 I " for `level` 'I', 'W' or 'E', from the time since MarkProcessStart().
std::string LlamaCppPrefix(char level);
// Writes one llama.cpp line (prefix + message + newline) to stderr and flushes.
void LogLlamaCpp(char level, std::string_view message);

// "(APIServer pid=123) INFO 11-29 18:08:01 [api_server.py:1885] " for `process`
// ("APIServer", "EngineCore_0"), `level` ("INFO", "WARNING", "ERROR") and `where`.
std::string VllmPrefix(std::string_view process, std::string_view level, std::string_view where);
// Writes one vLLM line to stdout (vLLM's default log stream) and flushes.
void LogVllm(std::string_view process, std::string_view level, std::string_view where,
             std::string_view message);
// Writes one uvicorn line ("INFO:     message") to stderr and flushes.
void LogUvicorn(std::string_view message);

// llama-server's lines from "load_tensors" to "initializing, n_slots", for `plan` of `model`:
// model buffer, context parameters, output, KV and compute buffers, slots. Messages without
// the prefix, each with its level letter.
struct LevelledLine {
  char level;
  std::string message;
};
std::vector<LevelledLine> LlamaCppLoadLines(const ModelInfo& model, const LlamaCppPlan& plan);

// vLLM's engine-core lines after loading: weights, available KV memory, KV tokens, maximum
// concurrency, init time. Messages only (the caller prefixes them as EngineCore_0 lines, with
// the `where` given in each pair).
std::vector<std::pair<std::string, std::string>> VllmLoadLines(const ModelInfo& model,
                                                               const VllmPlan& plan,
                                                               double load_seconds);

// "922,496": vLLM's thousands separators.
std::string WithCommas(uint64_t n);

}  // namespace cortex::sim
