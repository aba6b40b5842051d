# tests/cli/lib.sh — tiny assertion helpers shared by the shell suites
# (tests/cli and tests/e2e).  Source it; call `finish` last.  It prints the
# "N passed, N failed, N skipped" line tests/run.sh adds up.
#
# A check that cannot run is never silent: `skip` counts it.  When what is
# missing is an input that belongs to the repository or the build (a
# fixture, a binary), use `skip_missing`: under CI=true that is a failure,
# because there the input must exist.
# Not for: anything that needs a cluster (see tests/e2e/lib.sh for that).
# shellcheck shell=bash  # sourced, never run on its own
LW_ROOT=${LW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LW_BIN=${LW_BIN:-$LW_ROOT/build/leakwatch}
LW_WRAP=${LW_WRAP:-}
_pass=0; _fail=0; _skip=0

ok()   { _pass=$((_pass + 1)); echo "ok   - $*"; }
nok()  { _fail=$((_fail + 1)); echo "FAIL - $*"; }
skip() { _skip=$((_skip + 1)); echo "skip - $*"; }
# in_ci: CI=true (or 1), as CI services set it.
in_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }
skip_missing() { # description of the check whose input is missing
  if in_ci; then nok "$* (input missing, and CI=true)"; else skip "$* (input missing)"; fi
}
check() { # description, then a command that must succeed
  local d=$1; shift
  if "$@"; then ok "$d"; else nok "$d"; fi
}
# quiet CMD...: CMD with its output dropped; its status kept.
quiet() { "$@" >/dev/null 2>&1; }
# entries DIR: how many files DIR holds (dot files too).
entries() { find "$1" -mindepth 1 -maxdepth 1 -printf . | wc -c; }
# lw ARGS... : runs leakwatch (under $LW_WRAP when set)
lw() { $LW_WRAP "$LW_BIN" "$@"; }
# Valgrind as the suites run C code under it: definite and indirect leaks fail.
# shellcheck disable=SC2034,SC2054  # used by the suites; the comma is valgrind's list separator
LW_VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
# valgrind_usable BINARY...: valgrind is installed and no BINARY is an ASan
# build (make SAN=1), which checks itself and cannot run under valgrind.
valgrind_usable() {
  command -v valgrind >/dev/null 2>&1 || return 1
  local b
  for b in "$@"; do
    if grep -a __asan_init "$b" >/dev/null 2>&1; then return 1; fi
  done
}
finish() { echo "$_pass passed, $_fail failed, $_skip skipped"; [ "$_fail" -eq 0 ]; }
