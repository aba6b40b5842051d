#!/usr/bin/env bash
# tests/run.sh — runs the test suites and prints one closing summary.
#
# Suites, in order:
#   unit  build/tests/test_*          cmocka binaries (C units, recorded data)
#   cli   tests/cli/*.sh              the leakwatch binary on fixtures and bad input
#   e2e   tests/e2e/*.sh              against a real local control plane
# Each shell suite prints "N passed, N failed" as its last line; cmocka
# binaries print their own summary.  This script adds them up and ends with
# "N passed, N failed", exiting non-zero if anything failed.
#
# Options: --build DIR (default build), --only unit,cli,e2e, --valgrind
# (unit and cli under valgrind; shell suites see it as $LW_WRAP).
# Not for: building (make does that) or starting the cluster (e2e suites
# bring it up themselves through hack/cluster.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=build
ONLY=unit,cli,e2e
VALGRIND=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --valgrind) VALGRIND=1; shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 1 ;;
  esac
done

export LW_BIN="$PWD/$BUILD/leakwatch"
export LW_BUILD="$PWD/$BUILD"
export LW_ROOT="$PWD"
export CMOCKA_MESSAGE_OUTPUT=stdout
WRAP=()
if [ "$VALGRIND" = 1 ]; then
  WRAP=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
  export LW_WRAP="${WRAP[*]}"
fi

pass=0; fail=0; failed_suites=()
want() { [[ ",$ONLY," == *",$1,"* ]]; }
LOGDIR="$BUILD/test-logs"; mkdir -p "$LOGDIR"

record() { # name rc passed failed
  pass=$((pass + $3)); fail=$((fail + $4))
  if [ "$2" -ne 0 ] || [ "$4" -ne 0 ]; then
    failed_suites+=("$1")
    if [ "$4" -eq 0 ]; then fail=$((fail + 1)); fi
  fi
}

if want unit; then
  for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log="$LOGDIR/$name.log"
    "${WRAP[@]}" "$t" >"$log" 2>&1; rc=$?
    p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END{print s+0}')
    f=$(grep -oE '^\[  FAILED  \] [0-9]+' "$log" | awk '{s+=$4} END{print s+0}')
    printf '%-40s %s passed, %s failed\n' "unit/$name" "$p" "$f"
    [ "$rc" -ne 0 ] && { tail -n 40 "$log"; }
    record "unit/$name" "$rc" "$p" "$f"
  done
fi

run_shell_suite() { # dir
  for s in "$1"/*.sh; do
    [ -f "$s" ] || continue
    [ "$(basename "$s")" = lib.sh ] && continue  # sourced helpers, not a suite
    name="$(basename "$(dirname "$s")")/$(basename "$s" .sh)"
    log="$LOGDIR/${name//\//_}.log"
    bash "$s" >"$log" 2>&1; rc=$?
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$last" | awk '{print $1+0}')
    f=$(echo "$last" | awk '{print $3+0}')
    printf '%-40s %s passed, %s failed\n' "$name" "$p" "$f"
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then tail -n 60 "$log"; fi
    record "$name" "$rc" "$p" "$f"
  done
}
want cli && run_shell_suite tests/cli
want e2e && run_shell_suite tests/e2e

if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failing suites: ${failed_suites[*]} (logs in $LOGDIR)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
