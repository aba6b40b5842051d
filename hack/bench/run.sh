#!/usr/bin/env bash
# run.sh — leakwatch's benchmarks, measured side by side with the tools
# people use today, reported as figures and ratios (`make bench`).
#
#   hack/bench/run.sh [SECTION...]   run the named sections (default: all)
#   hack/bench/run.sh --list         list the sections
#   hack/bench/run.sh --prepare [SECTION...]
#                                    only generate inputs and build peers
#
# Sections are hack/bench/sections/<name>.sh, each defining section_<name>
# (and, if it has inputs or peers to build, prepare_<name>); adding one needs
# no edit here.  Every section prints a table and writes
# hack/bench/out/<name>.json.  Generated inputs and peer binaries are cached
# outside the clone, keyed by version, in
#   ${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}/bench/
# so only the first run generates or builds anything.
#
# Targets are reported, never asserted: a missed target prints MISSED and
# the exit status stays 0.  Exit status 1 means a measured tool failed to
# run, 2 means the benchmark itself could not run (bad usage, no leakwatch
# binary, an input that could not be generated).
#
# Environment: LEAKWATCH_BIN (default build/leakwatch), BENCH_REPS (3),
# BENCH_SLOW_SECONDS (45), BENCH_NICE (0), BENCH_OUT (hack/bench/out), and
# each section's own (see the header of its file).
#
# Not for: correctness testing (tests/), or anything that needs a cluster
# unless its section says so.
set -uo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SECTIONS=()
for f in "$BENCH_DIR"/sections/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck source=/dev/null  # each section is checked on its own
  source "$f"
  SECTIONS+=("$(basename "$f" .sh)")
done

usage() {
  sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  echo "sections: ${SECTIONS[*]}" >&2
  exit 2
}

want=()
prepare=0
for a in "$@"; do
  case "$a" in
    -h|--help) usage ;;
    --prepare) prepare=1 ;;
    -l|--list)
      for s in "${SECTIONS[@]}"; do
        printf '%-12s %s\n' "$s" "$(sed -n '1s/^# [a-z]*: //p' "$BENCH_DIR/sections/$s.sh")"
      done
      exit 0 ;;
    all) want+=("${SECTIONS[@]}") ;;
    -*) echo "run.sh: unknown option '$a'" >&2; usage ;;
    *)
      declare -F "section_$a" >/dev/null || { echo "run.sh: no section '$a'" >&2; usage; }
      want+=("$a") ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=("${SECTIONS[@]}")

start=$SECONDS
for s in "${want[@]}"; do
  if [ "$prepare" -eq 1 ]; then
    if declare -F "prepare_$s" >/dev/null; then "prepare_$s"; fi
  else
    "section_$s"
    echo
  fi
done
log "done in $((SECONDS - start)) s"
if [ "$FAILURES" -gt 0 ]; then
  echo "bench: $FAILURES measured command(s) FAILED to run (see above)" >&2
  exit 1
fi
exit 0
