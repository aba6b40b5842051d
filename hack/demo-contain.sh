#!/usr/bin/env bash
# demo-contain.sh — `make demo-contain`: the `make demo` story one step
# further.  The leaky workload opts in to containment, so after leakwatch
# finds the leak it restarts one pod (an eviction the PodDisruptionBudget
# allows), says so in a LeakContainment Event, and stops at the demo's
# budget of one restart per hour.
#
#   hack/demo-contain.sh up     deps, cluster, workloads, backends, controller
#                               with --containment, wait for the restart,
#                               show it in kubectl describe
#   hack/demo-contain.sh down   stop the controller and backends, delete the
#                               demo namespace, stop the cluster
#
# Everything it starts lives under ${LEAKWATCH_CACHE:-~/.cache/leakwatch}/demo-contain.
# Not for: production; the controller runs as a local process with the
# cluster's admin kubeconfig.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}
STATE=$CACHE/demo-contain
NS=leakwatch-demo-contain
INTERVAL=${DEMO_INTERVAL:-5s}
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

stop_controller() {
  if [ -f "$STATE/controller.pid" ]; then
    local pid
    pid=$(cat "$STATE/controller.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$STATE/controller.pid"
  fi
}

# "object<TAB>message" of the LeakContainment Events whose message (pod
# form, or "pod X: " workload form) says evicted.
evictions() {
  "$KUBECTL" -n "$NS" get events --field-selector reason=LeakContainment \
    -o 'jsonpath={range .items[*]}{.involvedObject.kind}{"\t"}{.involvedObject.name}{"\t"}{.message}{"\n"}{end}' 2>/dev/null |
    awk -F'\t' '$1 == "Pod" && index($3, "evicted: ") == 1 { print $2 "\t" $3 }'
}

up() {
  "$ROOT/hack/install-deps.sh"
  say "building leakwatch"
  make -C "$ROOT" -s build/leakwatch >&2
  say "starting the local cluster (the first run builds Kubernetes from source)"
  eval "$("$ROOT/hack/cluster.sh" up)"
  KUBECTL=$("$ROOT/hack/tools.sh" path kubectl)
  export KUBECTL KUBECONFIG
  mkdir -p "$STATE"
  stop_controller

  say "applying: orders (leaks, 3 replicas, 64Mi limit, opted in, PDB minAvailable 2), catalog (healthy, opted in)"
  "$KUBECTL" apply -f "$ROOT/hack/demo/contain.yaml" >&2
  "$KUBECTL" -n "$NS" rollout status deploy/orders --timeout=120s >&2
  "$KUBECTL" -n "$NS" rollout status deploy/catalog --timeout=120s >&2

  say "starting a real Go process behind every pod (tests/targets)"
  "$ROOT/hack/backends.sh" start "$NS" "$STATE/backends"

  say "starting the controller with --containment, budget 1 restart/hour (log: $STATE/controller.log)"
  "$ROOT/build/leakwatch" controller --kubeconfig "$KUBECONFIG" \
    --namespaces "$NS" --interval "$INTERVAL" --lease-namespace "$NS" \
    --evidence-dir "$STATE/evidence" --metrics-addr 127.0.0.1:18081 \
    --containment --restart-budget-per-workload 1 \
    --log-format text >"$STATE/controller.log" 2>&1 &
  echo $! >"$STATE/controller.pid"

  say "waiting for the finding and the containment restart"
  local line="" deadline=$((SECONDS + 300))
  while [ $SECONDS -lt $deadline ]; do
    line=$(evictions | head -1)
    [ -n "$line" ] && break
    kill -0 "$(cat "$STATE/controller.pid")" 2>/dev/null || {
      tail -n 20 "$STATE/controller.log" >&2; echo "demo-contain: the controller exited" >&2; exit 1; }
    sleep 2
  done
  if [ -z "$line" ]; then
    tail -n 30 "$STATE/controller.log" >&2
    echo "demo-contain: no containment restart within 5 minutes (controller log above)" >&2
    exit 1
  fi
  local pod=${line%%$'\t'*}
  say "leakwatch evicted $pod; its replacement:"
  "$KUBECTL" -n "$NS" rollout status deploy/orders --timeout=120s >&2
  "$KUBECTL" -n "$NS" get pods -l app=orders >&2
  say "kubectl describe deployment orders -n $NS"
  "$KUBECTL" describe deployment orders -n "$NS"
  cat <<MSG

The LeakContainment Event above names the pod leakwatch evicted, why (how
soon the leak would reach the 64Mi limit), the evidence it kept first, and
the budget it spent.  The other leaking replicas are not restarted: the
demo's budget is one restart per hour, and they are told so.

Look further:
  export KUBECONFIG=$KUBECONFIG
  $KUBECTL -n $NS get events --field-selector reason=LeakContainment
  $KUBECTL -n $NS get pdb orders                   # the budget was respected
  curl -s 127.0.0.1:18081/metrics | grep leakwatch_restart
  ls $STATE/evidence                               # profiles kept before the restart
  tail -f $STATE/controller.log

The healthy catalog pods are opted in too, and untouched.  Stop everything with:
  $0 down
MSG
}

down() {
  stop_controller
  "$ROOT/hack/backends.sh" stop "$STATE/backends" 2>/dev/null || true
  if [ -x "$("$ROOT/hack/tools.sh" path kubectl 2>/dev/null || echo /nonexistent)" ] &&
     "$ROOT/hack/cluster.sh" status >/dev/null 2>&1; then
    KUBECONFIG=$("$ROOT/hack/cluster.sh" kubeconfig) \
      "$("$ROOT/hack/tools.sh" path kubectl)" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  "$ROOT/hack/cluster.sh" down
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 1 ;;
esac
