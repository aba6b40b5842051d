#!/usr/bin/env bash
# contain.sh — containment end to end on the local cluster, with the
# controller running as a local process under exactly the manifests' RBAC
# (impersonating the leakwatch ServiceAccount) and real leaking Go
# processes behind the kwok pods (hack/backends.sh):
#   - dry-run evicts nothing and says what it would have done;
#   - a leaky Deployment (3 replicas, PDB minAvailable 2, opted in) is
#     evicted one pod at a time, and a watcher polling every 0.5 s sees the
#     budget never violated (>= 2 Ready) and never two pods going at once;
#   - a budget of 1/h stops after one restart and says so; a controller
#     killed while that restart is still in progress (the evicted pod held
#     Terminating by a finalizer) and started again neither restarts
#     another pod nor exceeds the budget: it reads both from the cluster;
#   - the steady Deployment, a bare pod and a mild leak are never touched
#     (the bare pod and the mild leak are told why);
#   - the API server's own refusals, driven through tests/e2e/contain_drive:
#     a disruption budget's 429 defers, several budgets' 500 stop, and
#     rollout mode patches restartedAt.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
NS=lw-e2e-contain
DRIVE=${LW_BUILD:-$ROOT/build}/e2e/contain_drive
HOLD=e2e.leakwatch.dev/hold
LEASE=lw-e2e-contain

# Held pods would keep the namespace from ever going away.
release_held() {
  [ -n "$KUBECTL" ] || return 0
  local p
  for p in $("$KUBECTL" -n "$NS" get pods -o name 2>/dev/null); do
    "$KUBECTL" -n "$NS" patch "$p" --type=json \
      -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
  done
  "$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1 || true
}
e2e_scratch "$NS"
STATE=$TMP
E2E_STOP_SIGNAL=KILL
e2e_on_exit '"$ROOT/hack/backends.sh" stop "$STATE/backends" >/dev/null 2>&1'
e2e_on_exit release_held
trap 'exit 130' INT TERM

e2e_cluster_up
E2E_K_ARGS=(-n "$NS")

# The controller runs under exactly the manifests' RBAC: a kubeconfig that
# impersonates the leakwatch ServiceAccount (as tests/e2e/controller.sh).
e2e_controller_sa
check "the ServiceAccount may evict pods" \
  test "$(KUBECONFIG=$SA_KUBECONFIG "$KUBECTL" auth can-i create pods --subresource=eviction -n "$NS")" = yes
check "the ServiceAccount may not delete pods (evictions only)" \
  test "$(KUBECONFIG=$SA_KUBECONFIG "$KUBECTL" auth can-i delete pods -n "$NS")" = no

# LeakContainment Events as "object<TAB>kind<TAB>type<TAB>message" lines.
lc_events() {
  k get events --field-selector reason=LeakContainment \
    -o 'jsonpath={range .items[*]}{.involvedObject.name}{"\t"}{.involvedObject.kind}{"\t"}{.type}{"\t"}{.message}{"\n"}{end}' 2>/dev/null
}
# Pod Events whose message starts with $1, as "pod<TAB>message" (one line
# per Event).
pod_events() { lc_events | awk -F'\t' -v p="$1" '$2 == "Pod" && index($4, p) == 1 { print $1 "\t" $4 }'; }
n_pod_events() { pod_events "$1" | wc -l; }
has_event() { [ "$(n_pod_events "$1")" -ge "${2:-1}" ]; }
uids() { k get pods -l "$1" -o 'jsonpath={range .items[*]}{.metadata.uid}{" "}{end}' 2>/dev/null; }
terminating() { k get pods -l app=orders -o 'jsonpath={range .items[*]}{.metadata.deletionTimestamp}{" "}{.metadata.name}{"\n"}{end}' | awk 'NF == 2 { print $2 }'; }

# --- workloads -----------------------------------------------------------------
"$KUBECTL" create namespace "$NS" >/dev/null
# The finalizer on orders stands in for a slow graceful shutdown: an evicted
# pod stays Terminating until this test lets it go.
contained() { # name replicas behavior rate memory [KEY=VALUE...]
  e2e_targets_deployment "$NS" "$1" "$2" "$3" leakwatch.dev/containment=restart \
    targets.leakwatch.dev/rate="$4" targets.leakwatch.dev/port=6060 memory="$5" "${@:6}"
  echo ---
}
{ contained orders 3 chan-send 4 64Mi finalizer="$HOLD"
  contained catalog 2 steady-pool 20 64Mi
  contained ledger 1 chan-send 2 64Gi
  cat <<YAML
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: orders, namespace: $NS}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: orders}}
---
apiVersion: v1
kind: Pod
metadata:
  name: loner
  namespace: $NS
  labels: {app: loner, targets.leakwatch.dev/behavior: chan-send}
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/containment: "restart", targets.leakwatch.dev/rate: "4", targets.leakwatch.dev/port: "6060"}
spec:
  nodeSelector: {type: kwok}
  containers:
    - name: app
      image: leakwatch.dev/targets:e2e
      ports: [{name: pprof, containerPort: 6060}]
      resources: {limits: {memory: 64Mi}}
YAML
} | "$KUBECTL" apply -f - >/dev/null
for d in orders catalog ledger; do
  check "$d rolls out" k rollout status "deploy/$d" --timeout=120s
done
check "bare pod runs" wait_until 60 bash -c "[ \"\$('$KUBECTL' -n $NS get pod loner -o jsonpath='{.status.phase}')\" = Running ]"
"$ROOT/hack/backends.sh" start "$NS" "$STATE/backends" || nok "backends start"
CATALOG_UIDS=$(uids app=catalog)
LONER_UID=$(uids app=loner)
LEDGER_UIDS=$(uids app=ledger)

# --- the PDB watcher and the "slow kubelet" -----------------------------------
# Every 0.5 s: Ready orders pods that are not terminating (must stay >= 2)
# and terminating ones (must stay <= 1).
(
  while :; do
    # "name deletionTimestamp|ReadyStatus", the timestamp empty when live.
    # A failed request is no sample.
    if out=$(k get pods -l app=orders -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null) &&
       [ -n "$out" ]; then
      awk -v t="$(date +%s.%N)" '{ split($0, a, "|"); if (split(a[1], f, " ") >= 2) term++; else if (a[2] == "True") ready++ }
           END { printf "%s ready=%d terminating=%d\n", t, ready, term }' <<<"$out" >>"$STATE/watch.log"
    fi
    sleep 0.5
  done
) &
E2E_PIDS+=($!)
disown $!
# Evicted pods stay Terminating while $STATE/hold exists, else ~3 s.
touch "$STATE/hold"
(
  declare -A seen
  while :; do
    now=$SECONDS
    for p in $(terminating); do
      [ -n "${seen[$p]:-}" ] || seen[$p]=$now
      if [ ! -e "$STATE/hold" ] && [ $((now - seen[$p])) -ge 3 ]; then
        k patch pod "$p" --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
      fi
    done
    sleep 0.5
  done
) &
E2E_PIDS+=($!)
disown $!

start_ctl() { # name, extra flags...; sets PID (not in a subshell: cleanup needs E2E_PIDS)
  local name=$1; shift
  e2e_controller "$STATE/$name.log" --kubeconfig "$SA_KUBECONFIG" --namespaces "$NS" \
    --interval 3s --finding-min-span 10s --containment --lease-namespace leakwatch-system --lease-name "$LEASE" \
    --lease-duration 6s --renew-deadline 4s --retry-period 1s --identity "$name" \
    --evidence-dir "$STATE/evidence" "$@"
  PID=$CTL
}
stop_ctl() { # pid -> its exit status (SIGKILL after 20 s: a hang fails)
  kill -TERM "$1" 2>/dev/null
  ( sleep 20; kill -KILL "$1" 2>/dev/null ) &
  local guard=$! rc
  wait "$1"; rc=$?
  kill "$guard" 2>/dev/null; wait "$guard" 2>/dev/null
  return "$rc"
}
phase() { echo "  [${SECONDS}s] $*"; }
logged() { grep -q "$2" "$STATE/$1.log" 2>/dev/null; }
metrics_of() { # name -> /metrics text
  curl -s "http://127.0.0.1:$(e2e_metrics_port "$STATE/$1.log")/metrics"
}

# --- 1. dry-run --------------------------------------------------------------------
phase "dry-run"
start_ctl dry --dry-run
check "dry-run: says it would evict an orders pod" wait_until 150 has_event "dry-run: would evict: "
msg=$(pod_events "dry-run: would evict: " | head -1 | cut -f2)
echo "  $msg"
check "dry-run: the message has the projection to the 64Mi limit" \
  grep -q "projected to reach its 64Mi memory limit in .* under the 6h horizon" <<<"$msg"
ev=$(grep -o "evidence: [^,;]*" <<<"$msg" | head -1 | cut -d' ' -f2)
check "dry-run: the evidence it names exists ($ev)" test -s "$ev"
check "dry-run: the bare pod is told it has no controller owner" \
  wait_until 60 bash -c "'$KUBECTL' -n $NS get events --field-selector involvedObject.name=loner,reason=LeakContainment -o jsonpath='{.items[*].message}' | grep -q 'not restarting (no controller owner)'"
check "dry-run: the mild leak is told it is mild" wait_until 60 has_event "dry-run: not restarting (mild leak): "
check "dry-run: nothing was evicted" test "$(n_pod_events "evicted: ")" -eq 0
check "dry-run: no orders pod is terminating" test -z "$(terminating)"
stop_ctl "$PID"; rc=$?
check "dry-run controller stops cleanly (exit $rc)" test "$rc" -eq 0

# --- 2. budget 1/h, and a controller killed mid-restart --------------------------
phase "budget 1/h"
start_ctl b1 --restart-budget-per-workload 1
check "budget 1: an orders pod is evicted" wait_until 150 has_event "evicted: "
A=$(pod_events "evicted: " | head -1 | cut -f1)
msg=$(pod_events "evicted: " | head -1 | cut -f2)
echo "  $A: $msg"
check "budget 1: the Event names the evidence and the count" \
  grep -q "evidence: $STATE/evidence/.*restart 1/1 this hour for deployment/orders" <<<"$msg"
check "budget 1: the workload has the Event too" \
  bash -c "'$KUBECTL' -n $NS describe deployment orders | grep -q 'pod $A: evicted: '"
check "budget 1: $A is terminating (held)" test "$(terminating)" = "$A"
check "budget 1: it says the budget is exhausted" \
  wait_until 60 has_event "budget exhausted: 1/1 restarts this hour for deployment/orders; "
pod_events "budget exhausted: " | head -1 | sed 's/^/  /'
before_budget=$(pod_events "budget exhausted: " | cut -f1 | sort)
kill -KILL "$PID"
wait "$PID" 2>/dev/null
phase "controller killed with $A still terminating; a new one starts"
start_ctl b1again --restart-budget-per-workload 1
check "restarted controller: reads 1/1 from the cluster" \
  wait_until 150 logged b1again '"decision":"budget-workload"'
sleep 6
check "restarted controller: still exactly one eviction" test "$(n_pod_events "evicted: ")" -eq 1
check "restarted controller: still only $A terminating" test "$(terminating)" = "$A"
after_budget=$(pod_events "budget exhausted: " | cut -f1 | sort)
for p in $before_budget; do
  check "restarted controller: $p was not told again" test "$(grep -c "^$p\$" <<<"$after_budget")" -eq 1
done
stop_ctl "$PID"

# --- 3. budget 3/h: waits for the restart in progress, then one at a time -------
phase "budget 3/h"
start_ctl b3 --restart-budget-per-workload 3
check "budget 3: sees the restart in progress ($A terminating) and waits" \
  wait_until 150 logged b3 '"decision":"in-progress"'
check "budget 3: no eviction while $A is terminating" test "$(n_pod_events "evicted: ")" -eq 1
rm -f "$STATE/hold"
check "budget 3: two more evictions, one at a time" wait_until 180 has_event "evicted: " 3
check "budget 3: then the budget is exhausted (3/3)" \
  wait_until 60 has_event "budget exhausted: 3/3 restarts this hour for deployment/orders; "
check "budget 3: replacements come up (3/3 ready)" \
  wait_until 60 bash -c "[ \"\$('$KUBECTL' -n $NS get deploy orders -o jsonpath='{.status.readyReplicas}')\" = 3 ]"
m=$(metrics_of b3)
check "metrics: leakwatch_restarts_total{result=\"evicted\"} 2 in this process" \
  grep -q '^leakwatch_restarts_total{result="evicted"} 2$' <<<"$m"
check "metrics: no restart budget left for deployment/orders" \
  grep -q "^leakwatch_restart_budget_remaining{scope=\"workload\",namespace=\"$NS\",workload=\"deployment/orders\"} 0$" <<<"$m"
stop_ctl "$PID"

# --- what must never happen ------------------------------------------------------
min_ready=$(awk '{ split($2, a, "="); if (min == "" || a[2] < min) min = a[2] } END { print min }' "$STATE/watch.log")
max_term=$(awk '{ split($3, a, "="); if (a[2] > max) max = a[2] } END { print max + 0 }' "$STATE/watch.log")
echo "  watcher: $(wc -l <"$STATE/watch.log") samples, min ready $min_ready, max terminating $max_term"
check "the PDB was never violated (>= 2 Ready orders pods, got $min_ready)" test "${min_ready:-0}" -ge 2
check "never two orders pods going at once (got $max_term)" test "$max_term" -le 1
check "the steady workload was untouched" test "$(uids app=catalog)" = "$CATALOG_UIDS"
check "the steady workload has no LeakContainment Event" \
  test -z "$(lc_events | awk -F'\t' '$1 ~ /^catalog/')"
check "the bare pod was never touched" test "$(uids app=loner)" = "$LONER_UID"
check "the mild leak was never touched" test "$(uids app=ledger)" = "$LEDGER_UIDS"
check "no controller crashed" bash -c "! grep -qiE 'AddressSanitizer|segmentation|runtime error' '$STATE'/*.log"

# --- 4. the API server's own answers, through the driver ------------------------
phase "refusals from the API server"
echo profile >"$STATE/evidence.pb.gz"
drive() { "$DRIVE" --kubeconfig "$SA_KUBECONFIG" --namespace "$NS" --selector app=orders \
  --evidence "$STATE/evidence.pb.gz" --rate 400 --rounds 3 --interval-ms 1500 --budget 10 --metrics "$@" 2>>"$STATE/drive.log"; }
k delete events --field-selector reason=LeakContainment >/dev/null
k patch pdb orders --type merge -p '{"spec":{"minAvailable":3}}' >/dev/null
check "PDB allows no disruption" wait_until 30 bash -c "[ \"\$('$KUBECTL' -n $NS get pdb orders -o jsonpath='{.status.disruptionsAllowed}')\" = 0 ]"
out=$(drive)
check "429: deferred by PodDisruptionBudget" has_event "deferred by PodDisruptionBudget: Cannot evict pod as it would violate the pod's disruption budget"
check "429: counted" grep -q '^leakwatch_restarts_total{result="deferred-pdb"} 1$' <<<"$out"
check "429: nothing terminating" test -z "$(terminating)"
k delete events --field-selector reason=LeakContainment >/dev/null
cat <<YAML | "$KUBECTL" apply -f - >/dev/null
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: orders-second, namespace: $NS}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: orders}}
YAML
sleep 2
out=$(drive)
check "500: several budgets stop containment for the workload" \
  has_event "stopped (several PodDisruptionBudgets): This pod has more than one PodDisruptionBudget"
check "500: one attempt only" grep -q '^leakwatch_restarts_total{result="multiple-pdbs"} 1$' <<<"$out"
k delete pdb orders-second >/dev/null
k delete events --field-selector reason=LeakContainment >/dev/null
out=$(drive --rollout)
check "rollout: the template has kubectl.kubernetes.io/restartedAt" \
  bash -c "'$KUBECTL' -n $NS get deploy orders -o jsonpath='{.spec.template.metadata.annotations}' | grep -q restartedAt"
check "rollout: one rollout restart, said on the workload" \
  bash -c "'$KUBECTL' -n $NS get events --field-selector involvedObject.kind=Deployment,reason=LeakContainment -o jsonpath='{.items[*].message}' | grep -q 'restarted by rollout of deployment/orders'"
check "rollout: counted once" grep -q '^leakwatch_restarts_total{result="rolled-out"} 1$' <<<"$out"
phase "done"
finish
