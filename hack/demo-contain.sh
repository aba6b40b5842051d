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
DEMO=demo-contain
# shellcheck source=hack/demo/lib.sh
. "$ROOT/hack/demo/lib.sh"

# "object<TAB>message" of the LeakContainment Events whose message (pod
# form, or "pod X: " workload form) says evicted.
evictions() {
  "$KUBECTL" -n "$NS" get events --field-selector reason=LeakContainment \
    -o 'jsonpath={range .items[*]}{.involvedObject.kind}{"\t"}{.involvedObject.name}{"\t"}{.message}{"\n"}{end}' 2>/dev/null |
    awk -F'\t' '$1 == "Pod" && index($3, "evicted: ") == 1 { print $2 "\t" $3 }'
}

# The first eviction, for demo_wait.
first_eviction() { evictions | head -1; }

up() {
  demo_prepare
  demo_apply "applying: orders (leaks, 3 replicas, 64Mi limit, opted in, PDB minAvailable 2), catalog (healthy, opted in)" \
    "$ROOT/hack/demo/contain.yaml"
  demo_backends
  demo_start_controller "starting the controller with --containment, budget 1 restart/hour (log: $STATE/controller.log)" 18081 \
    --containment --restart-budget-per-workload 1
  demo_wait "waiting for the finding and the containment restart" first_eviction "no containment restart"
  local line=$DEMO_FOUND
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

demo_main "$@"
