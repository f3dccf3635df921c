#!/usr/bin/env bash
# Upload ingestion against the disk, side by side in one run: the same file copied with dd
# (64 KiB blocks, no fsync: the gateway does not fsync uploads either) and POSTed to
# /v1/ingest of a running `cortex up` with curl streaming it (-T, never held in curl's memory).
# Prints MB/s of both and the gateway's peak RSS (VmHWM) before and after the upload, which is
# what "constant gateway memory" means: the peak must not grow with the upload's size.
#
#   bench/upload_ingest.sh CORTEX_BINARY [MiB]     # default 1024 MiB; uses the demo's port 4000
set -euo pipefail

cortex="$(realpath "$1")"
mib="${2:-1024}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "${work}"' EXIT

# The built-in demo (simulated engines), its state (ingest jobs, uploads) under ${work}.
port=4000
if curl -s "http://127.0.0.1:${port}/health" >/dev/null; then
  echo "upload_ingest: port ${port} is taken (the demo's gateway listens there)" >&2
  exit 1
fi
(cd "${work}" && XDG_STATE_HOME="${work}/state" CORTEX_CONFIG= exec "${cortex}" up) >"${work}/up.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:${port}/health" >/dev/null && break
  sleep 0.1
done

head -c "$((mib << 20))" /dev/urandom >"${work}/upload.tar"
sync
hwm() { awk '/VmHWM/ {print $2}' "/proc/${pid}/status"; }
before_kib="$(hwm)"

start=$(date +%s.%N)
dd if="${work}/upload.tar" of="${work}/copy.tar" bs=64K status=none
dd_s=$(echo "$(date +%s.%N) - ${start}" | bc)
rm -f "${work}/copy.tar"

start=$(date +%s.%N)
code=$(curl -s -o "${work}/job.json" -w '%{http_code}' -X POST -T "${work}/upload.tar" \
  -H 'Content-Type: application/x-tar' "http://127.0.0.1:${port}/v1/ingest")
up_s=$(echo "$(date +%s.%N) - ${start}" | bc)
after_kib="$(hwm)"
[[ "${code}" == 202 ]] || { echo "upload answered ${code}: $(cat "${work}/job.json")" >&2; exit 1; }

printf '%-28s %10s %10s\n' "${mib} MiB" "seconds" "MB/s"
printf '%-28s %10.2f %10.0f\n' "dd (disk copy)" "${dd_s}" "$(echo "${mib} * 1.048576 / ${dd_s}" | bc -l)"
printf '%-28s %10.2f %10.0f\n' "POST /v1/ingest (curl -T)" "${up_s}" "$(echo "${mib} * 1.048576 / ${up_s}" | bc -l)"
printf 'cortex up peak RSS: %d MiB before the upload, %d MiB after\n' "$((before_kib / 1024))" "$((after_kib / 1024))"
