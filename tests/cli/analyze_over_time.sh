#!/usr/bin/env bash
# analyze_over_time.sh — what `leakwatch analyze` prints about a leak seen
# over several captures, on the recorded catalog services
# (tests/fixtures/catalog-go1.26.8/):
#   - one finding per leak: a gRPC ClientConn's stacks are one finding with
#     companions and "goroutines per leaked ClientConn", in JSON and text;
#     an SSE handler leads net/http's backgroundRead;
#   - the leaking tenant: `labels` in JSON, "NN% tenant=acme" in text;
#   - goroutine ids: each debug=2 file parsed with the previous file's
#     highest id as cutoff gives `old`/`persisted`; debug=1 has no ids and
#     gives null; the --baseline (another process) is not chained;
#   - a ticker loop is a sleep-loop with ids, and its `fix` follows.
# Not for: verdicts on every fixture (analyze_fixtures.sh) or bad input
# (analysis_cli.sh).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$LW_ROOT/tests/fixtures/catalog-go1.26.8
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-overtime.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

series() { # BEHAVIOUR KEY: the files of the series, oldest first
  jq -r --arg k "$2" '.snapshots[].files[$k]' "$ROOT/$1/MANIFEST.json" | sed "s#^#$ROOT/$1/#"
}
jqq() { jq -e "$@" >/dev/null; }
times() { jq -r '[.snapshots[].captured_at_unix_ms|tostring]|join(",")' "$ROOT/$1/MANIFEST.json"; }
run() { # OUT BEHAVIOUR KEY [ARGS...]
  local out=$1 b=$2 k=$3
  shift 3
  mapfile -t files < <(series "$b" "$k")
  lw analyze --times "$(times "$b")" "$@" "${files[@]}" >"$out" 2>"$TMP/err"
}

if [ ! -d "$ROOT" ]; then
  nok "no catalog fixtures under $ROOT"
  finish
  exit
fi

# gRPC ClientConn: one finding, 3 serializers + reader + loopy writer
if run "$TMP/grpc.json" grpc-conn debug2 --json; then
  check "grpc-conn: one leak finding" jqq '[.findings[] | select(.status == "leak")] | length == 1' "$TMP/grpc.json"
  check "grpc-conn: the serializer leads with the transport's reader and writer as companions" \
    jqq '.findings[0] | (.frames[0] | test("CallbackSerializer")) and
      ([.companions[].function] | (any(test("http2Client\\).reader")) and any(test("controlBuffer\\).get"))))' "$TMP/grpc.json"
  check "grpc-conn: 5 goroutines per leaked ClientConn" \
    jqq '.findings[0] | .goroutines_per_unit == 5 and .per_unit == 3 and .unit == "leaked ClientConn" and (.companions | all(.per_unit == 1))' "$TMP/grpc.json"
  check "grpc-conn: the goroutines stay (ids chained)" jqq '.findings[0] | .persisted > 0.9 and .old > 0' "$TMP/grpc.json"
else
  nok "grpc-conn json: $(head -c 200 "$TMP/err")"
fi
if run "$TMP/grpc.txt" grpc-conn debug2; then
  check "grpc-conn text: the ratio" grep -q "one leak on 3 stacks: 5 goroutines per leaked ClientConn" "$TMP/grpc.txt"
  check "grpc-conn text: the companions listed" grep -q "http2Client).reader" "$TMP/grpc.txt"
else
  nok "grpc-conn text: $(head -c 200 "$TMP/err")"
fi

# SSE: the user's handler leads, net/http's backgroundRead is its companion
if run "$TMP/sse.json" sse-write debug2 --json; then
  check "sse-write: the handler leads" jqq '.findings[0].frames[0] == "main.(*newsFeed).serveEvents"' "$TMP/sse.json"
  check "sse-write: backgroundRead is a companion, 2 goroutines per unit" \
    jqq '.findings[0] | (.companions | map(.function) == ["net/http.(*connReader).backgroundRead"]) and .goroutines_per_unit == 2' "$TMP/sse.json"
else
  nok "sse-write json: $(head -c 200 "$TMP/err")"
fi

# the tenant that leaks, in debug=2 (tracebacklabels) and debug=1
for k in debug2 debug1; do
  if run "$TMP/tenant.json" tenant-leak $k --json; then
    check "tenant-leak $k: labels name acme" jqq '.findings[0].labels.tenant.acme >= 0.9' "$TMP/tenant.json"
  else
    nok "tenant-leak $k: $(head -c 200 "$TMP/err")"
  fi
done
if run "$TMP/tenant.txt" tenant-leak debug2; then
  check "tenant-leak text: the share" grep -qE "[0-9]+% tenant=acme" "$TMP/tenant.txt"
else
  nok "tenant-leak text: $(head -c 200 "$TMP/err")"
fi

# ids: debug=2 chained, debug=1 none, the baseline not chained
if run "$TMP/d1.json" queue-range debug1 --json; then
  check "debug=1: no ids, persisted null" jqq '.findings[0] | .persisted == null and .old == null' "$TMP/d1.json"
else
  nok "queue-range debug1: $(head -c 200 "$TMP/err")"
fi
peer=$ROOT/queue-range/$(jq -r '.peer.files.debug2' "$ROOT/queue-range/MANIFEST.json")
if run "$TMP/base.json" queue-range debug2 --json --baseline "$peer"; then
  check "with a baseline: the series still chained" jqq '.findings[0].persisted > 0.9' "$TMP/base.json"
else
  nok "queue-range baseline: $(head -c 200 "$TMP/err")"
fi
# one capture: nothing to chain
mapfile -t qfiles < <(series queue-range debug2)
if lw analyze --json "${qfiles[-1]}" >"$TMP/one.json" 2>"$TMP/err"; then
  check "one capture: no ids" jqq '.findings[0].old == null' "$TMP/one.json"
else
  nok "one capture: $(head -c 200 "$TMP/err")"
fi

# a ticker loop: sleep-loop with ids, its own fix; select without them
if run "$TMP/tick.json" ticker-loop debug2 --json; then
  run "$TMP/select.json" reply-wait debug2 --json
  check "ticker-loop: sleep-loop with its own fix, not select's" \
    jqq --slurpfile sel "$TMP/select.json" \
    '.findings[0] | .pattern == "sleep-loop" and .wait_reason == "select" and
      ($sel[0].findings[0].pattern == "select") and .fix != $sel[0].findings[0].fix' "$TMP/tick.json"
else
  nok "ticker-loop: $(head -c 200 "$TMP/err")"
fi
mapfile -t tfiles < <(series ticker-loop debug2)
if lw analyze --json "${tfiles[@]}" >"$TMP/tick1.json" 2>"$TMP/err"; then
  check "ticker-loop without times: no span to judge, the frames' select" jqq '.findings[0].pattern == "select"' "$TMP/tick1.json"
else
  nok "ticker-loop without times: $(head -c 200 "$TMP/err")"
fi

finish
