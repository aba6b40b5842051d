#!/usr/bin/env bash
# controller.sh — the controller end to end on the local cluster, running
# under exactly the manifests' ClusterRole (impersonating the leakwatch
# ServiceAccount):
#   - manifests and the Helm chart pass server-side dry-run;
#   - every pod of a leaky Deployment gets a GoroutineLeak Event naming the
#     right pattern and stack; the healthy Deployment gets none;
#   - bad annotations get an InvalidAnnotation Warning, and no crash;
#   - a pod that serves nothing: no Event storm, and it is asked again
#     when its back-off ends, not refused by the back-off;
#   - two replicas: one leads; killing it, the standby takes over within the
#     lease duration and continues without duplicating any Event;
#   - a graceful stop releases the lease.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
NS=lw-e2e-ctl

e2e_scratch "$NS"
STATE=$TMP
E2E_STOP_SIGNAL=KILL
e2e_on_exit '"$ROOT/hack/backends.sh" stop "$STATE/backends" >/dev/null 2>&1'
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease leakwatch-e2e --ignore-not-found >/dev/null 2>&1'

e2e_cluster_up
HELM=$("$ROOT/hack/tools.sh" path helm 2>/dev/null || true)

# --- deployment artefacts ----------------------------------------------------
# Server-side dry-run cannot place objects in a namespace that does not
# exist yet, so the namespace is created for real first.
k apply -f "$ROOT/manifests/00-namespace.yaml" >/dev/null
check "manifests/ pass kubectl apply --dry-run=server" \
  k apply --dry-run=server -f "$ROOT/manifests/" -o name
if [ -n "$HELM" ] && [ -x "$HELM" ]; then
  check "helm template | kubectl apply --dry-run=server" \
    bash -c "'$HELM' template lw '$ROOT/charts/leakwatch' -n leakwatch-system | '$KUBECTL' apply --dry-run=server -f - -o name"
else
  nok "helm is not built (hack/tools.sh helm)"
fi

# A kubeconfig that impersonates the controller's ServiceAccount: every call
# the controller makes is authorised by the manifests' RBAC alone.
e2e_controller_sa
check "impersonation is in effect" \
  bash -c "KUBECONFIG='$SA_KUBECONFIG' '$KUBECTL' auth whoami | grep -q system:serviceaccount:leakwatch-system:leakwatch"
check "impersonated ServiceAccount may watch pods" \
  bash -c "[ \"\$(KUBECONFIG='$SA_KUBECONFIG' '$KUBECTL' auth can-i watch pods -A)\" = yes ]"
check "impersonated ServiceAccount may not delete pods" \
  bash -c "[ \"\$(KUBECONFIG='$SA_KUBECONFIG' '$KUBECTL' auth can-i delete pods -A)\" = no ]"

# --- workloads ---------------------------------------------------------------
k create namespace "$NS" >/dev/null
{ e2e_targets_deployment "$NS" orders 3 chan-send targets.leakwatch.dev/rate=4
  echo ---
  e2e_targets_deployment "$NS" catalog 2 burst targets.leakwatch.dev/rate=20
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-port-name
  namespace: $NS
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "pprf"}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: app, image: x, ports: [{name: pprof, containerPort: 6060}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-port-number
  namespace: $NS
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "60x60"}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: app, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: silent
  namespace: $NS
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "6060"}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: app, image: x}]
YAML
} | k apply -f - >/dev/null
check "leaky deployment rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
check "healthy deployment rolls out" k -n "$NS" rollout status deploy/catalog --timeout=120s
"$ROOT/hack/backends.sh" start "$NS" "$STATE/backends" || nok "backends start"

start_controller() { # identity logfile; sets LAST_PID (no subshell: we wait on it)
  e2e_controller "$2" --kubeconfig "$SA_KUBECONFIG" --namespaces "$NS" \
    --interval 3s --finding-min-span 20s --lease-namespace leakwatch-system --lease-name leakwatch-e2e \
    --identity "$1" --lease-duration 6s --renew-deadline 4s --retry-period 1s \
    --evidence-dir "$STATE/evidence-$1"
  LAST_PID=$CTL
}
holder() { k -n leakwatch-system get lease leakwatch-e2e -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
events_for() { # pod reason -> "count..." lines
  k -n "$NS" get events --field-selector "involvedObject.name=$1,reason=$2" \
    -o 'jsonpath={range .items[*]}{.count}{"\n"}{end}' 2>/dev/null
}

start_controller ctl-a "$STATE/a.log"; PID_A=$LAST_PID
sleep 2
start_controller ctl-b "$STATE/b.log"; PID_B=$LAST_PID
check "one of two replicas leads" wait_until 20 bash -c "h=\$('$KUBECTL' -n leakwatch-system get lease leakwatch-e2e -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null); [ \"\$h\" = ctl-a ] || [ \"\$h\" = ctl-b ]"
LEADER=$(holder)

leaky_pods=$(k -n "$NS" get pods -l app=orders -o 'jsonpath={.items[*].metadata.name}')
all_reported() {
  for p in $leaky_pods; do [ -n "$(events_for "$p" GoroutineLeak)" ] || return 1; done
}
check "every leaking pod gets a GoroutineLeak Event" wait_until 240 all_reported
for p in $leaky_pods; do
  msg=$(k -n "$NS" get events --field-selector "involvedObject.name=$p,reason=GoroutineLeak" -o 'jsonpath={.items[0].message}')
  check "$p: pattern chan-send in the Event" grep -q "pattern chan-send" <<<"$msg"
  check "$p: the leaking stack main.(*fetcher).gather.func1 in the Event" grep -qF "main.(*fetcher).gather.func1" <<<"$msg"
  # The revision comes from the ReplicaSet, the image from the pod's spec as
  # the controller's slimmed cache keeps it.
  check "$p: the Event names the revision and image the pod runs" grep -qE "in revision 1 \(targets:e2e, rolled out [0-9hms]+ ago\)" <<<"$msg"
  check "$p: kubectl describe shows it" bash -c "'$KUBECTL' -n '$NS' describe pod '$p' | grep -q GoroutineLeak"
done
check "the workload has the finding too" bash -c "'$KUBECTL' -n '$NS' describe deployment orders | grep -q GoroutineLeak"
for p in $(k -n "$NS" get pods -l app=catalog -o 'jsonpath={.items[*].metadata.name}'); do
  check "healthy $p has no GoroutineLeak Event" test -z "$(events_for "$p" GoroutineLeak)"
done
check "unknown port name gets an InvalidAnnotation Warning" \
  wait_until 30 bash -c "'$KUBECTL' -n '$NS' get events --field-selector involvedObject.name=bad-port-name,reason=InvalidAnnotation -o jsonpath='{.items[0].message}' | grep -q pprf"
check "non-numeric port gets an InvalidAnnotation Warning" \
  wait_until 30 bash -c "'$KUBECTL' -n '$NS' get events --field-selector involvedObject.name=bad-port-number,reason=InvalidAnnotation -o jsonpath='{.items[0].message}' | grep -q 60x60"
lw_events() { # pod -> reasons of Events leakwatch wrote about it
  k -n "$NS" get events --field-selector "involvedObject.name=$1" \
    -o 'jsonpath={range .items[?(@.source.component=="leakwatch")]}{.reason}{"\n"}{end}'
}
check "a pod that serves nothing gets no Event" test -z "$(lw_events silent)"

# --- failover and restarts ---------------------------------------------------
if [ "$LEADER" = ctl-a ]; then LPID=$PID_A; STANDBY=ctl-b; else LPID=$PID_B; STANDBY=ctl-a; fi
kill -KILL "$LPID"
t0=$SECONDS
check "standby takes over within the lease duration (+ retry)" \
  wait_until 12 bash -c "[ \"\$('$KUBECTL' -n leakwatch-system get lease leakwatch-e2e -o 'jsonpath={.spec.holderIdentity}')\" = $STANDBY ]"
echo "takeover after $((SECONDS - t0)) s"
# The new leader samples afresh and finds the same leaks; it must adopt the
# existing Events instead of writing them again.
sleep 30
SLOG=$STATE/b.log; [ "$STANDBY" = ctl-a ] && SLOG=$STATE/a.log
# It reads back the findings the old leader left open instead of judging
# those pods again.
check "the new leader adopts the open findings" grep -q '"msg":"finding left open by an earlier leakwatch; adopting it"' "$SLOG"
for p in $leaky_pods; do
  n=$(events_for "$p" GoroutineLeak | wc -l)
  check "$p: still exactly one GoroutineLeak Event after failover (got $n)" test "$n" -eq 1
done
check "silent pod: still no Event storm" test -z "$(lw_events silent)"
# The silent pod refuses every connection, so the capturer backs it off
# (base: the interval).  The new leader asks it again when the back-off
# ends; a try at the next due time instead would often be refused by the
# back-off itself and wait a whole interval more, so that one refused
# connection (a pod not listening yet) cost two intervals.
captures_of() { # result -> the new leader's leakwatch_captures_total for it
  curl -s "http://127.0.0.1:$(e2e_metrics_port "$SLOG")/metrics" |
    awk -v r="result=\"$1\"" 'index($1, "leakwatch_captures_total{") == 1 && index($1, r) { s += $2 } END { print s + 0 }'
}
refused=$(captures_of connect)
skipped=$(captures_of backoff)
check "silent pod: the new leader kept asking it ($refused refused connections)" test "$refused" -ge 3
check "silent pod: asked when its back-off ends, never refused by it (got $skipped)" test "$skipped" -eq 0
check "controller logs did not crash" bash -c "! grep -qiE 'AddressSanitizer|segmentation' '$STATE/a.log' '$STATE/b.log'"

# Graceful stop releases the lease so the next one starts at once.
SPID=$PID_B; [ "$STANDBY" = ctl-a ] && SPID=$PID_A
kill -TERM "$SPID"
check "SIGTERM stops the controller cleanly" wait_until 20 bash -c "! kill -0 $SPID 2>/dev/null"
wait "$SPID"; rc=$?
check "exit status 0 after SIGTERM (got $rc)" test "$rc" -eq 0
check "the lease is released on shutdown" bash -c "[ -z \"\$('$KUBECTL' -n leakwatch-system get lease leakwatch-e2e -o 'jsonpath={.spec.holderIdentity}')\" ]"
finish
