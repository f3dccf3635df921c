#!/usr/bin/env bash
# Formats the C++ sources with the repository's .clang-format (clang-format from Debian 12).
#
#   scripts/format.sh           # rewrites every file that is not formatted
#   scripts/format.sh --check   # changes nothing; lists unformatted files and exits 1 if any
#
# The sources are the tracked *.h and *.cpp files under src/, tests/, bench/ and fuzz/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

mode="fix"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  *)
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac

if ! command -v clang-format > /dev/null; then
  echo "format.sh: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- 'src/*.h' 'src/*.cpp' 'tests/*.h' 'tests/*.cpp' \
  'bench/*.h' 'bench/*.cpp' 'fuzz/*.h' 'fuzz/*.cpp')

if [ "${mode}" = "fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi

# One clang-format run over every file; its diagnostics start with the file's name.
mapfile -t unformatted < <(clang-format --dry-run "${files[@]}" 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: \(error\|warning\): code should be clang-formatted.*/\1/p' |
  sort -u)
if [ "${#unformatted[@]}" -gt 0 ]; then
  echo "format.sh: ${#unformatted[@]} of ${#files[@]} files are not formatted (run scripts/format.sh):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
