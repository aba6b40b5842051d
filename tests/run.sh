#!/usr/bin/env bash
# tests/run.sh — runs the test suites and prints one closing summary.
#
# Suites, in order:
#   unit  build/tests/test_*          cmocka binaries (C units, recorded data)
#   cli   tests/cli/*.sh              the leakwatch binary on fixtures and bad input
#   e2e   tests/e2e/*.sh              against a real local control plane
# Each shell suite prints "N passed, N failed, N skipped" as its last line
# (tests/cli/lib.sh); cmocka binaries print their own summary, skips
# included.  This script adds them up and ends with
# "N passed, N failed, N skipped" (CI reads that line), exiting non-zero if
# anything failed.  A skip is counted, never dropped; a suite that ends
# without its closing line counts as failed.  Under CI=true a missing input
# (no unit binaries, fixtures the suites report missing) is a failure.
#
# Options: --build DIR (default build), --only unit,cli,e2e, --suite
# NAME[,NAME] (only these suites, named as the summary names them:
# e2e/rollout, unit/test_ctl_story), --valgrind (unit and cli under
# valgrind; shell suites see it as $LW_WRAP).
# Not for: building (make does that) or starting the cluster (e2e suites
# bring it up themselves through hack/cluster.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=build
ONLY=unit,cli,e2e
VALGRIND=0
SUITES=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --valgrind) VALGRIND=1; shift ;;
    --suite) SUITES=$2; shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 1 ;;
  esac
done

export LW_BIN="$PWD/$BUILD/leakwatch"
export LW_BUILD="$PWD/$BUILD"
export LW_ROOT="$PWD"
export CMOCKA_MESSAGE_OUTPUT=stdout
WRAP=()
if [ "$VALGRIND" = 1 ]; then
  # shellcheck disable=SC2054  # the comma is valgrind's own list separator
  WRAP=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
  export LW_WRAP="${WRAP[*]}"
fi

pass=0; fail=0; skipped=0; failed_suites=()
in_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
picked() { [ -z "$SUITES" ] || [[ ",$SUITES," == *",$1,"* ]]; }
LOGDIR="$BUILD/test-logs"; mkdir -p "$LOGDIR"

record() { # name rc passed failed skipped
  pass=$((pass + $3)); fail=$((fail + $4)); skipped=$((skipped + $5))
  if [ "$2" -ne 0 ] || [ "$4" -ne 0 ]; then
    failed_suites+=("$1")
    if [ "$4" -eq 0 ]; then fail=$((fail + 1)); fi
  fi
}

# Sums cmocka's summary lines of one kind: "[  SKIPPED ] 2 test(s)..."
cmocka_count() { # log, word (PASSED, FAILED, SKIPPED)
  grep -oE "^\[ +$2 +\] [0-9]+ test" "$1" | awk '{s+=$(NF-1)} END{print s+0}'
}

if want unit; then
  nunit=0
  for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    picked "unit/$name" || continue
    nunit=$((nunit + 1))
    log="$LOGDIR/$name.log"
    "${WRAP[@]}" "$t" >"$log" 2>&1; rc=$?
    p=$(cmocka_count "$log" PASSED)
    f=$(cmocka_count "$log" FAILED)
    s=$(cmocka_count "$log" SKIPPED)
    printf '%-40s %s passed, %s failed, %s skipped\n' "unit/$name" "$p" "$f" "$s"
    [ "$rc" -ne 0 ] && { tail -n 40 "$log"; }
    [ "$s" -gt 0 ] && grep -E '^skipped: ' "$log" | sed 's/^/    /'
    record "unit/$name" "$rc" "$p" "$f" "$s"
  done
  if [ "$nunit" -eq 0 ] && [ -z "$SUITES" ]; then
    echo "unit: no test binaries in $BUILD/tests (run make first)"
    if in_ci; then record unit 1 0 1 0; else record unit 0 0 0 1; fi
  fi
fi

run_shell_suite() { # dir
  for s in "$1"/*.sh; do
    [ -f "$s" ] || continue
    [ "$(basename "$s")" = lib.sh ] && continue  # sourced helpers, not a suite
    name="$(basename "$(dirname "$s")")/$(basename "$s" .sh)"
    picked "$name" || continue
    log="$LOGDIR/${name//\//_}.log"
    bash "$s" >"$log" 2>&1; rc=$?
    # "N passed, N failed, N skipped"; suites not yet on lib.sh's finish
    # may still end in "N passed, N failed".
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
    p=$(echo "$last" | awk '{print $1+0}')
    f=$(echo "$last" | awk '{print $3+0}')
    k=$(echo "$last" | awk '{print $5+0}')
    if [ -z "$last" ]; then
      echo "$name: ended without its closing line (exit $rc)"
      [ "$rc" -eq 0 ] && rc=1
    fi
    printf '%-40s %s passed, %s failed, %s skipped\n' "$name" "$p" "$f" "$k"
    # Every failed check first, then the log's end (where a failed suite
    # reports what the controller decided, tests/e2e/lib.sh).
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
      grep -E '^FAIL - ' "$log" | sed 's/^/  failed: /'
      tail -n 80 "$log"
    fi
    [ "$k" -gt 0 ] && grep -E '^skip - ' "$log" | sed 's/^/    /'
    record "$name" "$rc" "$p" "$f" "$k"
  done
}
want cli && run_shell_suite tests/cli
want e2e && run_shell_suite tests/e2e

if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failing suites: ${failed_suites[*]} (logs in $LOGDIR)"
fi
if [ -n "$SUITES" ] && [ $((pass + fail + skipped)) -eq 0 ]; then
  echo "run.sh: no suite named $SUITES" >&2
  fail=1
fi
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
