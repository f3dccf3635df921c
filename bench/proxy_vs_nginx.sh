#!/usr/bin/env bash
# The gateway against nginx as a reverse proxy, side by side in one run: the same upstream
# (`cortex sim`, llama.cpp flavor, no delays, 64 slots) reached directly, through nginx (one
# worker, keepalive upstream, proxy_buffering off) and through `cortex up` (model rewriting,
# admission, metrics and the usage tap all on), each loaded by wrk in turn.
#
#   bench/proxy_vs_nginx.sh [CORTEX_BINARY] [SECONDS]
#   BASELINE=/path/to/older/cortex bench/proxy_vs_nginx.sh ...   (A/B: an older build's column too)
#
# For each load it prints requests/s, the proxy's CPU time per request (utime + stime from
# /proc/PID/stat, summed over the proxy's processes, divided by the requests wrk completed) and,
# at one connection, p50/p99 latency. Skips nginx, saying so, when it is not installed
# (scripts/install-deps.sh installs nginx-light and wrk).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cortex="${1:-${root}/build/src/cortex}"
seconds="${2:-8}"
command -v wrk >/dev/null || { echo "proxy_vs_nginx: wrk is not installed (apt-get install wrk)"; exit 0; }
have_nginx=1
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || have_nginx=0
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${dir}"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "proxy_vs_nginx: nothing answers at $1" >&2
  return 1
}
cpu_ticks() {  # PID... -> utime+stime summed, in clock ticks
  local t=0
  for p in "$@"; do
    t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
  done
  echo "$t"
}

sim_port="$(free_port)"
nginx_port="$(free_port)"
gw_port="$(free_port)"
base_port="$(free_port)"
baseline="${BASELINE:-}"

# The upstream serves one of the demo's synthetic GGUF models, which `cortex doctor` writes when
# it checks the built-in demo.
XDG_STATE_HOME="${dir}/state" "${cortex}" doctor >/dev/null 2>&1 || true
model="$(find "${dir}/state" -name '*.gguf' | sort | head -1)"
[ -n "${model}" ] || { echo "proxy_vs_nginx: no model to serve" >&2; exit 1; }

"${cortex}" sim --flavor llama.cpp -m "${model}" --host 127.0.0.1 --port "${sim_port}" -np 64 \
  -c 65536 --sim-load-seconds 0 --sim-ttft-ms 0 --sim-itl-ms 0 >"${dir}/sim.log" 2>&1 &
sim_pid=$!
pids+=("${sim_pid}")
wait_http "http://127.0.0.1:${sim_port}/health"

cat >"${dir}/cortex.yaml" <<EOF
machine: { memory: 16GiB, bandwidth: 100GB/s }
engines:
  sim: { engine: llama.cpp, url: "http://127.0.0.1:${sim_port}" }
lanes:
  bench: { engine: sim, max_concurrency: 100000, queue: 100000 }
gateway: { listen: "127.0.0.1:${gw_port}", probe_interval: 5 }
ingest: { dir: ${dir}/ingest }
EOF
"${cortex}" up -c "${dir}/cortex.yaml" >"${dir}/cortex.log" 2>&1 &
gw_pid=$!
pids+=("${gw_pid}")
wait_http "http://127.0.0.1:${gw_port}/lanes/bench/health"

# BASELINE: the same config on another port, served by an older build, measured in the same run
# right after the current one in every row, so the VM's drift hits both alike.
base_pid=""
if [ -n "${baseline}" ]; then
  sed -e "s/127.0.0.1:${gw_port}/127.0.0.1:${base_port}/" -e "s#${dir}/ingest#${dir}/ingest-base#" \
    "${dir}/cortex.yaml" >"${dir}/base.yaml"
  "${baseline}" up -c "${dir}/base.yaml" >"${dir}/base.log" 2>&1 &
  base_pid=$!
  pids+=("${base_pid}")
  wait_http "http://127.0.0.1:${base_port}/lanes/bench/health"
fi

nginx_pids=()
if [ "${have_nginx}" = 1 ]; then
  mkdir -p "${dir}/nginx"
  cat >"${dir}/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx/body;
  proxy_temp_path ${dir}/nginx/proxy;
  fastcgi_temp_path ${dir}/nginx/fastcgi;
  uwsgi_temp_path ${dir}/nginx/uwsgi;
  scgi_temp_path ${dir}/nginx/scgi;
  upstream sim { server 127.0.0.1:${sim_port}; keepalive 128; }
  server {
    listen 127.0.0.1:${nginx_port};
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
  "${nginx_bin}" -p "${dir}/nginx" -c "${dir}/nginx/nginx.conf" -e "${dir}/nginx/error.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${nginx_port}/health"
  # The master and its one worker (the worker's title does not name the directory).
  nginx_master="${pids[-1]}"
  nginx_pids=("${nginx_master}" $(pgrep -P "${nginx_master}"))
  [ ${#nginx_pids[@]} -ge 2 ] || { echo "proxy_vs_nginx: no nginx worker found" >&2; exit 1; }
else
  echo "proxy_vs_nginx: nginx is not installed; its column is skipped (apt-get install nginx-light)"
fi

cat >"${dir}/small.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"hello there"}],"max_tokens":1}'
EOF
cat >"${dir}/stream.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"hello there"}],"max_tokens":64,"stream":true}'
EOF

# run NAME PORT SCRIPT CONNECTIONS PIDS... -> "req/s cpu_us_per_req p50 p99"
run() {
  local port=$1 script=$2 conns=$3
  shift 3
  local before after out
  before="$(cpu_ticks "$@")"
  out="$(wrk -t "$([ "${conns}" -gt 1 ] && echo 2 || echo 1)" -c "${conns}" -d "${seconds}s" \
    --latency -s "${dir}/${script}" "http://127.0.0.1:${port}/v1/chat/completions")"
  after="$(cpu_ticks "$@")"
  local reqs rps p50 p99 errors
  reqs="$(echo "${out}" | awk '/requests in/ { print $1 }')"
  rps="$(echo "${out}" | awk '/Requests\/sec/ { print $2 }')"
  p50="$(echo "${out}" | awk '$1 == "50%" { print $2 }')"
  p99="$(echo "${out}" | awk '$1 == "99%" { print $2 }')"
  errors="$(echo "${out}" | awk '/Non-2xx|Socket errors/ { print }' | tr '\n' ' ')"
  [ -n "${errors}" ] && echo "  (${port} ${script} c=${conns}: ${errors})" >&2
  local tck
  tck="$(getconf CLK_TCK)"
  awk -v t=$((after - before)) -v n="${reqs}" -v tck="${tck}" -v rps="${rps}" -v p50="${p50}" \
    -v p99="${p99}" 'BEGIN { printf "%.0f req/s|%.1f us|%s|%s", rps, 1e6 * t / tck / n, p50, p99 }'
}

echo
echo "## Direct, nginx and cortex in one run ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${seconds} s per cell)"
echo
if [ -n "${baseline}" ]; then
  echo "| load | direct | nginx | cortex | cortex / nginx (CPU per request) | baseline | baseline / nginx |"
  echo "|---|---|---|---|---:|---|---:|"
else
  echo "| load | direct | nginx | cortex | cortex / nginx (CPU per request) |"
  echo "|---|---|---|---|---:|"
fi
for load in "small c=16:small.lua:16" "small c=64:small.lua:64" "stream 64 tokens c=16:stream.lua:16" \
  "small c=1:small.lua:1"; do
  IFS=: read -r name script conns <<<"${load}"
  d="$(run "${sim_port}" "${script}" "${conns}" "${sim_pid}")"
  if [ "${have_nginx}" = 1 ]; then n="$(run "${nginx_port}" "${script}" "${conns}" "${nginx_pids[@]}")"; else n="-|-|-|-"; fi
  c="$(run "${gw_port}" "${script}" "${conns}" "${gw_pid}")"
  ratio="$(awk -v a="$(echo "$c" | cut -d'|' -f2)" -v b="$(echo "$n" | cut -d'|' -f2)" \
    'BEGIN { a += 0; b += 0; if (b > 0) printf "%.2fx", a / b; else print "-" }')"
  fmt() { echo "$1" | awk -F'|' -v one="${conns}" '{ if (one == 1) printf "%s, p50 %s, p99 %s", $1, $3, $4; else printf "%s, %s CPU/req", $1, $2 }'; }
  if [ -n "${baseline}" ]; then
    b="$(run "${base_port}" "${script}" "${conns}" "${base_pid}")"
    bratio="$(awk -v a="$(echo "$b" | cut -d'|' -f2)" -v n="$(echo "$n" | cut -d'|' -f2)" \
      'BEGIN { a += 0; n += 0; if (n > 0) printf "%.2fx", a / n; else print "-" }')"
    echo "| ${name} | $(fmt "$d") (engine CPU $(echo "$d" | cut -d'|' -f2)) | $(fmt "$n") | $(fmt "$c") | ${ratio} | $(fmt "$b") | ${bratio} |"
  else
    echo "| ${name} | $(fmt "$d") (engine CPU $(echo "$d" | cut -d'|' -f2)) | $(fmt "$n") | $(fmt "$c") | ${ratio} |"
  fi
done
echo
echo "CPU/req is the proxy's own CPU (the engine's in the direct column), utime+stime per completed request."

# PROFILE=1: where the gateway's time goes under the small c=16 load (perf from linux-perf).
if [ "${PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
  perf record -F 1999 -g -o "${dir}/perf.data" -p "${gw_pid}" -- sleep "${seconds}" \
    >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.2
  wrk -t 2 -c 16 -d "$((seconds - 1))s" -s "${dir}/small.lua" \
    "http://127.0.0.1:${gw_port}/v1/chat/completions" >/dev/null
  wait "${perf_pid}" || true
  # section TITLE SORT LINES: perf's self time, its padding cut, as a fenced block.
  section() {
    printf '\n### %s\n\n```\n' "$1"
    perf report -i "${dir}/perf.data" --no-children --sort "$2" --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' |
      cut -c1-110 | head -"$3" || true
    printf '```\n'
  }
  section "cortex up under small c=16: self time by symbol (perf, top 30)" symbol 30
  section "by shared object" dso 10
fi

# STRACE=1: the system calls each proxy makes per small request (c=16), counted by strace -c
# over a few seconds of wrk; strace slows the proxy, so only the counts mean anything here.
if [ "${STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
  syscalls() {  # NAME PORT PIDS...
    local name=$1 port=$2
    shift 2
    local args=()
    for p in "$@"; do args+=(-p "$p"); done
    strace -f -c -o "${dir}/strace.${name}" "${args[@]}" 2>/dev/null &
    local strace_pid=$!
    sleep 0.5
    local reqs
    reqs="$(wrk -t 2 -c 16 -d 3s -s "${dir}/small.lua" "http://127.0.0.1:${port}/v1/chat/completions" |
      awk '/requests in/ { print $1 }')"
    kill -INT "${strace_pid}"
    wait "${strace_pid}" 2>/dev/null || true
    printf '\n### %s: system calls per request (%s requests)\n\n```\n' "${name}" "${reqs}"
    # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall; then a total row.
    awk -v n="${reqs}" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
        printf "%-16s %6.2f\n", $NF, $4 / n; total += $4 }
      END { printf "%-16s %6.2f\n", "total", total / n }' "${dir}/strace.${name}" |
      sort -k2 -rn | awk '$2 >= 0.01' | head -14
    printf '```\n'
  }
  [ "${have_nginx}" = 1 ] && syscalls nginx "${nginx_port}" "${nginx_pids[@]}"
  syscalls cortex "${gw_port}" "${gw_pid}"
fi
