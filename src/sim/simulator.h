// RunSimulator: one simulated engine process, from argv to exit.
//
// The life of the process, for both flavors:
//   1. read the model and plan it (a failure prints the engine's own failure lines, exit 1);
//   2. llama.cpp: listen at once and answer 503 "Loading model"; vLLM: do not listen yet, so
//      connections are refused (D-engine-apis.md 3.7 "During model load");
//   3. "load" for --sim-load-seconds while (in another thread) touching the --sim-hold-memory
//      bytes; ready when both are done: print the engine's ready lines, vLLM starts listening;
//   4. serve until SIGTERM/SIGINT (the engine's shutdown lines, exit 0 at once: there is
//      nothing to unload, so no window for llama-server's second-signal exit 1), a simulated
//      crash (exit 1), or forever when hung.
//
// Threading: one io_context on the calling thread runs the HTTP server and every request, so
// the engine state needs no locks; only the memory toucher runs on its own thread and posts its
// result back.
//
// The process ends with _Exit after flushing its streams: request coroutines may still be
// suspended when the loop stops, and letting them unwind at exit would only replay slot
// releases nobody will see.
#pragma once

#include "sim/sim_options.h"

namespace cortex::sim {

// Runs until the process should exit; returns the exit code (callers normally never see it
// because the simulator _Exits, but tests of early failures do).
int RunSimulator(const SimOptions& options);

}  // namespace cortex::sim
