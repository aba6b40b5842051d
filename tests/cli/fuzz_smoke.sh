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
if "$LW_ROOT/hack/fuzz/run.sh" "${LW_FUZZ_SMOKE_SECONDS:-3}" >"$out" 2>&1; then
  ok "every parser fuzzer ran without a finding"
else
  nok "a fuzzer failed (see below)"
  tail -n 40 "$out"
fi
sed -n '/^== fuzz summary/,$p' "$out"
rm -f "$out"
finish
