#!/usr/bin/env bash
# `cortex pack` side by side with repomix (pinned in bench/pack/package-lock.json) on the same
# tree in one run: wall time, peak RSS, bytes out, files packed.
#
#   bench/pack_vs_repomix.sh CORTEX_BINARY [TREE_DIR]
#
# TREE_DIR: the tree to pack. Left out, a synthetic one (bench/pack_tree.py: 2,500 files, 40 MB)
# is generated into a temporary directory and removed afterwards; named but not existing, it is
# generated there and kept (for reruns). PACK_BENCH_RUNS (default 3) runs of each tool,
# alternating cortex, repomix, cortex, ...; medians reported. Needs node/npm (repomix is
# installed with `npm ci` into bench/pack/node_modules if missing) and GNU time at /usr/bin/time.
# Prints a markdown table and the machine; record figures in bench/RESULTS.md.
set -euo pipefail

usage() { echo "usage: $0 CORTEX_BINARY [TREE_DIR]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pack_dir="${root}/bench/pack"
cortex="$(realpath "$1")"
runs="${PACK_BENCH_RUNS:-3}"
[[ -x "${cortex}" ]] || { echo "$0: ${1}: not an executable" >&2; exit 2; }
"${cortex}" pack --help >/dev/null 2>&1 || { echo "$0: ${cortex} has no working 'pack' subcommand" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/pack-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# ---- tools ----
if ! command -v /usr/bin/time >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing GNU time (Debian package 'time') ..." >&2
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  fi
  command -v /usr/bin/time >/dev/null || { echo "$0: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then echo "$0: needs node and npm" >&2; exit 2; fi
repomix="${pack_dir}/node_modules/.bin/repomix"
if [[ ! -x "${repomix}" ]]; then
  echo "installing repomix from bench/pack/package-lock.json (npm ci) ..." >&2
  (cd "${pack_dir}" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
repomix_version="$("${repomix}" --version 2>/dev/null | tail -n1)"

# ---- the tree ----
tree="${2:-}"
if [[ -z "${tree}" ]]; then
  tree="${work}/tree"
  python3 "${root}/bench/pack_tree.py" "${tree}" >&2
elif [[ ! -e "${tree}" ]]; then
  python3 "${root}/bench/pack_tree.py" "${tree}" >&2
fi
tree="$(realpath "${tree}")"
[[ -d "${tree}" ]] || { echo "$0: ${tree}: not a directory" >&2; exit 2; }
tree_files="$(find "${tree}" -type f | wc -l)"
tree_bytes="$(find "${tree}" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
# Warm the page cache once so that neither tool's first run pays for cold reads.
find "${tree}" -type f -exec cat {} + >/dev/null

# Both run in an empty directory (repomix reads repomix.config.json from its cwd) with an empty
# XDG_CONFIG_HOME (no global repomix config), writing outside the tree.
mkdir -p "${work}/cwd" "${work}/xdg"
cortex_out="${work}/cortex.txt"
repomix_out="${work}/repomix.xml"
cortex_cmd=("${cortex}" pack "${tree}" -o "${cortex_out}")
# repomix 1.18.1: --no-security-check (secretlint scan; cortex has none), --no-git-sort-by-changes
# (git log per file; the generated tree is no git repo anyway). Its token counting (tiktoken
# o200k_base over every file, in worker threads) has no flag to turn it off and stays in;
# cortex only estimates tokens from bytes without --lane.
repomix_flags=(-o "${repomix_out}" --style xml --no-security-check --no-git-sort-by-changes)
repomix_cmd=("${repomix}" "${tree}" "${repomix_flags[@]}")

# run TOOL: one timed run; appends "wall_s maxrss_kib" to ${work}/TOOL.times.
run() {
  local tool="$1" out log
  local -a cmd
  if [[ ${tool} == cortex ]]; then cmd=("${cortex_cmd[@]}"); out="${cortex_out}"
  else cmd=("${repomix_cmd[@]}"); out="${repomix_out}"; fi
  log="${work}/${tool}.log"
  rm -f "${out}"
  if ! (cd "${work}/cwd" && XDG_CONFIG_HOME="${work}/xdg" NO_COLOR=1 \
        /usr/bin/time -f "%e %M" -o "${work}/time.txt" "${cmd[@]}" >"${log}" 2>&1); then
    echo "$0: ${tool} failed: ${cmd[*]}" >&2
    tail -n 40 "${log}" >&2
    cat "${work}/time.txt" >&2 || true
    exit 1
  fi
  tail -n1 "${work}/time.txt" >>"${work}/${tool}.times"
  stat -c %s "${out}" >"${work}/${tool}.bytes"
}

echo "packing ${tree} (${tree_files} files, ${tree_bytes} bytes): ${runs} runs each, alternating ..." >&2
for ((i = 1; i <= runs; i++)); do
  run cortex
  run repomix
  echo "  run ${i}: cortex $(tail -n1 "${work}/cortex.times"), repomix $(tail -n1 "${work}/repomix.times") (s KiB)" >&2
done

# median COLUMN FILE
median() {
  awk -v c="$1" '{print $c}' "$2" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
c_wall="$(median 1 "${work}/cortex.times")"; c_rss="$(median 2 "${work}/cortex.times")"
r_wall="$(median 1 "${work}/repomix.times")"; r_rss="$(median 2 "${work}/repomix.times")"
c_bytes="$(cat "${work}/cortex.bytes")"; r_bytes="$(cat "${work}/repomix.bytes")"
c_files="$(grep -oE 'cortex pack: [0-9]+ files packed' "${work}/cortex.log" | grep -oE '[0-9]+' | head -n1 || true)"
r_files="$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "${work}/repomix.log" | grep -oE 'Total Files: [0-9,]+' | tr -d ',' | grep -oE '[0-9]+' | head -n1 || true)"

# The same files in both? Compare the <file path="..."> blocks of the two outputs.
grep -oE '^<file path="[^"]*">' "${cortex_out}" | sort >"${work}/cortex.paths" || true
grep -oE '^<file path="[^"]*">' "${repomix_out}" | sort >"${work}/repomix.paths" || true
only_c="$(comm -23 "${work}/cortex.paths" "${work}/repomix.paths" | sed -E 's/^<file path="(.*)">$/\1/')"
only_r="$(comm -13 "${work}/cortex.paths" "${work}/repomix.paths" | sed -E 's/^<file path="(.*)">$/\1/')"

count() { if [[ -z "$1" ]]; then echo 0; else wc -l <<<"$1"; fi; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "inf"}'; }
speed="$(ratio "${r_wall}" "${c_wall}")"
memory="$(ratio "${r_rss}" "${c_rss}")"
commit="$(git -C "${root}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "${root}" status --porcelain --untracked-files=no 2>/dev/null | head -n1)" ]]; then commit+="+dirty"; fi

echo
echo "### cortex pack vs repomix ${repomix_version}"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM; node $(node --version); cortex ${commit}"
echo
echo "Tree: ${tree_files} files, ${tree_bytes} bytes ($(mib $((tree_bytes / 1024))) MiB)$([[ -z "${2:-}" ]] && echo " (bench/pack_tree.py defaults)"). ${runs} runs each, alternating; medians; /usr/bin/time %e and %M."
echo
echo "| tool | median wall s | median peak RSS MiB | output bytes | files packed |"
echo "|---|---:|---:|---:|---:|"
echo "| cortex pack | ${c_wall} | $(mib "${c_rss}") | ${c_bytes} | ${c_files:-?} |"
echo "| repomix ${repomix_version} | ${r_wall} | $(mib "${r_rss}") | ${r_bytes} | ${r_files:-?} |"
echo
echo "cortex pack is **${speed}x** faster than repomix (median wall), with ${memory}x less peak RSS."
goal="not met"
if awk -v s="${speed}" -v r="${c_rss}" 'BEGIN {exit !(s >= 3 && r < 64 * 1024)}'; then goal="met"; fi
echo "Goal (>= 3x faster, < 64 MiB peak RSS): ${goal}."
echo
echo "Per run (wall s, peak RSS KiB): cortex $(paste -sd';' "${work}/cortex.times" | sed 's/;/; /g'); repomix $(paste -sd';' "${work}/repomix.times" | sed 's/;/; /g')."
echo
echo "Commands (cwd an empty directory, XDG_CONFIG_HOME empty):"
echo "- \`cortex pack TREE -o OUT.txt\`"
echo "- \`repomix TREE ${repomix_flags[*]/#${work}\//}\` (bench/pack/node_modules/.bin/repomix, what \`npx repomix\` runs, without npx's own start-up)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ ${node_major} -lt 22 ]]; then
  echo "- repomix ${repomix_version} declares node >= 22; this run used node $(node --version) (it runs, with npm EBADENGINE warnings at install)."
fi
echo "- repomix's token counting (tiktoken o200k_base, worker threads) has no off switch and is included; its security check and git sort are off (flags above). cortex estimates tokens from bytes."
if [[ -z "${only_c}" && -z "${only_r}" ]]; then
  echo "- Both packed the same $(wc -l <"${work}/cortex.paths") files (compared by <file path> in the outputs)."
else
  echo "- The packed file sets differ: only cortex $(count "${only_c}"): $(head -n5 <<<"${only_c}" | paste -sd' ' -); only repomix $(count "${only_r}"): $(head -n5 <<<"${only_r}" | paste -sd' ' -)"
fi
