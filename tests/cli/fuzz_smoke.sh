#!/usr/bin/env bash
# fuzz_smoke.sh — CI's short fuzzing pass: every libFuzzer target of the
# parsers (hack/fuzz) is built with ASan+UBSan and run for a few seconds
# from its seed corpus and dictionary; any crash, leak or sanitizer report
# fails it.  The seeds include every input that once crashed a parser
# (corpus/*/regress-*), so each of those is replayed here.
# `make fuzz FUZZ_SECONDS=N` is the long run.  Skipped under valgrind (the
# targets carry their own sanitizers).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
if [ -n "$LW_WRAP" ]; then
  skip "parser fuzzers: they run with their own sanitizers, not under \$LW_WRAP"
  finish
  exit $?
fi
out=$(mktemp)
# A run directory of its own: the smoke starts from the committed seeds
# alone, and a long `make fuzz` going on meanwhile keeps its corpus and
# figures.  Kept when something failed, for the crashing input.
run_dir=$(mktemp -d)
if FUZZ_RUN_DIR=$run_dir "$LW_ROOT/hack/fuzz/run.sh" "${LW_FUZZ_SMOKE_SECONDS:-3}" >"$out" 2>&1; then
  ok "every parser fuzzer ran without a finding"
  rm -rf "$run_dir"
else
  nok "a fuzzer failed (see below; inputs and findings kept in $run_dir)"
  tail -n 40 "$out"
fi
sed -n '/^== fuzz summary/,$p' "$out"
rm -f "$out"
finish
