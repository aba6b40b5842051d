#!/usr/bin/env bash
# cluster_smoke.sh — smoke test of the local control plane that
# hack/cluster.sh provides to the other e2e tests: it brings the cluster up
# (or reuses it), then checks the Kubernetes version, that a Deployment's pods
# get scheduled, Running and a pod IP, that RBAC is enforced, that kwok's
# PortForward CRD exists and forwards to a real process on 127.0.0.1, and that
# the disruption controller fills in PodDisruptionBudget status.
#
# Everything it creates lives in a throw-away namespace that is deleted at the
# end; the cluster itself is left running for the next test.
# The last line of output is "N passed, N failed, N skipped"; the exit status is non-zero
# if anything failed.
#
# Not for: testing leakwatch itself (see the other tests under tests/e2e).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/e2e/lib.sh"
NS="leakwatch-smoke-$$"
APP="smoke"
TIMEOUT=90

SERVER_PID=""
PF_PID=""

info() { echo "       $*"; }

stop_forward() {
  [ -z "$PF_PID" ] || kill "$PF_PID" 2>/dev/null || true
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
}

# poll <seconds> <command...>: retries the command every half second.

# ------------------------------------------------------------------ cluster

E2E_K_ARGS=(--request-timeout=20s)
e2e_start "$NS"
e2e_on_exit stop_forward
ok "hack/cluster.sh up ($KUBECONFIG)"

# ------------------------------------------------------------------ version

ver="$(k version -o yaml 2>&1 || true)"
server_ver="$(printf '%s\n' "$ver" | awk '/^serverVersion:/ { s = 1 } s && $1 == "gitVersion:" { print $2; exit }')"
client_ver="$(printf '%s\n' "$ver" | awk '/^clientVersion:/ { s = 1 } s && $1 == "gitVersion:" { print $2; exit }')"
if [[ "$server_ver" == v1.36.* && "$client_ver" == v1.36.* ]]; then
  ok "kubectl version: client $client_ver, server $server_ver"
else
  nok "kubectl version shows v1.36 (client '$client_ver', server '$server_ver')"
  printf '%s\n' "$ver" | sed 's/^/       /'
fi

# ------------------------------------------------------------ deployment

k create namespace "$NS" >/dev/null || nok "create namespace $NS"
poll 30 k -n "$NS" get serviceaccount default ||
  info "no default ServiceAccount in $NS yet"

e2e_pause_deployment "$APP" "$APP" 2 8080 >"$TMP/deploy.yaml"
if k -n "$NS" apply -f "$TMP/deploy.yaml" >/dev/null; then
  ok "create Deployment with 2 replicas"
else
  nok "create Deployment with 2 replicas"
fi

pods_running() {
  local lines
  lines="$(k -n "$NS" get pods -l "app=$APP" \
           -o 'jsonpath={range .items[*]}{.status.phase} {.status.podIP}{"\n"}{end}')"
  [ "$(printf '%s\n' "$lines" | grep -c '^Running [0-9]')" -eq 2 ] &&
    [ "$(printf '%s\n' "$lines" | grep -c .)" -eq 2 ]
}
if poll "$TIMEOUT" pods_running; then
  ok "2 pods Running with a pod IP"
else
  nok "2 pods Running with a pod IP within ${TIMEOUT}s"
fi
{ k -n "$NS" get pods -l "app=$APP" -o wide 2>&1 || true; } | sed 's/^/       /'
POD="$(k -n "$NS" get pods -l "app=$APP" -o 'jsonpath={.items[0].metadata.name}' 2>/dev/null || true)"
POD_IP="$(k -n "$NS" get pods -l "app=$APP" -o 'jsonpath={.items[0].status.podIP}' 2>/dev/null || true)"
case "$POD_IP" in
  127.*) info "pod IPs are loopback addresses (reachable directly on this host)" ;;
  "") ;;
  *) info "pod IPs are not loopback (LEAKWATCH_POD_CIDR=${LEAKWATCH_POD_CIDR:-})" ;;
esac

if k wait -n "$NS" deployment/"$APP" --for=condition=Available --timeout="${TIMEOUT}s" >/dev/null 2>&1; then
  ok "Deployment becomes Available"
else
  nok "Deployment becomes Available"
fi

# ----------------------------------------------------------------- RBAC

sa="system:serviceaccount:$NS:default"
answer="$(k auth can-i list pods -n "$NS" --as="$sa" 2>/dev/null || true)"
if [ "$answer" = "no" ]; then
  ok "RBAC: $sa may not list pods"
else
  nok "RBAC: can-i list pods as $sa should say 'no', said '$answer'"
fi
if k get pods -n "$NS" --as="$sa" >/dev/null 2>&1; then
  nok "RBAC: listing pods as $sa should be Forbidden"
else
  ok "RBAC: listing pods as $sa is Forbidden"
fi
answer="$(k auth can-i '*' '*' 2>/dev/null || true)"
if [ "$answer" = "yes" ]; then
  ok "RBAC: the kubeconfig user is cluster admin"
else
  nok "RBAC: the kubeconfig user should be cluster admin, can-i said '$answer'"
fi

# ----------------------------------------------------------- kwok CRDs

if k get crd portforwards.kwok.x-k8s.io >/dev/null 2>&1; then
  ok "kwok PortForward CRD exists"
else
  nok "kwok PortForward CRD exists"
fi

# A kwok PortForward named like the pod sends `kubectl port-forward` traffic
# for that pod to a real process on 127.0.0.1.
if ! command -v python3 >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  info "skipping the port-forward round trip (needs python3 and curl)"
elif [ -z "$POD" ]; then
  nok "port-forward round trip: no pod to forward to"
else
  mkdir -p "$TMP/www"
  echo "leakwatch-smoke" >"$TMP/www/index.html"
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  target_port="$(free_port)"
  local_port="$(free_port)"
  (cd "$TMP/www" && exec python3 -m http.server --bind 127.0.0.1 "$target_port" >/dev/null 2>&1) &
  SERVER_PID=$!
  # kubectl port-forward gives up on the first failed dial: wait for the server.
  poll 15 curl -fsS --max-time 1 "http://127.0.0.1:$target_port/index.html" ||
    info "the local http server on 127.0.0.1:$target_port did not come up"
  cat <<EOF | k -n "$NS" apply -f - >/dev/null || true
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: ${POD}
spec:
  forwards:
  - ports: [8080]
    target:
      address: 127.0.0.1
      port: ${target_port}
EOF
  "$KUBECTL" -n "$NS" port-forward --address 127.0.0.1 "pod/$POD" "$local_port:8080" >"$TMP/pf.log" 2>&1 &
  PF_PID=$!
  if poll 30 curl -fsS --max-time 2 "http://127.0.0.1:$local_port/index.html" &&
     [ "$(curl -fsS --max-time 5 "http://127.0.0.1:$local_port/index.html")" = "leakwatch-smoke" ]; then
    ok "kubectl port-forward reaches a real process through a kwok PortForward"
  else
    nok "kubectl port-forward reaches a real process through a kwok PortForward"
    sed 's/^/       /' "$TMP/pf.log"
  fi
  kill "$PF_PID" "$SERVER_PID" 2>/dev/null || true
  PF_PID="" SERVER_PID=""
fi

# ------------------------------------------------------------------- PDB

cat <<EOF | k -n "$NS" apply -f - >/dev/null || true
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ${APP}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: ${APP}}
EOF
pdb_status() {
  [ "$(k -n "$NS" get pdb "$APP" \
       -o 'jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.disruptionsAllowed}')" = "2/2/1" ]
}
if poll "$TIMEOUT" pdb_status; then
  ok "disruption controller sets PDB status (expected 2, healthy 2, allowed 1)"
else
  nok "disruption controller sets PDB status, got '$(k -n "$NS" get pdb "$APP" \
       -o 'jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.disruptionsAllowed}' 2>&1)'"
fi

# ---------------------------------------------------------------- delete

if k -n "$NS" delete deployment "$APP" --wait=true --timeout="${TIMEOUT}s" >/dev/null &&
   poll "$TIMEOUT" bash -c '[ -z "$("$0" -n "$1" get pods,replicasets -l app="$2" -o name 2>/dev/null)" ]' "$KUBECTL" "$NS" "$APP"; then
  ok "delete Deployment; garbage collector removes its ReplicaSet and pods"
else
  nok "delete Deployment; garbage collector removes its ReplicaSet and pods"
  { k -n "$NS" get all 2>&1 || true; } | sed 's/^/       /'
fi

finish
