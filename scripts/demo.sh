#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs the dependencies, builds cortex, and
# plans the seed's Strix Halo deployment (config/strix-halo.yaml), writing the memory map of
# every profile to build/strix-halo.svg.
#
# The seed's deployment does not fit (that is the point of the plan), so `cortex plan` exits 1;
# this script reports that and exits 0. Any other failure is passed on.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)" --target cortex

set +e
build/src/cortex plan -c config/strix-halo.yaml --svg build/strix-halo.svg "$@"
status=$?
set -e
case "${status}" in
  0) echo "demo.sh: the plan fits; memory map in build/strix-halo.svg" ;;
  1) echo "demo.sh: the plan does not fit (exit 1, findings above); memory map in build/strix-halo.svg" ;;
  *) exit "${status}" ;;
esac
