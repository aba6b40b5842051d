#!/usr/bin/env bash
# skip_counting.sh — a skipped test is counted and shown, never lost:
#   - lib.sh's `skip` and `skip_missing` reach the closing
#     "N passed, N failed, N skipped" line, and under CI=true a missing
#     input is a failure;
#   - tests/run.sh adds cmocka's skips (the real test_pprof_consistency,
#     run without fixtures) to its closing line, and under CI=true that
#     same run fails;
#   - a build without unit binaries is a skip, and under CI=true a failure;
#   - fuzz_smoke.sh under a wrapper says it skipped, not "0 passed".
# Not for: what the skipped tests check.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LW_BUILD=${LW_BUILD:-$LW_ROOT/build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-skip-counting.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

last_line() { tail -n 1 "$1"; }
expect_line() { # DESC FILE WANT-LAST-LINE WANT-RC RC
  local got
  got=$(last_line "$2")
  if [ "$got" = "$3" ] && [ "$5" = "$4" ]; then ok "$1"; else
    nok "$1 (last line '$got', exit $5; want '$3', exit $4)"; fi
}

# --- lib.sh ------------------------------------------------------------------
cat >"$TMP/suite.sh" <<EOF
. "$LW_ROOT/tests/cli/lib.sh"
ok "runs"
skip "needs a tool this machine lacks"
skip_missing "fixture x"
finish
EOF
env -u CI bash "$TMP/suite.sh" >"$TMP/o" 2>&1
expect_line "lib.sh: skips counted in the closing line" "$TMP/o" \
  "1 passed, 0 failed, 2 skipped" 0 $?
if grep '^skip - fixture x (input missing)$' "$TMP/o" >/dev/null; then
  ok "lib.sh: a skip says why"
else
  nok "lib.sh: no reason shown: $(cat "$TMP/o")"
fi
CI=true bash "$TMP/suite.sh" >"$TMP/o" 2>&1
expect_line "lib.sh: CI=true turns a missing input into a failure" "$TMP/o" \
  "1 passed, 1 failed, 1 skipped" 1 $?

# --- tests/run.sh on cmocka's skips -----------------------------------------------
cons=$LW_BUILD/tests/test_pprof_consistency
if [ -x "$cons" ]; then
  mkdir -p "$TMP/b/tests" "$TMP/nofixtures/tests/unit"
  # The real suite, pointed at a root with its own test data but without
  # tests/fixtures.
  ln -s "$LW_ROOT/tests/unit/pprof_testdata" "$TMP/nofixtures/tests/unit/pprof_testdata"
  printf '#!/bin/sh\nLW_ROOT=%q exec %q "$@"\n' "$TMP/nofixtures" "$cons" \
    >"$TMP/b/tests/test_pprof_consistency"
  chmod +x "$TMP/b/tests/test_pprof_consistency"
  env -u CI "$LW_ROOT/tests/run.sh" --build "$TMP/b" --only unit >"$TMP/o" 2>&1
  rc=$?
  got=$(last_line "$TMP/o")
  if [ "$rc" = 0 ] && [[ $got =~ ^[1-9][0-9]*\ passed,\ 0\ failed,\ 1\ skipped$ ]]; then
    ok "run.sh: cmocka's skip reaches the closing line ($got)"
  else
    nok "run.sh: skip lost: exit $rc, '$got'"
  fi
  if grep 'skipped: tests/fixtures missing' "$TMP/o" >/dev/null; then
    ok "run.sh: the skip's reason is shown"
  else
    nok "run.sh: no reason: $(cat "$TMP/o")"
  fi
  CI=true "$LW_ROOT/tests/run.sh" --build "$TMP/b" --only unit >"$TMP/o" 2>&1
  rc=$?
  got=$(last_line "$TMP/o")
  if [ "$rc" != 0 ] && [[ $got =~ ^[0-9]+\ passed,\ [1-9][0-9]*\ failed,\ 0\ skipped$ ]]; then
    ok "run.sh: under CI=true missing fixtures fail ($got)"
  else
    nok "run.sh: CI=true: exit $rc, '$got'"
  fi
else
  skip_missing "run.sh on cmocka skips: $cons not built"
fi

mkdir -p "$TMP/empty"
env -u CI "$LW_ROOT/tests/run.sh" --build "$TMP/empty" --only unit >"$TMP/o" 2>&1
expect_line "run.sh: no unit binaries is a skip" "$TMP/o" \
  "0 passed, 0 failed, 1 skipped" 0 $?
CI=true "$LW_ROOT/tests/run.sh" --build "$TMP/empty" --only unit >"$TMP/o" 2>&1
expect_line "run.sh: no unit binaries under CI=true is a failure" "$TMP/o" \
  "0 passed, 1 failed, 0 skipped" 1 $?

# --- fuzz_smoke.sh under a wrapper ----------------------------------------------------
LW_WRAP="env" bash "$LW_ROOT/tests/cli/fuzz_smoke.sh" >"$TMP/o" 2>&1
expect_line "fuzz_smoke.sh under a wrapper: a counted skip" "$TMP/o" \
  "0 passed, 0 failed, 1 skipped" 0 $?

finish
