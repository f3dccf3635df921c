#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, checks the formatting (scripts/format.sh),
# builds with warnings as errors, runs the unit and integration tests with CTest (the include
# layering among them), then fuzzes the GGUF reader (CORTEX_FUZZ_SECONDS, default 60) and the archive
# reader and packer (CORTEX_ARCHIVE_FUZZ_SECONDS, default 30) for a bounded time.
#
# Opt-in: with CORTEX_LLAMA_SERVER=/path/to/llama-server the planner is also checked against a
# real llama-server (tests/integration/llama_server_memory_test.cpp); without it those tests
# are skipped and say so.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
jobs="$(nproc)"

scripts/install-deps.sh
scripts/format.sh --check
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORTEX_WERROR=ON
cmake --build build -j "${jobs}"
ctest --test-dir build --output-on-failure -j "${jobs}" --timeout 600
scripts/fuzz.sh "${CORTEX_FUZZ_SECONDS:-60}" gguf
scripts/fuzz.sh "${CORTEX_ARCHIVE_FUZZ_SECONDS:-30}" archive
echo "test.sh: all tests passed"
