#!/usr/bin/env bash
# pasted_dumps.sh — the leakwatch binary on goroutine dumps as engineers
# paste them (tests/fixtures/pasted/, see its README): each reads with the
# goroutines its headers announce, says how many lines it skipped
# ("skipped_lines" in every --json that describes a capture, one "note:"
# line in text), flags a debug=1 total below its records, reads standard
# input as "-" in inspect, diff and analyze, and still refuses input with no
# goroutine in it.  Expected counts come from the files (grep), not from
# numbers typed here.
# Not for: the formats' grammar (unit tests) or verdicts on recorded series
# (analyze_fixtures.sh).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

P=$LW_ROOT/tests/fixtures/pasted
FIX=$LW_ROOT/tests/fixtures/go1.26.8
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-pasted.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

run() { # ARGS... : stdout in $OUT, stderr in $ERR, status in $RC
  lw "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
run_stdin() { # FILE ARGS... : the same with FILE on standard input
  local f=$1
  shift
  lw "$@" <"$f" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
jqok() { # DESC FILTER : the last stdout satisfies the jq filter
  if [ "$RC" = 0 ] && printf '%s' "$OUT" | jq -e "$2" >/dev/null 2>&1; then
    ok "$1"
  else
    nok "$1 (exit $RC, $2: ${ERR:0:200} ${OUT:0:200})"
  fi
}
# goroutines FILE : goroutine headers in a dump (after any indentation or
# glued text), goroutine 0 (an M's system stack) aside
goroutines() {
  grep -cE '(^|[^0-9])goroutine [1-9][0-9]* (\[|gp=).*\]:$' "$1"
}

# ---- every pasted dump reads, with the goroutines its headers announce ----
for f in "$P"/*.txt "$P"/leakmarks-go1.26/*.txt; do
  name=${f#"$P"/}
  [[ $name == debug1-* ]] && continue
  want=$(goroutines "$f")
  run inspect --json --no-builtin-ignores "$f"
  jqok "$name: $want goroutines, skipped_lines reported" \
    ".counted == $want and (.skipped_lines | type) == \"number\" and .truncated == false"
done

# ---- what pasting does: the same capture as the original ----
run inspect --json --no-builtin-ignores "$P/panic-system.txt"
orig=$(printf '%s' "$OUT" | jq -c '{counted, unique_stacks, stacks: [.stacks[] | {count, function, wait_reason}]}')
for t in indented-spaces indented-tab glued no-trailing-newline; do
  run inspect --json --no-builtin-ignores "$P/$t.txt"
  got=$(printf '%s' "$OUT" | jq -c '{counted, unique_stacks, stacks: [.stacks[] | {count, function, wait_reason}]}')
  if [ "$RC" = 0 ] && [ "$got" = "$orig" ]; then ok "$t: reads as panic-system.txt"; else nok "$t: $got vs $orig"; fi
  jqok "$t: nothing skipped" '.skipped_lines == 0'
done
# An indented /debug/pprof dump (no preamble): today's worst case was 0
# goroutines with exit 0.
sed 's/^/    /' "$FIX/chan-send/01.debug2.txt" >"$TMP/indented.txt"
run inspect --json --no-builtin-ignores "$TMP/indented.txt"
jqok "indented debug=2 profile: every goroutine" ".counted == $(goroutines "$FIX/chan-send/01.debug2.txt")"
# A cut inside the last line number: that goroutine is dropped, and said.
colon=$(grep -boE ':[0-9]+ \+0x[0-9a-f]+$' "$P/no-trailing-newline.txt" | tail -n 1 | cut -d: -f1)
head -c "$((colon + 2))" "$P/no-trailing-newline.txt" >"$TMP/cut.txt"
run inspect --json --no-builtin-ignores "$TMP/cut.txt"
jqok "cut mid line number: one goroutine fewer, truncated" \
  ".counted == $(($(goroutines "$P/panic-system.txt") - 1)) and .truncated == true"

# ---- runtime diagnostics: skipped, counted, said once in text ----
diag=$(awk '/^goroutine 1 /{g=1} g && /^runtime: g 1: unexpected return pc/{c=1} c && /^$/{exit} c{n++} END{print n+0}' "$P/badpc.txt")
run inspect --json --no-builtin-ignores "$P/badpc.txt"
jqok "badpc: the $diag lines of diagnostic and hex dump skipped" ".skipped_lines == $diag and $diag > 10"
run inspect "$P/badpc.txt"
n=$(printf '%s\n' "$OUT" | grep -c "^note: .*badpc.txt: $diag lines could not be read and were skipped$")
if [ "$n" = 1 ]; then ok "badpc: one note line in text"; else nok "badpc: $n note lines: ${OUT:0:400}"; fi
run inspect --json --no-builtin-ignores "$P/frame-sp-handmade.txt"
jqok "frame.sp (hand-made): stray tab lines do not reject the file" '.counted == 3 and .skipped_lines == 2'
run inspect --json --no-builtin-ignores "$P/sigquit-crash.txt"
jqok "sigquit-crash: register dumps counted as skipped" '.skipped_lines > 0'
run inspect --json --no-builtin-ignores "$P/panic-system.txt"
jqok "a clean dump: skipped_lines 0" '.skipped_lines == 0 and .total_short == false'
run inspect "$P/panic-system.txt"
case $OUT in *note:*) nok "clean dump has a note: $OUT" ;; *) ok "clean dump: no note" ;; esac

# ---- more than 64 KiB of go test output before the dump ----
first=$(grep -bm1 -E '^goroutine [0-9]+ ' "$P/gotest-timeout.txt" | cut -d: -f1)
if ((first > 65536)); then ok "gotest-timeout: first header at byte $first"; else nok "gotest-timeout: first header at byte $first"; fi
head -c "$first" "$P/gotest-timeout.txt" >"$TMP/log-only.txt"
run inspect "$TMP/log-only.txt"
if [ "$RC" = 2 ] && [[ $ERR == *"not a goroutine profile (no goroutine header in"* ]]; then
  ok "the log without its dump: an error, not 0 goroutines"
else
  nok "log-only: exit $RC: $ERR $OUT"
fi

# ---- debug=1 total below its records ----
run inspect --json --no-builtin-ignores "$P/debug1-total-short.txt"
jqok "debug1 total short: flagged in JSON" '.total_short == true and .total < .counted'
run inspect "$P/debug1-total-short.txt"
case $OUT in *"note: "*"says total "*" but its records hold "*) ok "debug1 total short: note in text" ;;
  *) nok "debug1 total short: no note: ${OUT:0:300}" ;; esac
run inspect --json --no-builtin-ignores "$FIX/steady-pool/01.debug1.txt"
jqok "the recorded original: not flagged" '.total_short == false'

# ---- standard input as "-" ----
run inspect --json --no-builtin-ignores "$P/badpc.txt"
want=$(printf '%s' "$OUT" | jq -c 'del(.file)')
run_stdin "$P/badpc.txt" inspect --json --no-builtin-ignores -
got=$(printf '%s' "$OUT" | jq -c 'del(.file)')
if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then ok "inspect -: same as the file"; else nok "inspect -: exit $RC $ERR"; fi
run_stdin "$FIX/chan-send/02.pb.gz" inspect --json -
jqok "inspect -: gzipped protobuf from a pipe" '.format == "protobuf" and .gzipped == true and .skipped_lines == 0'
run_stdin "$FIX/chan-send/05.debug2.txt" diff --json "$FIX/chan-send/01.debug2.txt" -
jqok "diff FILE -: compares, notes on both sides" \
  '.total_delta > 0 and (.base.skipped_lines | type) == "number" and .target.skipped_lines == 0 and .target.file == "-"'
run_stdin "$P/badpc.txt" diff --json - "$P/badpc.txt"
jqok "diff - FILE: skipped lines on both sides" ".base.skipped_lines == $diag and .target.skipped_lines == $diag"
run_stdin "$FIX/chan-send/05.debug2.txt" analyze --json --interval 12 \
  "$FIX/chan-send/01.debug2.txt" "$FIX/chan-send/03.debug2.txt" -
jqok "analyze with -: a verdict, skipped_lines per snapshot" \
  '.verdict == "leak" and (.snapshots | length) == 3 and ([.snapshots[].skipped_lines] | all(. == 0))'
run_stdin "$P/debug1-total-short.txt" analyze --json --baseline - "$FIX/steady-pool/01.debug1.txt"
jqok "analyze --baseline -: notes on the baseline" '.baseline.total_short == true and .snapshots[0].total_short == false'
run diff "$P/badpc.txt" - </dev/null
if [ "$RC" = 2 ] && [[ $ERR == *"stdin: not a goroutine profile (empty input)"* ]]; then ok "empty stdin: one clear error"; else nok "empty stdin: exit $RC $ERR"; fi
run diff - - </dev/null
if [ "$RC" = 2 ] && [[ $ERR == *"standard input (-) can be read only once"* ]]; then ok "diff - -: refused"; else nok "diff - -: exit $RC $ERR"; fi
run analyze --baseline - - </dev/null
if [ "$RC" = 2 ] && [[ $ERR == *"standard input (-) can be read only once"* ]]; then ok "analyze --baseline - -: refused"; else nok "analyze - twice: exit $RC $ERR"; fi
run_stdin "$P/badpc.txt" diff "$P/panic-system.txt" -
n=$(printf '%s\n' "$OUT" | grep -c '^note: -: [0-9]* lines could not be read and were skipped$')
if [ "$n" = 1 ]; then ok "diff text: one note for the capture that skipped lines"; else nok "diff text notes: $n: ${OUT:0:400}"; fi

finish
