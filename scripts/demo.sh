#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs the dependencies, builds cortex, shows
# the plan of the seed's Strix Halo deployment (config/strix-halo.yaml; it does not fit, which
# is the point, and the memory map of every profile goes to build/strix-halo.svg), then runs
# `cortex up` on its built-in demo in the foreground: the seed's five lanes on simulated
# engines, with the supervisor, the memory ledger, on-demand swapping and the burst profile.
# Ctrl-C stops it and every engine it started.
#
#   scripts/demo.sh            # plan, then cortex up (demo) until Ctrl-C
#   CORTEX_DEMO_SECONDS=30 scripts/demo.sh   # stop by itself after 30 s (used by CI-like runs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)" --target cortex

set +e
build/src/cortex plan -c config/strix-halo.yaml --svg build/strix-halo.svg
status=$?
set -e
case "${status}" in
  0) echo "demo.sh: the seed's plan fits; memory map in build/strix-halo.svg" ;;
  1) echo "demo.sh: the seed's plan does not fit (exit 1, findings above); memory map in build/strix-halo.svg" ;;
  *) exit "${status}" ;;
esac

cat <<'HELP'

demo.sh: starting `cortex up` on the built-in demo (gateway on http://127.0.0.1:4000).
In another terminal:
  curl -s localhost:4000/v1/chat/completions -d '{"model":"coder","messages":[{"role":"user","content":"hi"}]}'
  curl -s localhost:4000/v1/chat/completions -d '{"model":"governance","messages":[{"role":"user","content":"hi"}]}'   # loads on demand, swaps an idle engine out
  build/src/cortex status
  build/src/cortex top                 # live; q quits (or open http://127.0.0.1:4000/ui)
  build/src/cortex burst on --wait     # the deep lane takes the memory of the three vLLM-like engines
  build/src/cortex burst off --wait
  build/src/cortex logs deep-lane-sim
HELP
if [ -n "${CORTEX_DEMO_SECONDS:-}" ]; then
  # One SIGINT after the time, to cortex alone (--foreground), like one Ctrl-C: it stops its
  # engines and exits 0.
  set +e
  timeout --foreground -s INT "${CORTEX_DEMO_SECONDS}" build/src/cortex up
  status=$?
  set -e
  [ "${status}" -eq 124 ] && status=0
  exit "${status}"
fi
exec build/src/cortex up
