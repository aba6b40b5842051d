#!/usr/bin/env bash
# faults_apiserver_down.sh — the findings side of a kube-apiserver outage
# (kubecache_restart.sh covers the watch side: relist on 410, no deletion
# lost).  On a throw-away cluster of its own (killing the apiserver must
# disturb no other suite), with real leaking Go backends behind kwok pods
# and the controller under the manifests' RBAC:
#   - a finding made before the outage is recorded once;
#   - the apiserver is killed (-9) and stays down 30 s; the controller
#     lives through it;
#   - back up, a pod that starts leaking afterwards is found and recorded
#     once, and the finding from before is not written again;
#   - the controller leads again and is Ready.
# The cluster is deleted at the end (LW_E2E_KEEP_CLUSTER=1 keeps it).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LEASE=lw-e2e-faults-down
OUTAGE=${LW_E2E_OUTAGE_SECONDS:-30}

# Named after the caller's cluster, so concurrent callers do not share it.
export LEAKWATCH_CLUSTER="${LEAKWATCH_CLUSTER:-leakwatch}-down"
export KWOK_WORKDIR="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}/kwok"
KDIR="$KWOK_WORKDIR/clusters/$LEAKWATCH_CLUSTER"
cluster_down() {
  [ "${LW_E2E_KEEP_CLUSTER:-0}" = 1 ] || "$ROOT/hack/cluster.sh" down >/dev/null 2>&1
}

e2e_init lw-e2e-faults-down
e2e_on_exit cluster_down
KWOKCTL=$("$ROOT/hack/tools.sh" path kwokctl)
e2e_controller_sa
E2E_K_ARGS=(-n "$E2E_NS" --request-timeout=10s)

deploy() { # name
  e2e_targets_deployment "$E2E_NS" "$1" 1 chan-send targets.leakwatch.dev/rate=4 | k apply -f - >/dev/null
}
deploy before
check "the first leaking deployment rolls out" k rollout status deploy/before --timeout=120s
e2e_backends_start || nok "backends start"

e2e_controller "$TMP/ctl.log" --kubeconfig "$SA_KUBECONFIG" --namespaces "$E2E_NS" \
  --interval 3s --finding-min-span 10s --lease-namespace leakwatch-system --lease-name "$LEASE" \
  --lease-duration 6s --renew-deadline 4s --retry-period 1s --identity faults-down \
  --evidence-dir "$TMP/evidence"
check "the controller logs its metrics port" wait_line "$TMP/ctl.log" '"metrics_port":"[0-9]+"' 30
readyz() { e2e_readyz "$TMP/ctl.log"; }
leads() { [ "$(readyz)" = "ok: leader" ]; }
check "the controller leads and is Ready" poll 60 leads

leak_counts() { lw_event_counts "$1" GoroutineLeak; }
reported() { [ -n "$(leak_counts "$1")" ]; }
pod_uid() { k get pods -l "app=$1" -o 'jsonpath={.items[0].metadata.uid}'; }

BEFORE=$(pod_uid before)
check "before the outage: the leaking pod gets its GoroutineLeak Event" wait_until 150 reported "$BEFORE"

# --- the outage ------------------------------------------------------------------
APID=$(cat "$KDIR/pids/kube-apiserver.pid" 2>/dev/null)
check "kube-apiserver pid known ($APID)" test -n "$APID"
kill -KILL "$APID" 2>/dev/null
t0=$SECONDS
check "the apiserver is down" poll 10 bash -c "! '$KUBECTL' --request-timeout=2s get --raw /readyz"
while [ $((SECONDS - t0)) -lt "$OUTAGE" ]; do
  kill -0 "$CTL" 2>/dev/null || break
  sleep 1
done
check "the controller lived through ${OUTAGE}s without an apiserver" kill -0 "$CTL"
check "it stepped down (its lease could not be renewed)" \
  quiet grep -F '"msg":"stopped leading"' "$TMP/ctl.log"
if "$KWOKCTL" --name "$LEAKWATCH_CLUSTER" start cluster --timeout 3m >"$TMP/start.log" 2>&1 &&
   poll 120 k get --raw /readyz; then
  ok "kube-apiserver back after $((SECONDS - t0)) s"
else
  nok "kube-apiserver back"
  tail -20 "$TMP/start.log" | sed 's/^/       /'
fi

# --- after -------------------------------------------------------------------------
check "the controller leads again" poll 90 leads
deploy after
check "a second leaking deployment rolls out" k rollout status deploy/after --timeout=120s
AFTER=$(pod_uid after)
check "after the outage: the new leaking pod gets its GoroutineLeak Event" wait_until 150 reported "$AFTER"
sleep 15
for u in "$BEFORE" "$AFTER"; do
  counts=$(leak_counts "$u" | tr '\n' ' ')
  check "pod $u: exactly one GoroutineLeak Event, count 1 (got: $counts)" test "$counts" = "1 "
done
check "the controller is Ready and leads" leads
check "no crash in the controller's log" quiet bash -c "! grep -iE 'AddressSanitizer|segmentation|runtime error' '$TMP/ctl.log'"
finish
