#!/usr/bin/env bash
# faults_sigkill.sh — the controller killed with SIGKILL in the middle of a
# capture, twice, and started again each time.  Real leaking Go backends
# behind kwok pods that hold every goroutine profile for 3 s (targets
# -pprof-delay), so that a capture is open long enough to be killed in;
# containment opted in with a budget of one restart per hour; the
# controller under the manifests' RBAC (impersonating the leakwatch
# ServiceAccount):
#   - the first controller is killed mid-capture before any finding; the
#     second finds the leaks, writes their Events and restarts one pod;
#   - the second is killed mid-capture after that restart; two more are
#     started at once: one leads (the other stands by and never leads),
#     adopts the findings and reads the restart from the cluster;
#   - every pod has exactly one GoroutineLeak Event, and there was exactly
#     one eviction (no second one inside the cool-down);
#   - both last controllers are Ready.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LEASE=lw-e2e-faults-sigkill

if ! command -v ss >/dev/null 2>&1; then
  skip_missing "ss (iproute2), to see the controller's open captures"
  finish; exit 0
fi
e2e_init lw-e2e-faults-sigkill
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1'
e2e_controller_sa
E2E_K_ARGS=(-n "$E2E_NS" --request-timeout=20s)

e2e_targets_deployment "$E2E_NS" orders 2 chan-send leakwatch.dev/containment=restart \
  targets.leakwatch.dev/rate=4 targets.leakwatch.dev/args=-pprof-delay=3s memory=64Mi |
  k apply -f - >/dev/null
check "leaky deployment rolls out" k rollout status deploy/orders --timeout=120s
e2e_backends_start || nok "backends start"

start_ctl() { # name; sets PID (no subshell: cleanup needs E2E_PIDS)
  e2e_controller "$TMP/$1.log" --kubeconfig "$SA_KUBECONFIG" --namespaces "$E2E_NS" \
    --interval 3s --finding-min-span 10s --transport direct --containment \
    --restart-budget-per-workload 1 --lease-namespace leakwatch-system --lease-name "$LEASE" \
    --lease-duration 6s --renew-deadline 4s --retry-period 1s --identity "$1" \
    --evidence-dir "$TMP/evidence"
  PID=$CTL
}
# The controller's connections to a pod's pprof port, as local addresses.
open_captures() {
  ss -Htnp state established '( dport = :6060 )' 2>/dev/null | grep -F "pid=$1," | awk '{ print $3 }' | sort
}
# A capture held open (the same connection seen 0.5 s apart): a slow
# goroutine profile in flight, not a quick sample.
mid_capture() {
  local a b
  a=$(open_captures "$1"); [ -n "$a" ] || return 1
  sleep 0.5
  b=$(open_captures "$1")
  [ -n "$(comm -12 <(echo "$a") <(echo "$b"))" ]
}
kill_mid_capture() { # pid name
  if poll 120 mid_capture "$1"; then
    kill -KILL "$1"
    ok "$2 killed (SIGKILL) with a capture open"
  else
    kill -KILL "$1"
    nok "$2 had a capture open to be killed in"
  fi
  wait "$1" 2>/dev/null
}
evictions() { k get events --field-selector reason=LeakContainment -o 'jsonpath={range .items[*]}{.message}{"\n"}{end}' | grep -c '^evicted: '; }
leaky_uids() { k get events --field-selector reason=GoroutineLeak,involvedObject.kind=Pod \
  -o 'jsonpath={range .items[*]}{.involvedObject.uid}{"\n"}{end}' | sort -u; }
evicted_once() { [ "$(evictions)" -ge 1 ]; }

# --- 1. killed mid-capture before any finding --------------------------------
start_ctl ctl-1
kill_mid_capture "$PID" "the first controller"
check "no GoroutineLeak Event yet" test -z "$(leaky_uids)"

# --- 2. the next finds, reports and restarts one pod; killed mid-capture ------
start_ctl ctl-2
check "the second controller restarts one leaking pod" wait_until 200 evicted_once
# The restart can come at the first finding, before the other leaking
# pod's: wait for a finding on a pod still running, which is what the
# next leader has to adopt.
live_uids() { k get pods -o 'jsonpath={range .items[*]}{.metadata.uid}{"\n"}{end}' | sort -u; }
open_on_live_pod() { [ -n "$(comm -12 <(leaky_uids) <(live_uids))" ]; }
check "a pod still running has its GoroutineLeak Event" wait_until 120 open_on_live_pod
kill_mid_capture "$PID" "the second controller"

# --- 3. two take over, started at once -------------------------------------------
start_ctl ctl-3; P3=$PID
start_ctl ctl-4; P4=$PID
readyz() { e2e_readyz "$TMP/$1.log"; }
one_leads() { # sets LEADER and STANDBY
  local a b
  a=$(readyz ctl-3); b=$(readyz ctl-4)
  if [ "$a" = "ok: leader" ] && [ "$b" = "ok: standby" ]; then LEADER=ctl-3; STANDBY=ctl-4
  elif [ "$b" = "ok: leader" ] && [ "$a" = "ok: standby" ]; then LEADER=ctl-4; STANDBY=ctl-3
  else return 1; fi
}
LEADER=; STANDBY=
check "of two controllers started at once, one leads and the other stands by" poll 60 one_leads
echo "  leader $LEADER, standby $STANDBY"
check "the leader adopts the findings left open" \
  wait_line "$TMP/$LEADER.log" '"msg":"finding left open by an earlier leakwatch; adopting it"' 60
check "the leader reads the restart from the cluster (budget 1/1 used)" \
  wait_line "$TMP/$LEADER.log" '"decision":"budget-workload"' 120
# A replacement pod that leaks gets its own finding; give it, and every
# pod, rounds to be (wrongly) reported again.
sleep 20
for u in $(leaky_uids); do
  counts=$(lw_event_counts "$u" GoroutineLeak | tr '\n' ' ')
  check "pod $u: exactly one GoroutineLeak Event, count 1 (got: $counts)" test "$counts" = "1 "
done
n=$(evictions)
check "exactly one eviction across the kills (got $n)" test "$n" -eq 1
check "still one leader ($LEADER) and one standby, both Ready" one_leads
check "the standby never led" test -z "$(grep -F '"msg":"became leader"' "$TMP/$STANDBY.log")"
check "both are still running" kill -0 "$P3" "$P4"
check "no crash in the controllers' logs" quiet bash -c "! grep -iE 'AddressSanitizer|segmentation|runtime error' '$TMP'/ctl-*.log"
finish
