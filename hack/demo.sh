#!/usr/bin/env bash
# demo.sh — `make demo`: from a fresh machine to a goroutine-leak finding in
# `kubectl describe pod`, on a local cluster.
#
#   hack/demo.sh up     deps, cluster, workloads, backends, controller,
#                       wait for the finding, show it
#   hack/demo.sh down   stop the controller and backends, delete the demo
#                       namespace, stop the cluster
#
# Everything it starts lives under ${LEAKWATCH_CACHE:-~/.cache/leakwatch}/demo.
# Not for: production; the controller runs as a local process with the
# cluster's admin kubeconfig.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}
STATE=$CACHE/demo
NS=leakwatch-demo
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

  say "applying demo workloads: orders (leaks, 3 replicas), catalog (healthy, 2 replicas)"
  "$KUBECTL" apply -f "$ROOT/hack/demo/workloads.yaml" >&2
  "$KUBECTL" -n "$NS" rollout status deploy/orders --timeout=120s >&2
  "$KUBECTL" -n "$NS" rollout status deploy/catalog --timeout=120s >&2

  say "starting a real Go process behind every pod (tests/targets)"
  "$ROOT/hack/backends.sh" start "$NS" "$STATE/backends"

  say "starting the controller (interval $INTERVAL; log: $STATE/controller.log)"
  "$ROOT/build/leakwatch" controller --kubeconfig "$KUBECONFIG" \
    --namespaces "$NS" --interval "$INTERVAL" --lease-namespace "$NS" \
    --evidence-dir "$STATE/evidence" --metrics-addr 127.0.0.1:18080 \
    --log-format text >"$STATE/controller.log" 2>&1 &
  echo $! >"$STATE/controller.pid"

  say "waiting for the GoroutineLeak finding"
  local pod="" deadline=$((SECONDS + 300))
  while [ $SECONDS -lt $deadline ]; do
    pod=$("$KUBECTL" -n "$NS" get events --field-selector reason=GoroutineLeak,involvedObject.kind=Pod \
      -o 'jsonpath={.items[0].involvedObject.name}' 2>/dev/null || true)
    [ -n "$pod" ] && break
    kill -0 "$(cat "$STATE/controller.pid")" 2>/dev/null || {
      tail -n 20 "$STATE/controller.log" >&2; echo "demo: the controller exited" >&2; exit 1; }
    sleep 2
  done
  if [ -z "$pod" ]; then
    tail -n 30 "$STATE/controller.log" >&2
    echo "demo: no finding within 5 minutes (controller log above)" >&2
    exit 1
  fi
  say "kubectl describe pod $pod -n $NS"
  "$KUBECTL" describe pod "$pod" -n "$NS"
  cat <<MSG

Look further:
  export KUBECONFIG=$KUBECONFIG
  $KUBECTL -n $NS get events --field-selector reason=GoroutineLeak
  $KUBECTL -n $NS describe deployment orders      # the finding on the workload
  $ROOT/build/leakwatch scan -n $NS                # what leakwatch watches
  curl -s 127.0.0.1:18080/metrics | grep leakwatch_    # controller metrics
  ls $STATE/evidence                               # profiles for go tool pprof -diff_base
  tail -f $STATE/controller.log

The healthy catalog pods have no GoroutineLeak event.  Stop everything with:
  make demo-down
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
