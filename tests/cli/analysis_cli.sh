#!/usr/bin/env bash
# analysis_cli.sh — the offline commands (inspect, diff, analyze) as users
# and scripts meet them: help and usage errors (exit 1), unreadable or
# invalid input (exit 2, one line naming the file), the JSON contract of
# DESIGN.md checked with jq, and the text an on-call reader sees.
# Not for: the verdict on every recorded fixture (analyze_fixtures.sh).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FIX=$LW_ROOT/tests/fixtures/go1.26.8
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-analysis-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# run ARGS... : leakwatch with stdout in $OUT, stderr in $ERR, status in $RC
run() {
  lw "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
# expect DESC RC [STDERR-SUBSTRING] : after run, the status (and for
# failures a single stderr line holding the substring)
expect() {
  local d=$1 want=$2 sub=${3:-}
  if [ "$RC" != "$want" ]; then nok "$d (exit $RC, want $want: $ERR)"; return; fi
  if [ -n "$sub" ]; then
    local lines
    lines=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$lines" != 1 ]; then nok "$d ($lines stderr lines: $ERR)"; return; fi
    case $ERR in *"$sub"*) ;; *) nok "$d (stderr lacks '$sub': $ERR)"; return ;; esac
  fi
  ok "$d"
}
# jqok DESC FILTER : the last stdout satisfies the jq filter
jqok() {
  if printf '%s' "$OUT" | jq -e "$2" >/dev/null 2>&1; then ok "$1"; else nok "$1 ($2)"; fi
}
contains() { # DESC SUBSTRING : the last stdout holds it
  case $OUT in *"$2"*) ok "$1" ;; *) nok "$1 (no '$2' in: ${OUT:0:300})" ;; esac
}
times_of() { # DIR : the manifest's capture times
  jq -r '[.snapshots[].captured_at_unix_ms|tostring]|join(",")' "$1/MANIFEST.json"
}

# ---- help and usage --------------------------------------------------
for c in inspect diff analyze; do
  run $c --help
  expect "$c --help exits 0" 0
  contains "$c --help prints usage on stdout" "usage: leakwatch $c"
  contains "$c --help lists --json" "--json"
  if [ -z "$ERR" ]; then ok "$c --help is quiet on stderr"; else nok "$c --help wrote stderr"; fi
  run $c -h
  expect "$c -h exits 0" 0
  run $c --no-such-option x
  expect "$c rejects an unknown option" 1 "--no-such-option"
  run $c --json=yes x
  expect "$c rejects a value on a flag" 1 "--json"
done
# scan reads the same option grammar (cli_next) before it needs a cluster.
run scan --help
expect "scan --help exits 0" 0
contains "scan --help prints usage" "usage: leakwatch scan"
run scan --no-such-option
expect "scan rejects an unknown option" 1 "--no-such-option"
run scan -n ''
expect "scan rejects an empty -n" 1 "--namespace needs a non-empty value"
run scan --selector=
expect "scan rejects an empty --selector=" 1 "--selector needs a non-empty value"
run scan -n
expect "scan -n needs a value" 1 "-n needs a value"
run scan -n a -A
expect "scan: -n and -A exclude each other" 1 "exclude each other"
run scan stray
expect "scan takes no positional argument" 1 "unknown argument 'stray'"
run scan --max-frames 3
expect "scan refuses the offline parser options" 1 "only --json applies"
run scan --json=yes
expect "scan rejects a value on --json" 1 "--json"
run inspect
expect "inspect without FILE" 1 "missing FILE"
run inspect a b
expect "inspect with two files" 1 "one FILE"
run inspect --top many "$FIX/chan-send/01.debug1.txt"
expect "inspect --top needs a count" 1 "--top"
run diff "$FIX/chan-send/01.debug1.txt"
expect "diff with one capture" 1 "BASE and TARGET"
run diff a b c
expect "diff with three captures" 1 "BASE and TARGET"
run analyze
expect "analyze without snapshots" 1 "SNAPSHOT"
run analyze --interval 0 x
expect "analyze --interval must be positive" 1 "--interval"
run analyze --interval 10 --times 1,2 a b
expect "analyze --interval and --times together" 1 "not both"
run analyze --times 1,2 a b c
expect "analyze --times must match the snapshots" 1 "--times"
run analyze --times 1,x a b
expect "analyze --times must be numbers" 1 "--times"
run analyze --max-input 12Q x
expect "--max-input needs a size" 1 "--max-input"
run analyze --ignore-top
expect "--ignore-top needs a value" 1 "--ignore-top"
run analyze --baseline
expect "--baseline needs a value" 1 "--baseline"

# ---- bad input: exit 2, one line naming the file --------------------
head -c 3000 "$FIX/chan-send/05.debug2.txt" >"$TMP/cut.txt"
head -c 700 "$FIX/chan-send/05.pb.gz" >"$TMP/cut.pb.gz"
gzip -dc "$FIX/chan-send/05.pb.gz" | head -c 500 >"$TMP/cut.pb"
printf 'hello world\nthis is not a profile\n' >"$TMP/wrong.txt"
head -c 4096 /dev/urandom >"$TMP/garbage.bin"
: >"$TMP/empty.txt"
mkdir "$TMP/adir"
# inflates far past any limit given below while staying valid text
{ printf 'goroutine profile: total 1\n'; head -c 20000000 /dev/zero | tr '\0' '\n'; } |
  gzip -9 >"$TMP/bomb.gz"
# zeros: no profile at all, however large it would inflate
head -c 50000000 /dev/zero | gzip -9 >"$TMP/zeros.gz"

bad() { # DESC FILE [OPTIONS...]
  local d=$1 f=$2; shift 2
  run inspect "$@" "$f"
  expect "inspect: $d" 2 "$f"
  run diff "$@" "$FIX/chan-send/01.debug1.txt" "$f"
  expect "diff: $d" 2 "$f"
  run analyze "$@" "$FIX/chan-send/01.debug1.txt" "$f"
  expect "analyze: $d" 2 "$f"
  run analyze "$@" --baseline "$f" "$FIX/chan-send/01.debug1.txt"
  expect "analyze --baseline: $d" 2 "$f"
}
bad "truncated gzip" "$TMP/cut.pb.gz"
bad "truncated protobuf" "$TMP/cut.pb"
bad "wrong format" "$TMP/wrong.txt"
bad "binary garbage" "$TMP/garbage.bin"
bad "empty file" "$TMP/empty.txt"
bad "a directory" "$TMP/adir"
bad "a missing file" "$TMP/missing.txt"
bad "gzip bomb" "$TMP/bomb.gz" --max-decompressed 1M
bad "gzip of zeros" "$TMP/zeros.gz"
bad "input over --max-input" "$FIX/grpc-conn-not-closed/05.debug2.txt" --max-input 10K
run inspect --max-decompressed 1M "$TMP/bomb.gz"
case $ERR in *max-decompressed*) ok "the bomb message names the limit" ;; *) nok "bomb message: $ERR" ;; esac

# A text dump cut mid-record still tells what it holds, marked as a floor.
run inspect "$TMP/cut.txt"
expect "inspect: truncated text is read" 0
contains "inspect: truncated text is marked" "cut off"
run inspect --json "$TMP/cut.txt"
jqok "inspect --json: truncated flag" '.truncated == true'

# ---- inspect ---------------------------------------------------------
run inspect --json "$FIX/chan-send/05.debug2.txt"
expect "inspect --json runs" 0
jqok "inspect --json: format and kind" '.format == "debug=2" and .kind == "goroutine"'
jqok "inspect --json: counts" '(.total|type) == "number" and .total >= .counted and .unique_stacks == (.stacks|length)'
jqok "inspect --json: the largest stack first" '[.stacks[].count] == ([.stacks[].count]|sort|reverse)'
jqok "inspect --json: top stack" '.stacks[0].frames[0] == "main.(*fetcher).gather.func1" and .stacks[0].pattern == "chan-send" and .stacks[0].wait_reason == "chan send" and .stacks[0].created_by == "main.(*fetcher).gather" and (.stacks[0].line|type) == "number" and (.stacks[0].blocked_minutes_max|type) == "number"'
jqok "inspect --json: the capture goroutine is ignored" '.ignored >= 1 and ([.stacks[].frames[] | select(startswith("runtime/pprof"))] | length) == 0'
run inspect "$FIX/chan-send/05.debug2.txt"
contains "inspect text: summary" "debug=2 goroutine capture"
contains "inspect text: top stack" "main.(*fetcher).gather.func1  chansend.go:40  [chan send]"
contains "inspect text: pattern" "pattern chan-send"
run inspect --no-builtin-ignores --json "$FIX/chan-send/05.debug2.txt"
jqok "--no-builtin-ignores shows the capture goroutine" '.ignored == 0 and ([.stacks[].frames[] | select(startswith("runtime/pprof"))] | length) > 0'
run inspect --json --top 1 "$FIX/chan-send/05.pb.gz"
jqok "inspect --json protobuf: gzip, time and one stack" '.format == "protobuf" and .gzipped == true and (.time_unix_ms|type) == "number" and (.stacks|length) == 1'
run inspect --json "$FIX/waitgroup/05.debug2.txt"
jqok "inspect: user frame first" '.stacks[0].frames[0] == "main.(*batcher).awaitAll"'
run inspect --json --no-fold "$FIX/waitgroup/05.debug2.txt"
jqok "inspect --no-fold: innermost frame first" '.stacks[0].frames[0] | startswith("sync.")'
run inspect --json --top 0 --ignore-top 'main.(*fetcher).gather.func1' "$FIX/chan-send/05.debug2.txt"
jqok "--ignore-top drops the stack" '([.stacks[].frames[0]] | index("main.(*fetcher).gather.func1")) == null'
run inspect --json --top 0 --ignore-any 'main.(*fetcher).*' "$FIX/chan-send/05.debug2.txt"
jqok "--ignore-any with a prefix" '([.stacks[].frames[] | select(startswith("main.(*fetcher)"))] | length) == 0'
run inspect --json --top 0 --ignore-created-by 'main.(*fetcher).gather' "$FIX/chan-send/05.debug2.txt"
jqok "--ignore-created-by" '([.stacks[] | select(.created_by == "main.(*fetcher).gather")] | length) == 0'

# thousands separators in text, never in JSON
cat >"$TMP/big.txt" <<'EOF'
goroutine profile: total 1501
1500 @ 0x4a1b2c 0x4a1c3d
#	0x4a1b2b	main.(*pool).worker+0x4b	/src/app/pool.go:42
#	0x4a1c3c	main.main+0x1c		/src/app/main.go:9

1 @ 0x4a1d4e
#	0x4a1d4d	main.other+0x1	/src/app/other.go:3

EOF
run inspect "$TMP/big.txt"
contains "text counts have separators" "1,501 goroutines"
contains "stack counts have separators" "1,500  main.(*pool).worker  pool.go:42"
run inspect --json "$TMP/big.txt"
jqok "JSON counts are plain numbers" '.total == 1501 and .stacks[0].count == 1500'

# ---- diff ------------------------------------------------------------
run diff --json "$FIX/chan-send/01.debug2.txt" "$FIX/chan-send/05.debug2.txt"
expect "diff --json runs" 0
jqok "diff --json: totals" '.total_delta == (.target.total - .base.total)'
jqok "diff --json: sorted by delta" '[.stacks[].delta] == ([.stacks[].delta]|sort|reverse)'
jqok "diff --json: growth on top" '.stacks[0].frames[0] == "main.(*fetcher).gather.func1" and .stacks[0].delta == (.stacks[0].target - .stacks[0].base) and .stacks[0].delta > 50'
run diff --json --top 1 "$FIX/chan-send/01.debug1.txt" "$FIX/chan-send/05.pb.gz"
jqok "diff across formats lines the stacks up" '(.stacks|length) == 1 and .stacks[0].frames[0] == "main.(*fetcher).gather.func1" and .stacks[0].delta > 50 and .base.format == "debug=1" and .target.format == "protobuf"'
run diff "$FIX/chan-send/01.debug2.txt" "$FIX/chan-send/05.debug2.txt"
contains "diff text: headline" "goroutines "
contains "diff text: arrow" " → "
contains "diff text: the growing stack" "main.(*fetcher).gather.func1  chansend.go:40  [chan send]"
run diff "$FIX/burst/02.debug2.txt" "$FIX/burst/03.debug2.txt"
contains "diff text: drops are listed" "largest drops:"

# ---- analyze ---------------------------------------------------------
CS=$FIX/chan-send
snaps=("$CS"/0?.debug2.txt)
run analyze --json --times "$(times_of "$CS")" --baseline "$CS/peer.debug2.txt" "${snaps[@]}"
expect "analyze --json runs" 0
jqok "analyze --json: verdict" '.verdict == "leak"'
jqok "analyze --json: total" '(.total.first|type) == "number" and (.total.last|type) == "number" and (.total.per_minute|type) == "number" and .total.last > .total.first'
jqok "analyze --json: every DESIGN field in every finding" '
  .findings | length > 0 and all(.[];
    (.pattern|type) == "string" and (.frames|type) == "array" and
    all(.frames[]; type == "string") and
    ((.file|type) == "string" or .file == null) and
    ((.line|type) == "number" or .line == null) and
    ((.wait_reason|type) == "string" or .wait_reason == null) and
    (.count|type) == "number" and (.baseline|type) == "number" and
    (.delta|type) == "number" and (.per_minute|type) == "number" and
    ((.blocked_minutes_max|type) == "number") and
    ((.created_by|type) == "string" or .created_by == null) and
    (.fix|type) == "string")'
jqok "analyze --json: patterns from the vocabulary" '
  all(.findings[].pattern; IN("chan-send","chan-receive","nil-channel","select",
    "select-no-cases","http-body-not-closed","network-io","grpc-conn-not-closed",
    "grpc-stream-not-cancelled","sql-rows-not-closed",
    "waitgroup","mutex","cond","semaphore","sleep-loop","unknown"))'
jqok "analyze --json: the finding" '.findings[0].frames[0] == "main.(*fetcher).gather.func1" and .findings[0].pattern == "chan-send" and .findings[0].wait_reason == "chan send" and .findings[0].file == "leakwatch.dev/targets/chansend.go" and .findings[0].line == 40 and .findings[0].created_by == "main.(*fetcher).gather" and .findings[0].delta > 50 and .findings[0].per_minute > 30 and (.findings[0].fix | test("ctx.Done"))'
jqok "analyze --json: counts per capture" '(.findings[0].counts|length) == (.snapshots|length) and .findings[0].counts[-1] == .findings[0].count and .findings[0].counts[-1] - .findings[0].counts[0] == .findings[0].delta'
jqok "analyze --json: baseline of the finding is the peer's count" '.findings[0].baseline < .findings[0].count and .baseline.file != null'
run analyze --times "$(times_of "$CS")" --baseline "$CS/peer.debug2.txt" "${snaps[@]}"
expect "analyze text runs" 0
first=$(printf '%s\n' "$OUT" | head -n 1)
case $first in "LEAK: goroutines "*" → "*" in "*"/min)"*) ok "analyze text: headline" ;; *) nok "analyze text headline: $first" ;; esac
contains "analyze text: the stack line" "main.(*fetcher).gather.func1  chansend.go:40  [chan send]  created by main.(*fetcher).gather"
contains "analyze text: growth vs peer" "in the fresh peer"
contains "analyze text: pattern and fix" "pattern chan-send — fix: buffer the channel or select on ctx.Done() in the sender"

# Evidence the controller kept names the revision each file came from: the
# pod's captures of revision 7, the baseline of a pod not yet rolled.
EV=$TMP/evidence; mkdir -p "$EV"
ev_snaps=()
for f in "${snaps[@]}"; do
  n=$(basename "$f" .debug2.txt)
  cp "$f" "$EV/shop_orders-7d9f-x2k_rev7_2026120${n#0}T040506Z_suspect.txt"
  ev_snaps+=("$EV/shop_orders-7d9f-x2k_rev7_2026120${n#0}T040506Z_suspect.txt")
done
cp "$CS/peer.debug2.txt" "$EV/shop_orders-6c4b-abcde_rev6_20261201T040506Z_baseline.txt"
run analyze --json --times "$(times_of "$CS")" --baseline "$EV/shop_orders-6c4b-abcde_rev6_20261201T040506Z_baseline.txt" "${ev_snaps[@]}"
jqok "analyze --json: revisions from evidence names" '.baseline.revision == 6 and all(.snapshots[]; .revision == 7)'
run analyze --json --times "$(times_of "$CS")" --baseline "$CS/peer.debug2.txt" "${snaps[@]}"
jqok "analyze --json: no revision in a plain name" '.baseline.revision == null and all(.snapshots[]; .revision == null)'
run analyze --times "$(times_of "$CS")" --baseline "$EV/shop_orders-6c4b-abcde_rev6_20261201T040506Z_baseline.txt" "${ev_snaps[@]}"
first=$(printf '%s\n' "$OUT" | head -n 1)
case $first in *"/min) in revision 7, not-yet-rolled peer of revision 6 "*) ok "analyze text: revisions in the headline" ;; *) nok "analyze text revisions: $first" ;; esac

# no-leak and inconclusive read as such
PL=$FIX/plateau
run analyze --times "$(times_of "$PL")" "$PL"/0?.debug2.txt
case $OUT in "no leak: "*) ok "plateau: no leak" ;; *) nok "plateau text: ${OUT:0:200}" ;; esac
contains "plateau: says why it is dismissed" "plateau"
run analyze "$CS/04.debug1.txt" "$CS/05.debug1.txt" --interval 12
case $OUT in "INCONCLUSIVE: "*) ok "two captures: inconclusive" ;; *) nok "two captures: ${OUT:0:200}" ;; esac
contains "inconclusive says what to do next" "next: capture again"
run analyze --json "$CS/05.debug2.txt"
jqok "one capture: inconclusive, no rate" '.verdict == "inconclusive" and .total.per_minute == null and .findings[0].per_minute == null and .findings[0].baseline == null'

# captures in different formats: the protobuf one names the wait
run analyze --json --times "$(times_of "$CS")" "$CS"/0[1-4].debug1.txt "$CS/05.pb.gz"
jqok "mixed formats: one series, the wait named" '.verdict == "leak" and .findings[0].pattern == "chan-send" and .findings[0].wait_reason == "chan send"'
# a goroutineleak series that proves nothing is not health
LP=$LW_ROOT/tests/fixtures/go1.26.8-goroutineleakprofile/mutex
if [ -d "$LP" ]; then
  run analyze "$LP"/0?.goroutineleak.pb.gz
  case $OUT in "INCONCLUSIVE: "*"next: analyze /debug/pprof/goroutine"*) ok "empty leak profiles: inconclusive, analyze the goroutine profile" ;;
    *) nok "empty leak profiles: ${OUT:0:300}" ;; esac
else
  skip_missing "empty leak profiles: no $LP"
fi

# capture times: --interval, protobuf timestamps, file times, none
run analyze --json --interval 12 "${snaps[@]}"
jqok "--interval gives rates" '.total.per_minute > 0 and .span_minutes == 0.8'
run analyze --json "$CS"/0?.pb.gz
jqok "protobuf timestamps give rates" '.verdict == "leak" and .total.per_minute > 0 and all(.snapshots[]; .time_unix_ms != null)'
i=0
for f in "${snaps[@]}"; do
  cp "$f" "$TMP/s$i.txt"; touch -d "@$((1700000000 + i * 30))" "$TMP/s$i.txt"; i=$((i + 1))
done
run analyze --json "$TMP"/s?.txt
jqok "file times give rates" '.total.per_minute > 0 and .span_minutes == 2'
touch -d @1700000000 "$TMP"/s?.txt
run analyze --json "$TMP"/s?.txt
expect "equal file times still analyse" 0
jqok "equal file times: verdict without rates" '.verdict == "leak" and .total.per_minute == null'
case $ERR in *"--interval or --times"*) ok "equal file times: a warning says how to fix it" ;; *) nok "no warning: $ERR" ;; esac
run analyze --json --times "1795407866,1795407878,1795407890,1795407902,1795407914" "${snaps[@]}"
jqok "--times in seconds" '.snapshots[0].time_unix_ms == 1795407866000'

# ignore rules decide the verdict
run analyze --json --times "$(times_of "$CS")" --ignore-top 'main.(*fetcher).gather.func1' "${snaps[@]}"
jqok "an ignored leak is not reported" '.verdict != "leak" and (.findings | length) == 0'
run analyze --json --file-line --times "$(times_of "$CS")" "${snaps[@]}"
jqok "--file-line keeps the verdict" '.verdict == "leak" and .findings[0].line == 40'
run analyze --json --top 1 --times "$(times_of "$FIX/grpc-conn-not-closed")" "$FIX/grpc-conn-not-closed"/0?.debug2.txt
jqok "--top limits findings" '(.findings|length) == 1'

# The limits the parser's errors point at are all settable.
run inspect --max-line 64 "$FIX/chan-send/05.debug2.txt"
expect "--max-line refuses a longer line" 2 "05.debug2.txt"
run inspect --max-frames 2 "$FIX/chan-send/05.debug2.txt"
expect "--max-frames refuses a deeper stack" 2 "05.debug2.txt"
run inspect --max-buckets 1 "$FIX/chan-send/05.debug2.txt"
expect "--max-buckets refuses more stacks" 2 "05.debug2.txt"
run inspect --max-frames many "$FIX/chan-send/05.debug2.txt"
expect "--max-frames needs a number" 1 "--max-frames"

finish
