#!/usr/bin/env bash
# findings_live.sh — the controller's findings on services this team did
# not shape for it: tests/targets/catalog's services, each with a bursty
# background of short slow requests, 2 replicas each, half of them serving
# only net/http/pprof (no /metrics), plus four kinds of healthy control.
#
#   - every leak gets exactly one workload Event per leaking stack, naming
#     the right pattern; a pod's Event names a stack, never the burst;
#   - no control gets a GoroutineLeak Event over the whole run, across two
#     controller restarts (kill -9, then a fresh controller with no window:
#     one before any finding, one after them all);
#   - a leak that stops, clears, and starts again on another stack is
#     reported again, after a GoroutineLeakCleared;
#   - pprof-only pods are sampled (debug=1 total) and found.
#
# LW_LIVE_CONTROL_SECONDS (default 600) is the least time the controls are
# watched in all.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
CONTROL_SECONDS=${LW_LIVE_CONTROL_SECONDS:-600}
INTERVAL=${LW_LIVE_INTERVAL:-5s}

e2e_init lw-e2e-live
T0=$SECONDS

# deploy NAME BINARY BEHAVIOR RATE "ARGS" [REPLICAS]
deploy() {
  local name=$1 binary=$2 behavior=$3 rate=$4 args=$5 replicas=${6:-2}
  e2e_targets_deployment "$E2E_NS" "$name" "$replicas" "$behavior" binary="$binary" \
    targets.leakwatch.dev/rate="$rate" targets.leakwatch.dev/args="$args" | k apply -f - >/dev/null
}

PPROF_ONLY="-metrics=false"
# Leaks: workload, behaviour, extra flags, expected pattern(s).
LEAKS=(
  "inventory|grpc-conn||grpc-conn-not-closed"
  "quotes|grpc-stream|$PPROF_ONLY|grpc-stream-not-cancelled"
  "orders|sql-rows||sql-rows-not-closed"
  "results|cond-wait|$PPROF_ONLY|cond"
  "exports|semaphore||semaphore"
  "events|sse-write|$PPROF_ONLY|network-io"
  "ledger|two-leaks||sql-rows-not-closed cond"
)
CONTROLS=(
  "crawler|keepalive-pool|"
  "feeds|grpc-bursts|$PPROF_ONLY"
  "nightly|sawtooth|"
  "dashboard|conn-scaled|$PPROF_ONLY"
)
for l in "${LEAKS[@]}"; do
  IFS='|' read -r name behavior args _ <<<"$l"
  deploy "$name" catalog "$behavior" 2 "$args"
done
for c in "${CONTROLS[@]}"; do
  IFS='|' read -r name behavior args <<<"$c"
  deploy "$name" catalog "$behavior" 2 "$args"
done
# A leak that stops, then another on a different stack: chan-send for
# 270 s, no load for 100 s (flat: the finding clears), then select.
deploy phases targets chan-send 4 "-then select -switch-after 270s -pause 100s" 1
for l in "${LEAKS[@]}" "${CONTROLS[@]}" "phases|"; do
  name=${l%%|*}
  k -n "$E2E_NS" rollout status "deploy/$name" --timeout=120s >/dev/null ||
    nok "deployment $name rolls out"
done
e2e_backends_start || nok "backends start"

start_controller() { # logfile; sets CTL_PID
  "$LW_BIN" controller --kubeconfig "$KUBECONFIG" --namespaces "$E2E_NS" \
    --interval "$INTERVAL" --lease-namespace "$E2E_NS" --lease-name leakwatch-live \
    --identity "live-$RANDOM" --lease-duration 6s --renew-deadline 4s \
    --retry-period 1s --evidence-dir "$E2E_STATE/evidence" \
    --metrics-addr 127.0.0.1:0 --log-format json --log-level debug >>"$1" 2>&1 &
  CTL_PID=$!
  E2E_PIDS+=("$CTL_PID")
}
LOG=$E2E_STATE/controller.log
start_controller "$LOG"

workload_leak_events() { # deployment -> messages of its GoroutineLeak Events
  lw_event_messages "$(uid_of "deploy/$1")" GoroutineLeak
}
# grep reads to the end (no -q): with pipefail, a reader that stops early
# makes kubectl die of SIGPIPE and the check fail at random.
leak_named() { # deployment pattern
  workload_leak_events "$1" | grep "pattern $2:" >/dev/null
}
all_leaks_named() {
  local l name behavior args patterns p
  for l in "${LEAKS[@]}"; do
    IFS='|' read -r name behavior args patterns <<<"$l"
    for p in $patterns; do leak_named "$name" "$p" || return 1; done
  done
}

restart_controller() {
  kill -KILL "$CTL_PID"
  sleep 1
  start_controller "$LOG"
  echo "controller restarted at $((SECONDS - T0)) s"
}

# A restart before any finding: the new controller starts with empty
# windows while the bursty controls are in full swing.
sleep 50
restart_controller

# --- findings ---------------------------------------------------------------
check "every leaking workload's Event names its pattern" wait_until 420 all_leaks_named
echo "all leaks named after $((SECONDS - T0)) s"
for l in "${LEAKS[@]}"; do
  IFS='|' read -r name behavior args patterns <<<"$l"
  for p in $patterns; do
    check "$name ($behavior${args:+, pprof-only}): a workload Event names pattern $p" leak_named "$name" "$p"
  done
  workload_leak_events "$name" | sed "s/^/--- $name: /"
  created=$(k -n "$E2E_NS" get "deploy/$name" -o 'jsonpath={.metadata.creationTimestamp}')
  first=$(k -n "$E2E_NS" get events --field-selector "involvedObject.uid=$(uid_of "deploy/$name"),reason=GoroutineLeak" \
    -o 'jsonpath={range .items[*]}{.firstTimestamp}{"\n"}{end}' | sort | head -1)
  [ -n "$first" ] && echo "--- $name: first workload Event $(( $(date -d "$first" +%s) - $(date -d "$created" +%s) )) s after the Deployment was created"
done

# --- a leak that stops, clears, and starts again on another stack --------
PHASES_UID=$(uid_of deploy/phases)
phases_pod() { k -n "$E2E_NS" get pods -l app=phases -o 'jsonpath={.items[0].metadata.uid}'; }
phases_reported() { lw_event_messages "$PHASES_UID" GoroutineLeak | grep "pattern $1:" >/dev/null; }
phases_cleared() { lw_event_messages "$(phases_pod)" GoroutineLeakCleared | grep . >/dev/null; }
check "phases: the first leak (chan-send) is reported" wait_until 300 phases_reported chan-send
check "phases: it clears once the count is flat" wait_until 300 phases_cleared
check "phases: the new leak on another stack (select) is reported again" \
  wait_until 300 phases_reported select
k -n "$E2E_NS" get events --field-selector "involvedObject.uid=$PHASES_UID" \
  -o 'jsonpath={range .items[*]}{.reason}{": "}{.message}{"\n"}{end}' | cut -c1-300 | sed 's/^/--- phases: /'

# A restart after the findings: the new controller adopts them (no
# duplicate Event) and still calls nothing on the controls.
restart_controller
sleep 60

# --- controls: watched for the whole run ----------------------------------
left=$((CONTROL_SECONDS - (SECONDS - T0)))
[ "$left" -gt 0 ] && sleep "$left"
echo "controls watched for $((SECONDS - T0)) s, across two controller restarts"
for c in "${CONTROLS[@]}"; do
  IFS='|' read -r name behavior args <<<"$c"
  n=$(k -n "$E2E_NS" get events --field-selector reason=GoroutineLeak \
    -o 'jsonpath={range .items[*]}{.involvedObject.name}{"\n"}{end}' | grep -c "^$name" || true)
  check "control $name ($behavior${args:+, pprof-only}): no GoroutineLeak Event (got $n)" test "$n" -eq 0
done

# --- one story per workload, exactly once --------------------------------
for l in "${LEAKS[@]}"; do
  IFS='|' read -r name behavior args patterns <<<"$l"
  for p in $patterns; do
    # One Event per leaking stack: a leak may show on two stacks over its
    # life (rows never closed, then callers queued for the full pool), each
    # named once.
    stacks=$(workload_leak_events "$name" | grep "pattern $p:" |
      sed -n 's/.*: \([^ ]*\) [^ ]*:[0-9]* \[.*/\1/p' || true)
    n=$(printf '%s' "$stacks" | grep -c . || true)
    dup=$(printf '%s\n' "$stacks" | sort | uniq -d)
    check "$name: a workload Event for the $p leak, one per stack (got $n${dup:+, twice: $dup})" \
      test "$n" -ge 1 -a -z "$dup"
  done
  for pod in $(k -n "$E2E_NS" get pods -l "app=$name" -o 'jsonpath={.items[*].metadata.uid}'); do
    msgs=$(lw_event_messages "$pod" GoroutineLeak)
    dup=$(printf '%s\n' "$msgs" | sed -n 's/.*: \([^ ]*\) [^ ]*:[0-9]* \[.*/\1/p' | sort | uniq -d)
    check "$name pod $pod: no stack reported twice" test -z "$dup"
  done
done
check "the controller did not crash" bash -c "! grep -qiE 'AddressSanitizer|segmentation' '$LOG'"
finish
