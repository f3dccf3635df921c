#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan) and runs it for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET]     # defaults: 60 seconds, target "gguf"
#
# TARGET names fuzz/TARGET_fuzz.cpp and its seed corpus fuzz/corpus/TARGET/. The seeds are
# copied to a temporary directory so that a run never adds files to the repository; inputs that
# crash are written to build-fuzz/artifacts/. Exits non-zero when the fuzzer finds a crash, a
# leak, a sanitizer report or an input over the memory limit.
set -euo pipefail

seconds="${1:-60}"
target="${2:-gguf}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
seeds="${root}/fuzz/corpus/${target}"

if ! [[ "${seconds}" =~ ^[0-9]+$ ]] || [ "${seconds}" -eq 0 ]; then
  echo "fuzz.sh: SECONDS must be a positive whole number, not '${seconds}'" >&2
  exit 2
fi
if [ ! -f "${root}/fuzz/${target}_fuzz.cpp" ]; then
  echo "fuzz.sh: no fuzz target fuzz/${target}_fuzz.cpp" >&2
  exit 2
fi

if [ ! -f "${build}/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "${root}" -B "${build}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCORTEX_BUILD_FUZZERS=ON -DCORTEX_BUILD_TESTS=OFF -DCORTEX_BUILD_BENCH=OFF
fi
cmake --build "${build}" --target "${target}_fuzz" -j "$(nproc)"

work="$(mktemp -d "${TMPDIR:-/tmp}/cortex-fuzz-${target}-XXXXXX")"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/corpus" "${build}/artifacts"
if [ -d "${seeds}" ]; then
  cp -r "${seeds}/." "${work}/corpus/"
fi

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
echo "fuzz.sh: running ${target}_fuzz for ${seconds}s on a copy of ${seeds}"
set +e
"${build}/fuzz/${target}_fuzz" \
  -max_total_time="${seconds}" \
  -rss_limit_mb=2048 \
  -max_len=65536 \
  -timeout=10 \
  -print_final_stats=1 \
  -artifact_prefix="${build}/artifacts/${target}-" \
  "${work}/corpus"
status=$?
set -e
if [ "${status}" -ne 0 ]; then
  echo "fuzz.sh: ${target}_fuzz failed (exit ${status}); inputs are in ${build}/artifacts/" >&2
fi
exit "${status}"
