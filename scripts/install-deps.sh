#!/usr/bin/env bash
# Installs everything Cortex needs to build and test on Debian 12 (bookworm).
# Idempotent: packages already present are left alone. Needs root or sudo.
set -euo pipefail

packages=(
  build-essential g++ cmake pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev
  libsqlite3-dev libarchive-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format
  python3 curl
  prometheus  # promtool checks the gateway's /metrics
  docker-compose  # `docker-compose config` checks what `cortex compose` writes
  chromium  # the /ui dashboard's test drives it headless through puppeteer-core
  nginx-light wrk  # bench/proxy_vs_nginx.sh: the reverse proxy to measure the gateway against
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js runs the official openai npm client against the gateway; any packaged version from 18
# on will do, so an existing installation (e.g. from NodeSource) is kept.
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The openai and puppeteer-core npm packages for tests/js (pinned by tests/js/package-lock.json).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "${root}/tests/js/node_modules/openai" ] ||
  [ ! -d "${root}/tests/js/node_modules/puppeteer-core" ]; then
  if ! (cd "${root}/tests/js" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "install-deps: npm ci failed; the openai client and dashboard tests will be skipped" >&2
  fi
fi
