#!/usr/bin/env bash
# Builds the benchmarks (Release) and runs them all in one process, so the figures compare side
# by side under the same machine state.
#
#   scripts/bench.sh [BENCHMARK FLAGS...]   # e.g. --benchmark_filter=Gguf
#
# Prints the table (median, mean, stddev, cv of 5 repetitions per benchmark) and writes the
# same results as JSON to build-bench/bench.json. Record figures in bench/RESULTS.md with the
# machine and the date. The benchmarks use the tests' support library, hence tests ON.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-bench"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S "${root}" -B "${build}" -DCMAKE_BUILD_TYPE=Release \
  -DCORTEX_BUILD_TESTS=ON -DCORTEX_BUILD_BENCH=ON >/dev/null
cmake --build "${build}" -j "${jobs}" --target cortex_bench cortex_gateway_bench cortex_burst_bench cortex_dashboard_bench cortex

# min_time is per repetition; 1 s keeps the whole run well under two minutes on 2 cores.
"${build}/bench/cortex_bench" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_min_time=1 \
  --benchmark_out="${build}/bench.json" \
  --benchmark_out_format=json \
  "$@"
echo "JSON: ${build}/bench.json"

# The gateway's overhead: its own program, since it starts `cortex sim` and `cortex up` and
# compares the same client straight to the engine and through the gateway in one run.
"${build}/bench/cortex_gateway_bench" "${build}/src/cortex" --requests 2000 --seconds 10 --streams 5000

# Burst switch orchestration: POST /admin/burst?wait=1 on and off, timed against the simulated
# engines' own load time (bench/burst_switch.cpp).
"${build}/bench/cortex_burst_bench" "${build}/src/cortex" --switches 10 --load 0.5

# The gateway against nginx in front of the same engine, with wrk (bench/proxy_vs_nginx.sh).
"${root}/bench/proxy_vs_nginx.sh" "${build}/src/cortex" 8

# Proxied requests with and without 100 dashboards on /admin/events (bench/dashboard_load.cpp).
"${build}/bench/cortex_dashboard_bench" "${build}/src/cortex" --clients 100

# `cortex pack` against repomix (pinned in bench/pack/package-lock.json) on a generated 2,500-file,
# 40 MB tree: wall time, peak RSS, bytes out (bench/pack_vs_repomix.sh).
if command -v npm >/dev/null; then
  "${root}/bench/pack_vs_repomix.sh" "${build}/src/cortex"
else
  echo "skipping cortex pack vs repomix: npm not found (it installs repomix from bench/pack/package-lock.json)"
fi

# Upload ingestion against the disk: dd and POST /v1/ingest of the same 1 GiB file, and the
# gateway's peak RSS before and after (bench/upload_ingest.sh; uses the demo's port 4000).
"${root}/bench/upload_ingest.sh" "${build}/src/cortex" 1024
