#!/usr/bin/env bash
# output_safety.sh — any byte in, safe output out, for the offline
# commands:
#   - bytes that are not UTF-8 (a Latin-1 path in a frame, a file name, a
#     goroutine label) never break --json: inspect, diff and analyze exit 0 with valid JSON,
#     the bad byte as U+FFFD, and the verdict kept;
#   - control bytes (ESC/OSC/CSI, BEL, CR, LF, C1) in frames, files, wait
#     reasons and file names are escaped visibly (\x1b) in text output and
#     in error messages, and every stack stays on its own line;
#   - blocked minutes at or beyond 2^63 saturate at INT64_MAX, never -1;
#   - an error about a very long path keeps its reason (the path is
#     shortened in the middle with "…").
# Inputs: the recorded chan-send series with bytes injected by sed, and
# small hand-made dumps, each labelled as the one edge case it is.
# Not for: the escaping rules one by one (tests/unit/test_output_bytes.c).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-output-safety.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CS=$LW_ROOT/tests/fixtures/go1.26.8/chan-send
ESC=$'\e'
BEL=$'\a'
CR=$'\r'

# run ARGS... : leakwatch with stdout in $TMP/out, stderr in $TMP/err
run() {
  lw "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
}
jqok() { # DESC FILTER : exit 0, and stdout is JSON satisfying the filter
  if [ "$RC" = 0 ] && [ -s "$TMP/out" ] && jq -e "$2" "$TMP/out" >/dev/null 2>&1; then ok "$1"; else
    nok "$1 (exit $RC; $2; $(head -c 300 "$TMP/out") $(head -c 200 "$TMP/err"))"; fi
}
# no raw control byte (other than the newline ending each line) and no
# C1 control in UTF-8 in FILE
clean() {
  ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$1" &&
    ! LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$1"
}
has() { LC_ALL=C grep -qF -- "$2" "$1"; }

# --- bytes that are not UTF-8 ---------------------------------------------
# Hand-made: the issue's one-goroutine repro, a Latin-1 "é" in the path.
printf 'goroutine 1 [running]:\nmain.main()\n\t/home/jos\xe9/a.go:1 +0x1\n\n' >"$TMP/latin1.txt"
run inspect --json "$TMP/latin1.txt"
jqok "inspect --json: a Latin-1 byte in a path gives valid JSON, exit 0" \
  '.stacks[0].file == "/home/jos\ufffd/a.go"'

# The recorded chan-send leak with bytes injected into the leaking frame,
# its file, and one file name.
mkdir -p "$TMP/bad"
for f in "$CS"/0?.debug2.txt; do
  sed -e $'s/main.(\\*fetcher).gather.func1/main.(*fetcher).g\xe9ther\x1b]0;x\x07.func1/' \
      -e $'s#chansend.go#chans\xe9nd\x1b[31m.go#' "$f" >"$TMP/bad/$(basename "$f")"
done
mv "$TMP/bad/05.debug2.txt" "$TMP/bad/05"$'\xe9\x1b'"[2J.debug2.txt"
BAD=("$TMP"/bad/0?*.debug2.txt)
run analyze --json --interval 60 "${BAD[@]}"
jqok "analyze --json: verdict kept despite bytes in frames, files and names" \
  '.verdict == "leak" and (.findings[0].frames[0] | contains("g\ufffdther\u001b]0;x\u0007.func1"))
   and (.findings[0].file | endswith("chans\ufffdnd\u001b[31m.go"))
   and (.snapshots[4].file | endswith("05\ufffd\u001b[2J.debug2.txt"))'
run diff --json "${BAD[0]}" "${BAD[4]}"
jqok "diff --json: valid JSON, both sides named" \
  '.target.file | endswith("05\ufffd\u001b[2J.debug2.txt")'
run inspect --json "${BAD[4]}"
jqok "inspect --json: the file name repaired too" \
  '(.file | endswith("05\ufffd\u001b[2J.debug2.txt")) and .total > 0'

# Goroutine labels hold any bytes a program set (debug=2 prints them
# %q-quoted, so "\xe9" comes back as that byte): the recorded series with
# such a label on its leaking goroutines, added by sed.
mkdir -p "$TMP/lab"
for f in "$CS"/0?.debug2.txt; do
  sed -e 's/^\(goroutine [0-9]* \[chan send\)\(, [0-9]* minutes\)\{0,1\}\]:/\1\2 labels:{"ten\\xe9nt": "ac\\xe9me"}]:/' \
    "$f" >"$TMP/lab/$(basename "$f")"
done
run analyze --json --interval 60 "$TMP"/lab/0?.debug2.txt
jqok "analyze --json: a label with a stray byte keeps the report" \
  '.verdict == "leak" and .findings[0].labels["ten\ufffdnt"]["ac\ufffdme"] > 0.9'
run analyze --interval 60 "$TMP"/lab/0?.debug2.txt
if clean "$TMP/out" && has "$TMP/out" 'ten\xe9nt=ac\xe9me'; then
  ok "analyze text: the label escaped"
else
  nok "analyze text, label: $(head -c 400 "$TMP/out" | cat -v)"
fi

# --- control bytes in text ----------------------------------------------------
run analyze --interval 60 "${BAD[@]}"
if [ "$RC" = 0 ] && clean "$TMP/out" && has "$TMP/out" 'g\xe9ther\x1b]0;x\x07.func1' &&
   has "$TMP/out" 'chans\xe9nd\x1b[31m.go'; then
  ok "analyze text: frame and file escaped visibly"
else
  nok "analyze text: raw bytes or escapes missing: $(head -c 400 "$TMP/out" | cat -v)"
fi
run diff "${BAD[0]}" "${BAD[4]}"
if clean "$TMP/out" && has "$TMP/out" 'g\xe9ther'; then
  ok "diff text: escaped"
else
  nok "diff text: $(head -c 400 "$TMP/out" | cat -v)"
fi
run inspect "${BAD[4]}"
if clean "$TMP/out" && has "$TMP/out" '05\xe9\x1b[2J.debug2.txt: debug=2'; then
  ok "inspect text: the file name escaped in the headline"
else
  nok "inspect text: $(head -c 300 "$TMP/out" | cat -v)"
fi

# Hand-made: CR, LF-free but CR/OSC/BEL/C1 laden names, two stacks; each
# stack must stay on its own line.
{
  printf 'goroutine 1 [chan send%s]:\n' "${ESC}[5m"
  printf 'main.a%s\rOVERWRITE%s]0;title%s()\n\t/src/a.go:1 +0x1\n' "$ESC" "$ESC" "$BEL"
  printf 'created by main.sp\xc2\x9bwn in goroutine 1\n\t/src/m.go:2 +0x1\n\n'
  printf 'goroutine 2 [chan send]:\nmain.b()\n\t/src/b%s.go:1 +0x1\n\n' "$CR"
} >"$TMP/ctl.txt"
run inspect "$TMP/ctl.txt"
lines=$(grep -c '  pattern ' "$TMP/out")
if [ "$RC" = 0 ] && clean "$TMP/out" && [ "$lines" = 2 ] &&
   has "$TMP/out" 'main.a\x1b\x0dOVERWRITE\x1b]0;title\x07' &&
   has "$TMP/out" '[chan send\x1b[5m' && has "$TMP/out" 'created by main.sp\u009bwn' &&
   has "$TMP/out" 'b\x0d.go:1'; then
  ok "inspect text: ESC, OSC, BEL, CR and C1 escaped; one line per stack"
else
  nok "inspect text: $(cat -v "$TMP/out" | head -c 600)"
fi

# Error messages quote the file name: escaped there too.
run inspect "$TMP/no$ESC]0;t${BEL}such.txt"
if [ "$RC" = 2 ] && clean "$TMP/err" && has "$TMP/err" 'no\x1b]0;t\x07such.txt: No such file'; then
  ok "error message: the file name escaped"
else
  nok "error message: $(cat -v "$TMP/err")"
fi
printf 'goroutine 1 [running:\n' >"$TMP/bad${ESC}[2Jhdr.txt"
run inspect "$TMP/bad${ESC}[2Jhdr.txt"
if [ "$RC" = 2 ] && clean "$TMP/err" && has "$TMP/err" 'bad\x1b[2Jhdr.txt: line 1: malformed goroutine header'; then
  ok "parse error: the file name escaped"
else
  nok "parse error: $(cat -v "$TMP/err")"
fi

# --- blocked minutes beyond int64 -------------------------------------------------
# Hand-made: Go prints an int64 here; these values cannot come from Go.
printf 'goroutine 1 [chan send, 9223372036854775808 minutes]:\nmain.a()\n\t/a.go:1 +0x1\n\n%s' \
  'goroutine 2 [chan receive, 99999999999999999999999 minutes]:
main.b()
	/b.go:1 +0x1
' >"$TMP/minutes.txt"
run inspect --json "$TMP/minutes.txt"
n=$(grep -c '"blocked_minutes_max": 9223372036854775807,' "$TMP/out")
if [ "$RC" = 0 ] && [ "$n" = 2 ] && ! grep -q '"blocked_minutes_max": -' "$TMP/out"; then
  ok "minutes >= 2^63 saturate at INT64_MAX in JSON"
else
  nok "minutes: exit $RC, $n saturated: $(grep blocked "$TMP/out") $(cat "$TMP/err")"
fi

# --- long paths keep the reason ------------------------------------------------------
d200=$(printf 'd%.0s' $(seq 1 200))
long=$TMP/$d200/$d200/$d200/capture.txt
run inspect "$long"
if [ "$RC" = 2 ] && has "$TMP/err" '/capture.txt: No such file or directory' &&
   has "$TMP/err" '…' && [ "$(wc -l <"$TMP/err")" = 1 ]; then
  ok "a 620-character path: the reason kept, the path shortened in the middle"
else
  nok "long path: $(cat "$TMP/err")"
fi
mkdir -p "$TMP/$(printf 'f%.0s' $(seq 1 250))"
deep=$TMP/$(printf 'f%.0s' $(seq 1 250))/$(printf 'g%.0s' $(seq 1 250)).txt
printf 'goroutine 1 [running:\n' >"$deep"
run inspect "$deep"
if [ "$RC" = 2 ] && has "$TMP/err" 'ggg.txt: line 1: malformed goroutine header' &&
   has "$TMP/err" '…'; then
  ok "a parse error under a long path keeps line and reason"
else
  nok "long path parse error: $(cat "$TMP/err")"
fi

finish
