#!/usr/bin/env bash
# record-pasted.sh — regenerates the recorded files in tests/fixtures/pasted/:
# goroutine dumps as engineers paste them, from real Go processes.
#
# Builds tests/targets/crashdumps (-trimpath, so frames read runtime/… and
# leakwatch.dev/targets/…) and records what it prints:
#   panic-all.txt            panic, GOTRACEBACK=all
#   panic-system.txt         panic, GOTRACEBACK=system (gp= m= headers,
#                            runtime frames, fp= sp= pc=)
#   sigquit-crash.txt        SIGQUIT under GOTRACEBACK=crash: every thread's
#                            "goroutine 0" stack, register dumps, "-----"
#   cgo-sigquit-crash.txt    the same with a goroutine blocked inside C
#                            ("signal arrived during cgo execution"); only
#                            when cgo works here
#   badpc.txt                a corrupted return address: "runtime: g 1:
#                            unexpected return pc", "stack: frame={..}" and
#                            a hex stack dump, inside goroutine 1's stack
#   gotest-timeout.txt       `go test -v -timeout` after >64 KiB of t.Log
#                            output ("\trunning tests:" lines before the dump)
#   leakmarks-go1.26/        Go 1.26 with GOEXPERIMENT=goroutineleakprofile
#                            and GODEBUG=tracebacklabels=1, after more than a
#                            minute: before.debug2.txt (labels, no marks),
#                            goroutineleak.debug2.txt ("(leaked)" marks:
#                            chan receive, select, select (no cases) in
#                            main.main, labelled; reachable goroutines with
#                            their blocked minutes), after.debug2.txt (a
#                            goroutine dump once the leak profile was taken)
# and, transformed from those real dumps the way pasting changes them:
#   indented-spaces.txt      panic-system.txt indented by 4 spaces on every
#                            line, blank ones included (markdown)
#   indented-tab.txt         panic-system.txt indented by a tab, blank lines
#                            left empty (test output)
#   glued.txt                panic-system.txt with log text printed without
#                            a newline glued before two goroutine headers
#   no-trailing-newline.txt  panic-system.txt without its last newline
#   debug1-total-short.txt   a recorded debug=1 profile (tests/fixtures/
#                            go1.26.8/steady-pool/01.debug1.txt) whose
#                            "total N" was lowered by 5
# Hand-made files (*-handmade.txt) and README.md are left alone.  Every
# recording is checked for what it is kept for before anything is replaced.
#
# Usage: hack/record-pasted.sh      (about 70 s: the leak-mark recording
#                                    waits over a minute for blocked minutes)
# Knobs: OUT (default tests/fixtures/pasted), LEAKMARKS_WAIT (default 65s),
#        SKIP_LEAKMARKS=1 to keep the recorded leakmarks-go1.26/ as is.
# Not for: the long-running leak recordings (hack/record-fixtures.sh).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tests/targets
OUT=${OUT:-$ROOT/tests/fixtures/pasted}
LEAKMARKS_WAIT=${LEAKMARKS_WAIT:-65s}
SKIP_LEAKMARKS=${SKIP_LEAKMARKS:-0}

log() { printf '%s record-pasted: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL $*"; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/record-pasted.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

BIN=$SCRATCH/crashdumps
STAGE=$SCRATCH/out
mkdir -p "$STAGE"

build() { # OUTPUT [CGO_ENABLED] [GOEXPERIMENT]
  (cd "$SRC" && CGO_ENABLED=${2:-0} GOEXPERIMENT=${3:-} GOFLAGS=-buildvcs=false \
    nice go build -trimpath -o "$1" ./crashdumps)
}

# expect FILE DESCRIPTION GREP-E-PATTERN
expect() {
  grep -qE -- "$3" "$1" || die "$(basename "$1"): no $2 (/$3/)"
}

# sigquit BINARY MODE OUTPUT: runs MODE until it prints "ready", then SIGQUIT.
sigquit() {
  local i
  GOTRACEBACK=crash "$1" -mode "$2" >"$3" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 100; i++)); do
    grep -qs '^ready$' "$3" && break
    sleep 0.1
  done
  grep -qs '^ready$' "$3" || die "$2 did not start"
  sleep 0.2 # every goroutine parked
  kill -QUIT "$pid"
  wait "$pid" || true
  sed -i '/^ready$/d' "$3"
}

log "building tests/targets/crashdumps"
build "$BIN"

GOTRACEBACK=all "$BIN" -mode panic >"$STAGE/panic-all.txt" 2>&1 || true
expect "$STAGE/panic-all.txt" "panic message" '^panic: unrecoverable state'
expect "$STAGE/panic-all.txt" "goroutine header" '^goroutine [0-9]+ \[chan receive\]:$'

GOTRACEBACK=system "$BIN" -mode panic >"$STAGE/panic-system.txt" 2>&1 || true
expect "$STAGE/panic-system.txt" "gp= header" '^goroutine 1 gp=0x[0-9a-f]+ m=[0-9]+ mp=0x[0-9a-f]+ \[running\]:$'
expect "$STAGE/panic-system.txt" "fp= sp= pc=" ' fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x'

sigquit "$BIN" sigquit "$STAGE/sigquit-crash.txt"
expect "$STAGE/sigquit-crash.txt" "SIGQUIT" '^SIGQUIT: quit$'
expect "$STAGE/sigquit-crash.txt" "goroutine 0" '^goroutine 0 gp=0x[0-9a-f]+ m=[0-9]+ .*\[idle\]:$'
expect "$STAGE/sigquit-crash.txt" "register dump" '^rip +0x'

if build "$BIN-cgo" 1 2>"$SCRATCH/cgo.err"; then
  sigquit "$BIN-cgo" cgo "$STAGE/cgo-sigquit-crash.txt"
  expect "$STAGE/cgo-sigquit-crash.txt" "cgo signal note" '^signal arrived during cgo execution$'
else
  log "cgo build failed, keeping the recorded cgo-sigquit-crash.txt: $(head -n 1 "$SCRATCH/cgo.err")"
fi

GOTRACEBACK=all "$BIN" -mode badpc >"$STAGE/badpc.txt" 2>&1 || true
expect "$STAGE/badpc.txt" "unexpected return pc" '^runtime: g 1: unexpected return pc for main\.corruptReturn called from 0x1000$'
expect "$STAGE/badpc.txt" "hex stack dump" '^stack: frame=\{sp:0x[0-9a-f]+, fp:0x[0-9a-f]+\} stack=\['

log "go test -v with a timeout after lots of log output"
(cd "$SRC" && CRASHDUMPS_HANG=1 CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go test -trimpath -count=1 -v -run '^TestLogThenHang$' -timeout 4s ./crashdumps) \
  >"$STAGE/gotest-timeout.txt" 2>&1 || true
expect "$STAGE/gotest-timeout.txt" "timeout panic" '^panic: test timed out after 4s$'
first=$(grep -bm1 -E '^goroutine [0-9]+ ' "$STAGE/gotest-timeout.txt" | cut -d: -f1)
((first > 65536)) || die "gotest-timeout.txt: first goroutine header at byte $first, want > 65536"

if [[ $SKIP_LEAKMARKS != 1 ]]; then
  log "leak marks: GOEXPERIMENT=goroutineleakprofile, waiting $LEAKMARKS_WAIT"
  build "$BIN-leak" 0 goroutineleakprofile
  mkdir -p "$STAGE/leakmarks-go1.26"
  GODEBUG=tracebacklabels=1 "$BIN-leak" -mode leakmarks -wait "$LEAKMARKS_WAIT" \
    -out "$STAGE/leakmarks-go1.26/lm" >"$SCRATCH/leakmarks.log" 2>&1 ||
    die "leakmarks: $(cat "$SCRATCH/leakmarks.log")"
  for f in before goroutineleak after; do
    mv "$STAGE/leakmarks-go1.26/lm.$f.debug2.txt" "$STAGE/leakmarks-go1.26/$f.debug2.txt"
  done
  lm=$STAGE/leakmarks-go1.26
  expect "$lm/before.debug2.txt" "labelled goroutine" '^goroutine [0-9]+ \[chan receive labels:\{"tenant": "acme"\}\]:$'
  expect "$lm/goroutineleak.debug2.txt" "leaked select {} in main" '^goroutine 1 \[select \(no cases\) \(leaked\)\]:$'
  expect "$lm/goroutineleak.debug2.txt" "leaked chan receive" '^goroutine [0-9]+ \[chan receive \(leaked\)\]:$'
  expect "$lm/goroutineleak.debug2.txt" "leaked select" '^goroutine [0-9]+ \[select \(leaked\)\]:$'
  expect "$lm/goroutineleak.debug2.txt" "leaked labelled goroutine" '^goroutine [0-9]+ \[chan receive \(leaked\) labels:\{"tenant": "acme"\}\]:$'
  expect "$lm/goroutineleak.debug2.txt" "reachable goroutine with minutes" '^goroutine [0-9]+ \[chan receive, [0-9]+ minutes labels:\{"tenant": "initech"\}\]:$'
  expect "$lm/after.debug2.txt" "leaked mark after the leak profile" '^goroutine [0-9]+ \[chan receive \(leaked\)\]:$'
fi

# ---- what pasting does to a dump ---------------------------------------------
src=$STAGE/panic-system.txt
sed 's/^/    /' "$src" >"$STAGE/indented-spaces.txt"
sed '/./s/^/\t/' "$src" >"$STAGE/indented-tab.txt"
# Log text that had no newline, glued before the 2nd and 5th headers.
awk '/^goroutine [0-9]+ / { n++; if (n == 2) printf "level=info msg=\"draining connections\""
                                  if (n == 5) printf "2026/01/02 15:04:05 worker stopped" }
     { print }' "$src" >"$STAGE/glued.txt"
head -c -1 "$src" >"$STAGE/no-trailing-newline.txt"
[[ $(tail -c 1 "$src" | od -An -c | tr -d ' ') == '\n' ]] || die "panic-system.txt does not end with a newline"
tail -n 1 "$STAGE/no-trailing-newline.txt" | grep -qE $'^\t.*:[0-9]+ \\+0x' ||
  die "no-trailing-newline.txt: last line is not the creator's file:line"
d1=$ROOT/tests/fixtures/go1.26.8/steady-pool/01.debug1.txt
awk 'NR == 1 && /^goroutine profile: total [0-9]+$/ { print "goroutine profile: total " $4 - 5; next } { print }' \
  "$d1" >"$STAGE/debug1-total-short.txt"
expect "$STAGE/debug1-total-short.txt" "lowered total" '^goroutine profile: total [0-9]+$'

# Nothing of this machine may end up in the fixtures.
for dir in "$ROOT" "$SCRATCH" "${HOME:-}" "$(go env GOROOT)"; do
  [[ ${#dir} -gt 1 ]] || continue
  if grep -lF "$dir/" "$STAGE"/*.txt "$STAGE"/*/*.txt 2>/dev/null; then
    die "$dir in the recordings above"
  fi
done

mkdir -p "$OUT"
for f in "$STAGE"/*.txt; do cp "$f" "$OUT/"; done
if [[ -d $STAGE/leakmarks-go1.26 ]]; then
  rm -rf "$OUT/leakmarks-go1.26"
  cp -r "$STAGE/leakmarks-go1.26" "$OUT/"
fi
log "done: $(find "$OUT" -mindepth 1 -maxdepth 1 -printf . | wc -c) entries in $OUT"
