# tests/cli/lib.sh — tiny assertion helpers shared by the shell suites
# (tests/cli and tests/e2e).  Source it; call `finish` last.  It prints the
# "N passed, N failed" line tests/run.sh adds up.
# Not for: anything that needs a cluster (see tests/e2e/lib.sh for that).
LW_ROOT=${LW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LW_BIN=${LW_BIN:-$LW_ROOT/build/leakwatch}
LW_WRAP=${LW_WRAP:-}
_pass=0; _fail=0

ok()   { _pass=$((_pass + 1)); echo "ok   - $*"; }
nok()  { _fail=$((_fail + 1)); echo "FAIL - $*"; }
check() { # description, then a command that must succeed
  local d=$1; shift
  if "$@"; then ok "$d"; else nok "$d"; fi
}
# lw ARGS... : runs leakwatch (under $LW_WRAP when set)
lw() { $LW_WRAP "$LW_BIN" "$@"; }
finish() { echo "$_pass passed, $_fail failed"; [ "$_fail" -eq 0 ]; }
