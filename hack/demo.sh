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
DEMO=demo
# shellcheck source=hack/demo/lib.sh
. "$ROOT/hack/demo/lib.sh"

# The first pod with a GoroutineLeak Event, if any.
leak_pod() {
  "$KUBECTL" -n "$NS" get events --field-selector reason=GoroutineLeak,involvedObject.kind=Pod \
    -o 'jsonpath={.items[0].involvedObject.name}' 2>/dev/null || true
}

# A workload's GoroutineLeak message, if any.
workload_leak() { # deployment
  "$KUBECTL" -n "$NS" get events --field-selector "reason=GoroutineLeak,involvedObject.kind=Deployment,involvedObject.name=$1" \
    -o 'jsonpath={.items[0].message}' 2>/dev/null || true
}

up() {
  demo_prepare
  demo_apply "applying demo workloads: orders (leaks, 3 replicas), results (leaks, serves only pprof, 2 replicas), usage (one tenant leaks), catalog (healthy, 2 replicas)" \
    "$ROOT/hack/demo/workloads.yaml"
  demo_backends
  demo_start_controller "starting the controller (interval $INTERVAL; log: $STATE/controller.log)" 18080
  demo_wait "waiting for the GoroutineLeak finding (a finding needs two minutes of captures)" leak_pod "no finding"
  local pod=$DEMO_FOUND
  say "kubectl describe pod $pod -n $NS"
  "$KUBECTL" describe pod "$pod" -n "$NS"
  demo_wait "waiting for the finding on results, which serves only net/http/pprof" \
    "workload_leak results" "no finding on the pprof-only workload"
  say "kubectl describe deployment results -n $NS"
  "$KUBECTL" describe deployment results -n "$NS" | sed -n '/^Events:/,$p'
  demo_wait "waiting for the finding on usage, whose leaking goroutines are labelled by tenant" \
    "workload_leak usage" "no finding on the labelled workload"
  say "kubectl describe deployment usage -n $NS"
  "$KUBECTL" describe deployment usage -n "$NS" | sed -n '/^Events:/,$p'
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

demo_main "$@"
