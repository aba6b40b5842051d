#!/usr/bin/env bash
# rollout.sh — which deploy brought the leak, and proof that the fix holds,
# on one Deployment rolled through four revisions on the local cluster:
#   1 (orders:1.0)  healthy (steady-pool);
#   2 (orders:1.1)  leaks (chan-send): the workload's GoroutineLeak Event
#                   names revision 2 and its image, against a pod of
#                   revision 1 (the rollout is held so one has not rolled);
#   restarts of revision 2's pods: the finding stays open, no "fixed";
#   3 (orders:1.2)  still leaks: GoroutineLeakNotFixed; the controller is
#                   restarted and adopts the open finding from the Events;
#   4 (orders:1.3)  fixed (steady-pool): GoroutineLeakFixed, and
#                   leakwatch_findings_open goes while
#                   leakwatch_findings_fixed_total counts it;
#   5 (orders:1.4)  leaks again, rolled out whole: a new finding, compared
#                   with the evidence kept of revision 4.
# The targets export a request counter, so the verdicts name the load.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LW_ROOT=$ROOT
NS=lw-e2e-rollout
e2e_init "$NS"
STATE=$E2E_STATE
FUNC='main.(*fetcher).gather.func1'

deploy() { # behaviour image
  e2e_targets_deployment "$NS" orders 2 "$1" image="leakwatch.dev/$2" \
    targets.leakwatch.dev/rate=4 | k apply -f - >/dev/null
}
phase() { echo "  [${SECONDS}s] $*"; }
dep_events() { # reason -> messages on the Deployment
  lw_event_messages "$DEP_UID" "$1"
}
revision() { # pod -> the Deployment revision of its ReplicaSet
  local rs
  rs=$(k -n "$NS" get pod "$1" -o 'jsonpath={.metadata.ownerReferences[0].name}')
  k -n "$NS" get rs "$rs" -o 'jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}'
}
metric() { # name -> its lines on the controller's /metrics
  curl -sf --max-time 5 "http://127.0.0.1:$(e2e_metrics_port "$CTL_LOG")/metrics" | grep "^$1"
}
has_event() { [ -n "$(dep_events "$1")" ]; }
one_event() { [ "$(dep_events "$1" | grep -c .)" = 1 ]; }
open_metric() { metric leakwatch_findings_open | grep -F "workload=\"$NS/Deployment/orders\""; }
open_is_one() { open_metric | grep -q ' 1$'; }
open_is_gone() { ! open_metric >/dev/null; }
fixed_counted() { metric leakwatch_findings_fixed_total | grep -F 'pattern="chan-send"' | grep -q ' 1$'; }
new_pods_started() { [ "$(k -n "$NS" get pods -l targets.leakwatch.dev/behavior=chan-send -o name | wc -l)" -ge 1 ]; }
serves_metrics() { [ -n "$(e2e_metrics_port "$CTL_LOG")" ]; }
start_ctl() { # log
  CTL_LOG=$1
  e2e_controller "$CTL_LOG" --namespaces "$NS" --leader-elect=false \
    --interval 3s --finding-min-span 20s --evidence-dir "$STATE/evidence"
}
adopted_one() {
  grep '"workload findings left open by an earlier leakwatch"' "$CTL_LOG" | grep -q '"count":"1"'
}
describe_tells() {
  k -n "$NS" describe deployment orders | grep -E 'GoroutineLeak' >"$STATE/describe.txt" &&
    grep -q GoroutineLeakFixed "$STATE/describe.txt" && grep -q GoroutineLeakNotFixed "$STATE/describe.txt"
}

# roll_to REV BEHAVIOUR IMAGE REASON: rolls out revision REV and waits for
# the workload's REASON Event; its message in $msg.
roll_to() {
  phase "revision $1: $2 ($3)"
  deploy "$2" "$3"
  check "revision $1 rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
  check "$4 follows" wait_until 180 has_event "$4"
  msg=$(dep_events "$4" | head -1)
  echo "  $4: $msg"
}

deploy steady-pool orders:1.0
check "revision 1 (healthy) rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
DEP_UID=$(uid_of deployment/orders)
# Hold the next rollout halfway: one new pod, the old ones kept until it
# has been ready for 2 minutes — the runbook's "a pod that has not yet
# rolled" is there while the new revision is judged.
k -n "$NS" patch deployment orders --type merge -p \
  '{"spec":{"minReadySeconds":120,"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}' >/dev/null
e2e_backends_start || nok "backends start"
start_ctl "$STATE/ctl.log"
check "controller serves metrics" wait_until 30 serves_metrics

phase "revision 2: leaking"
deploy chan-send orders:1.1
check "the leaking revision's first pod starts, revision 1's pods stay" \
  wait_until 60 new_pods_started
check "the workload gets a GoroutineLeak Event" wait_until 150 has_event GoroutineLeak
msg=$(dep_events GoroutineLeak | head -1)
echo "  GoroutineLeak: $msg"
check "it names the leaking stack" grep -qF "$FUNC" <<<"$msg"
check "it names the new revision, its image and when it rolled out" \
  grep -qE "in revision 2 \(orders:1\.1, rolled out [0-9hms]+ ago\)" <<<"$msg"
check "its baseline is a pod of revision 1 that has not rolled" \
  grep -qF "vs not-yet-rolled peer orders-" <<<"$msg"
check "the baseline's revision and image are named" grep -qF "of revision 1 (orders:1.0)" <<<"$msg"
check "leakwatch_findings_open is 1 for the workload" open_is_one
k -n "$NS" patch deployment orders --type merge -p '{"spec":{"minReadySeconds":0}}' >/dev/null
check "revision 2 finishes rolling out" k -n "$NS" rollout status deploy/orders --timeout=240s

phase "restarts of revision 2"
k -n "$NS" delete pods -l app=orders --wait=false >/dev/null
check "restarted pods come back" k -n "$NS" rollout status deploy/orders --timeout=120s
for p in $(k -n "$NS" get pods -l app=orders -o 'jsonpath={.items[*].metadata.name}'); do
  check "$p still runs revision 2" test "$(revision "$p")" = 2
done
# Longer than a verification window (the finding's, >= 20 s) plus captures.
sleep 60
check "a restart is not a fix: no GoroutineLeakFixed" test -z "$(dep_events GoroutineLeakFixed)"
check "nor a GoroutineLeakCleared" test -z "$(dep_events GoroutineLeakCleared)"
check "the finding stays open in the metrics" open_is_one
check "the controller logged that the finding stays open" \
  grep -q '"workload finding stays open: a pod going away is not a fix"' "$CTL_LOG"

roll_to 3 chan-send orders:1.2 GoroutineLeakNotFixed
check "it says the stack still grows in revision 3" \
  grep -qF "$FUNC still grows in revision 3 (orders:1.2)" <<<"$msg"
check "it compares with revision 2's growth" grep -qF "in revision 2 (orders:1.1)" <<<"$msg"
check "it says the finding stayed open across the restarts" \
  grep -qE "stayed open across [0-9]+ restarts? of revision 2: a restart is not a fix" <<<"$msg"
check "it names the load from the pod's request counter" grep -q "req/s" <<<"$msg"
check "it repeats the first fix" grep -q "Pattern chan-send: " <<<"$msg"
check "no GoroutineLeakFixed" test -z "$(dep_events GoroutineLeakFixed)"

# An upgrade of leakwatch between the finding and the fix: the new process
# adopts the workload's open finding from its Events.
phase "controller restarted"
kill -TERM "$CTL"; wait "$CTL"
start_ctl "$STATE/ctl2.log"
check "the restarted controller serves metrics" wait_until 30 serves_metrics
check "it adopts the workload finding left open" wait_until 30 adopted_one
check "leakwatch_findings_open is 1 in the new process" wait_until 30 open_is_one

roll_to 4 steady-pool orders:1.3 GoroutineLeakFixed
check "it says the stack no longer grows in revision 4" \
  grep -qF "$FUNC no longer grows in revision 4 (orders:1.3)" <<<"$msg"
check "it gives the rate revision 3 grew at" grep -qE "it grew \+[0-9.]+/min in revision 3" <<<"$msg"
check "it names the load" grep -q "req/s" <<<"$msg"
check "kubectl describe deployment shows the story" describe_tells
sed 's/^/  describe: /' "$STATE/describe.txt"
check "leakwatch_findings_open is gone for the workload" open_is_gone
check "leakwatch_findings_fixed_total counts it" fixed_counted
check "exactly one GoroutineLeakFixed Event" one_event GoroutineLeakFixed
check "exactly one GoroutineLeakNotFixed Event" one_event GoroutineLeakNotFixed
check "the verification's captures of revision 4 are kept as evidence" \
  quiet compgen -G "$STATE/evidence/${NS}_orders-*_rev4_*_verify.*"

# A regression after the fix, rolled out whole: no pod of revision 4 is
# left to compare with, so the evidence kept of it is the last green
# deploy; and the closed finding does not swallow the new one.
phase "revision 5: leaks again (orders:1.4)"
deploy chan-send orders:1.4
check "revision 5 rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
rev5_event() { dep_events GoroutineLeak | grep -F "in revision 5 (orders:1.4"; }
check "a new GoroutineLeak Event on the workload names revision 5" wait_until 150 quiet rev5_event
msg=$(rev5_event | head -1)
echo "  GoroutineLeak: $msg"
check "it compares with the evidence kept of revision 4" \
  grep -qE "new in revision 5 \(orders:1\.4\); revision 4 \(orders:1\.3\) held 0 on this stack in evidence kept [0-9hms]+ ago" <<<"$msg"
check "leakwatch_findings_open is 1 again" open_is_one
finish
