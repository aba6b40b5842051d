#!/usr/bin/env bash
# cluster.sh — a real, local Kubernetes control plane for leakwatch's e2e tests,
# demo and benches: etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler (Kubernetes v1.36, built by hack/tools.sh) run as plain
# processes on loopback, managed by kwokctl ("binary" runtime), with one fake
# kwok node whose pods become Running and get loopback pod IPs.
#
#   hack/cluster.sh up          start (or recover) the cluster; prints
#                               `export KUBECONFIG=...` on stdout
#   hack/cluster.sh down        stop it and delete all its state
#   hack/cluster.sh status      health report; exit 0 only if it is ready
#   hack/cluster.sh kubeconfig  print the kubeconfig path
#
# Environment:
#   LEAKWATCH_CLUSTER   cluster name (default: leakwatch)
#   LEAKWATCH_CACHE     binaries and cluster state (default: ~/.cache/leakwatch)
#   LEAKWATCH_POD_CIDR  pod IP range of the fake node; a loopback range lets a
#                       test run the real process for a "pod" on its pod IP
#                       (127.x.y.z:<port>) and reach it there.  Default:
#                       127.1.0.0/16 for the default cluster, a name-derived
#                       127.N.0.0/16 for others; an existing cluster keeps its
#                       range unless this is set (then `up` recreates it)
#
# What you get: RBAC authorization and the default admission plugins on; the
# controller-manager runs all default controllers (deployment, replicaset,
# serviceaccount, serviceaccount-token, garbage-collector, namespace,
# disruption, ...); kwok's PortForward/Exec/Logs/Attach CRDs (and their
# Cluster* twins) are installed, so a kwok PortForward can route
# `kubectl port-forward` to a real process on 127.0.0.1; node "kwok-node-0"
# takes every pod.  Every listener is bound to 127.0.0.1.
#
# Caveat of loopback pod IPs: the apiserver refuses loopback addresses in
# EndpointSlices, so a Service selecting such pods gets no endpoints.  Set
# LEAKWATCH_POD_CIDR=10.244.0.0/16 (then `up` recreates the cluster) if a test
# needs Service endpoints more than reachable pod IPs.
#
# Not for: building binaries (hack/tools.sh), running leakwatch itself, or
# anything that needs real containers (there is no kubelet: pods are fake).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}"
NAME="${LEAKWATCH_CLUSTER:-leakwatch}"
NODE_NAME="kwok-node-0"
STARTED=0   # epoch seconds when `up` (re)started components; 0: it did not

# kwokctl keeps its own state (pki, etcd data, pids, logs) under
# $KWOK_WORKDIR/clusters/<name>; ours (kubeconfig, rendered config) is next to it.
export KWOK_WORKDIR="$CACHE/kwok"
KWOK_DIR="$KWOK_WORKDIR/clusters/$NAME"
STATE_DIR="$CACHE/clusters/$NAME"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"
CONFIG_PATH="$STATE_DIR/kwokctl.yaml"

# An existing cluster keeps its pod CIDR; a new one gets 127.1.0.0/16 if it is
# the default cluster, else a /16 in 127.2-251 derived from its name, so that
# processes standing in for pods of concurrent clusters do not collide.
default_pod_cidr() {
  local cidr=""
  [ ! -f "$CONFIG_PATH" ] ||
    cidr="$(sed -n 's/^# Pod CIDR of node [^:]*: \([0-9./]*\)$/\1/p' "$CONFIG_PATH")"
  if [ -n "$cidr" ]; then
    echo "$cidr"
  elif [ "$NAME" = leakwatch ]; then
    echo 127.1.0.0/16
  else
    local n
    n="$(printf '%s' "$NAME" | cksum | cut -d' ' -f1)"
    echo "127.$((2 + n % 250)).0.0/16"
  fi
}
POD_CIDR="${LEAKWATCH_POD_CIDR:-$(default_pod_cidr)}"

# log, die, usage
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "$NAME" =~ ^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$ ]] ||
  die "LEAKWATCH_CLUSTER='$NAME' is not a valid name (lowercase letters, digits, '-')"
[[ "$POD_CIDR" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] ||
  die "LEAKWATCH_POD_CIDR='$POD_CIDR' is not an IPv4 CIDR"

# ------------------------------------------------------------------- helpers

# Resolves binary paths, building whatever is missing (progress on stderr).
load_tools() {
  "$ROOT/hack/tools.sh" k8s etcd kwok
  local p
  p="$("$ROOT/hack/tools.sh" path kube-apiserver kube-controller-manager \
        kube-scheduler kubectl etcd kwok kwokctl)"
  { read -r APISERVER; read -r CONTROLLER_MANAGER; read -r SCHEDULER
    read -r KUBECTL; read -r ETCD; read -r KWOK; read -r KWOKCTL; } <<<"$p"
  [ -x "$KWOKCTL" ] || die "hack/tools.sh did not provide kwokctl"
}

# Only the kubectl path, without building anything (for status/down).
kubectl_if_built() {
  local d
  d="$CACHE/bin/k8s-$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$ROOT/hack/k8s/go.mod")"
  KUBECTL="$d/kubectl"
  [ -x "$KUBECTL" ]
}

kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }

apiserver_ready() {
  [ -s "$KUBECONFIG_PATH" ] && kc get --raw /readyz >/dev/null 2>&1
}

wait_for() { # <seconds> <description> <command...>
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
  log "$what ok"
}

node_ready() {
  [ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

default_sa_exists() { kc -n default get serviceaccount default >/dev/null 2>&1; }

# One round trip: apiserver serving, node Ready, default ServiceAccount there.
quick_ready() {
  local out
  [ -s "$KUBECONFIG_PATH" ] &&
    out="$(kc -n default get "node/$NODE_NAME" serviceaccount/default \
      -o 'jsonpath={range .items[*]}{.kind}={.status.conditions[?(@.type=="Ready")].status};{end}' 2>/dev/null)" &&
    [ "$out" = "Node=True;ServiceAccount=;" ]
}

# lease_fresh <namespace> <name>: the lease was renewed after $STARTED, i.e.
# it is held by a component we (re)started, not by a dead predecessor.
lease_fresh() {
  local t
  t="$(kc -n "$1" get lease "$2" -o 'jsonpath={.spec.renewTime}' 2>/dev/null)" &&
    [ -n "$t" ] && [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -ge "$STARTED" ]
}

controllers_leading() {
  lease_fresh kube-system kube-controller-manager && lease_fresh kube-system kube-scheduler
}

node_lease_fresh() { lease_fresh kube-node-lease "$NODE_NAME"; }

# Removes pid files whose process is gone or is not the component they name
# (after a reboot a pid can be reused by an unrelated process, which kwokctl
# would otherwise mistake for a running component, or kill on `down`).
clean_stale_pids() {
  local f pid comp
  [ -d "$KWOK_DIR/pids" ] || return 0
  for f in "$KWOK_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    comp="$(basename "$f" .pid)"
    pid="$(cat "$f" 2>/dev/null || true)"
    if ! [[ "$pid" =~ ^[0-9]+$ ]] ||
       ! tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$comp"; then
      rm -f "$f"
    fi
  done
}

# Every component kwokctl started is still running.  The apiserver answering
# /readyz is not enough: after an apiserver outage the controller-manager and
# the scheduler exit, and without them Deployments never get pods and
# namespaces never finish deleting.
components_alive() {
  local comp pid
  clean_stale_pids
  for comp in etcd kube-apiserver kube-controller-manager kube-scheduler kwok-controller; do
    pid="$(cat "$KWOK_DIR/pids/$comp.pid" 2>/dev/null)" || return 1
    kill -0 "$pid" 2>/dev/null || return 1
  done
}

# Kills the components listed in kwokctl's pid files (validated first).
kill_components() {
  local f pid
  clean_stale_pids
  [ -d "$KWOK_DIR/pids" ] || return 0
  for f in "$KWOK_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
  done
  sleep 1
  for f in "$KWOK_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

# ------------------------------------------------------------- configuration

# The whole cluster definition.  `up` recreates the cluster when this text
# changes (e.g. new binary versions, another pod CIDR).
render_config() {
  local crds="PortForward,ClusterPortForward,Exec,ClusterExec,Logs,ClusterLogs,Attach,ClusterAttach"
  local apiserver_extra=""
  # kube-apiserver derives its advertise address from the default route; give
  # it a documentation-range address when the machine has none.  Nothing
  # connects to it: everything uses 127.0.0.1.
  if ! ip -4 route show default 2>/dev/null | grep -q .; then
    apiserver_extra="
- name: kube-apiserver
  extraArgs:
  - key: advertise-address
    value: 192.0.2.1"
  fi
  cat <<EOF
# Generated by hack/cluster.sh; do not edit (it is rewritten by 'up').
# Pod CIDR of node ${NODE_NAME} (set on the Node, not here): ${POD_CIDR}
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
  enableCRDs: [${crds//,/, }]
  kubeApiserverBinary: ${APISERVER}
  kubeControllerManagerBinary: ${CONTROLLER_MANAGER}
  kubeSchedulerBinary: ${SCHEDULER}
  kubectlBinary: ${KUBECTL}
  etcdBinary: ${ETCD}
  kwokControllerBinary: ${KWOK}
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: controllers
    value: "*"${apiserver_extra}
EOF
}

node_manifest() {
  cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${NODE_NAME}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${NODE_NAME}
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
spec:
  podCIDR: ${POD_CIDR}
  podCIDRs: [${POD_CIDR}]
status:
  addresses:
  - type: InternalIP
    address: 127.0.0.1
  allocatable: {cpu: "64", memory: 256Gi, pods: "1000"}
  capacity: {cpu: "64", memory: 256Gi, pods: "1000"}
EOF
}

# ---------------------------------------------------------------- lifecycle

# kwokctl forks the long-running components: they must not inherit our lock
# fd, or they would hold the lock for as long as the cluster runs.
kwokctl() {
  if [ -n "${lockfd:-}" ]; then
    "$KWOKCTL" --name "$NAME" "$@" {lockfd}>&-
  else
    "$KWOKCTL" --name "$NAME" "$@"
  fi
}

# kwokctl_logged: kwokctl with its JSON INFO logs shortened to their message,
# everything on stderr.
kwokctl_logged() {
  kwokctl "$@" 2>&1 | sed -u -e '/"level":"INFO"/{s/.*"msg":"\([^"]*\)".*/kwokctl: \1/;b' -e '}' -e 's/^/kwokctl: /' >&2
  return "${PIPESTATUS[0]}"
}

cluster_exists() { [ -f "$KWOK_DIR/kwok.yaml" ]; }

write_kubeconfig() {
  mkdir -p "$STATE_DIR"
  kwokctl get kubeconfig >"$KUBECONFIG_PATH.tmp" 2>/dev/null ||
    { rm -f "$KUBECONFIG_PATH.tmp"; return 1; }
  chmod 600 "$KUBECONFIG_PATH.tmp"
  mv "$KUBECONFIG_PATH.tmp" "$KUBECONFIG_PATH"
}

delete_cluster() {
  if cluster_exists; then
    clean_stale_pids
    if [ -n "${KWOKCTL:-}" ] && [ -x "$KWOKCTL" ]; then
      # kwokctl removes its context from the given kubeconfig and insists on
      # one: hand it a scratch file, never ~/.kube/config.
      mkdir -p "$STATE_DIR"
      : >"$STATE_DIR/scratch-kubeconfig"
      kwokctl_logged delete cluster --kubeconfig "$STATE_DIR/scratch-kubeconfig" ||
        kill_components
    else
      kill_components
    fi
  fi
  rm -rf "$KWOK_DIR" "$STATE_DIR"
}

create_cluster() {
  local cfg="$1"
  mkdir -p "$STATE_DIR"
  cp "$cfg" "$CONFIG_PATH"
  log "creating cluster '$NAME' (kwokctl, binary runtime)"
  # --kubeconfig "": never touch ~/.kube/config; we write our own.
  if ! kwokctl_logged --config "$CONFIG_PATH" create cluster --kubeconfig "" --timeout 5m; then
    log "kwokctl create failed; logs are in $KWOK_DIR/logs"
    return 1
  fi
}

start_cluster() {
  clean_stale_pids
  log "cluster '$NAME' exists but does not answer; starting its components"
  kwokctl_logged start cluster --timeout 3m
}

# release_stale_lease <namespace> <name>: a restarted controller-manager or
# scheduler waits a full lease duration (15s) before it takes over a leader
# lease from its dead predecessor, unless the lease is released (no holder).
# The resourceVersion makes this a no-op if someone took the lease meanwhile.
release_stale_lease() {
  local rv t
  read -r rv t < <(kc -n "$1" get lease "$2" \
    -o 'jsonpath={.metadata.resourceVersion} {.spec.renewTime}{"\n"}' 2>/dev/null) || return 0
  [ -n "${t:-}" ] && [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -lt "$STARTED" ] || return 0
  kc -n "$1" patch lease "$2" --type merge \
    -p "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"holderIdentity\":null}}" \
    >/dev/null 2>&1 || true
}

# kwok-controller takes a new random identity at every start and will not take
# over a node lease that its dead predecessor still holds until that lease
# expires (200s), leaving new pods Pending meanwhile.  After a restart, drop
# the stale node leases and restart kwok-controller so it creates fresh ones.
reclaim_node_leases() {
  apiserver_ready || wait_for 30 "apiserver" apiserver_ready || return 1
  release_stale_lease kube-system kube-controller-manager
  release_stale_lease kube-system kube-scheduler
  if node_lease_fresh; then
    return 0
  fi
  local f="$KWOK_DIR/pids/kwok-controller.pid" pid
  clean_stale_pids
  if [ -f "$f" ]; then
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$f"
  fi
  kc -n kube-node-lease delete lease --all >/dev/null 2>&1 || true
  log "restarting kwok-controller with fresh node leases"
  kwokctl_logged start cluster --timeout 3m
}

finish_up() {
  write_kubeconfig || die "cannot write $KUBECONFIG_PATH"
  apiserver_ready || wait_for 120 "apiserver" apiserver_ready ||
    die "the apiserver does not answer (logs: $KWOK_DIR/logs)"
  if ! kc get node "$NODE_NAME" >/dev/null 2>&1; then
    node_manifest | kc create -f - >/dev/null ||
      die "cannot create node $NODE_NAME"
    log "created node $NODE_NAME (pod CIDR $POD_CIDR)"
  fi
  wait_for 60 "node $NODE_NAME Ready" node_ready ||
    die "node $NODE_NAME is not Ready (kwok-controller log: $KWOK_DIR/logs/kwok-controller.log)"
  wait_for 60 "default ServiceAccount" default_sa_exists ||
    die "no default ServiceAccount (kube-controller-manager log: $KWOK_DIR/logs/kube-controller-manager.log)"
  # After a restart the controller-manager and scheduler wait for their dead
  # predecessors' leader leases to expire (up to 15s); return once they lead.
  wait_for 60 "controller-manager and scheduler leading" controllers_leading ||
    die "kube-controller-manager or kube-scheduler did not become leader (logs: $KWOK_DIR/logs)"
  wait_for 60 "node lease held by kwok-controller" node_lease_fresh ||
    die "kwok-controller does not hold the lease of $NODE_NAME (log: $KWOK_DIR/logs/kwok-controller.log)"
}

cmd_up() {
  local start=$SECONDS
  load_tools
  mkdir -p "$CACHE/clusters"
  exec {lockfd}>"$CACHE/clusters/.$NAME.lock"
  flock "$lockfd"

  local want="$CACHE/clusters/.$NAME.want.yaml"
  render_config >"$want"

  if cluster_exists && ! cmp -s "$want" "$CONFIG_PATH"; then
    log "cluster '$NAME' was made with another configuration (versions or pod CIDR changed); recreating"
    delete_cluster
  fi

  if cluster_exists; then
    [ -s "$KUBECONFIG_PATH" ] || write_kubeconfig || true
    if quick_ready && components_alive; then
      rm -f "$want"
      echo "export KUBECONFIG=$KUBECONFIG_PATH"
      return 0
    fi
    if ! components_alive; then
      log "a component of cluster '$NAME' is not running; restarting them all"
      kill_components
    fi
    if ! apiserver_ready; then
      STARTED="$(($(date +%s) - 1))"
      if ! start_cluster || ! write_kubeconfig || ! wait_for 90 "apiserver" apiserver_ready ||
         ! reclaim_node_leases; then
        log "restart failed; deleting and recreating cluster '$NAME'"
        delete_cluster
      fi
    fi
  fi

  if ! cluster_exists; then
    STARTED="$(($(date +%s) - 1))"
    if ! create_cluster "$want"; then
      delete_cluster
      die "could not create cluster '$NAME'"
    fi
  fi

  rm -f "$want"
  finish_up
  log "cluster '$NAME' is up ($((SECONDS - start))s)"
  echo "export KUBECONFIG=$KUBECONFIG_PATH"
}

cmd_down() {
  KWOKCTL=""
  if "$ROOT/hack/tools.sh" versions >/dev/null 2>&1; then
    local d
    d="$CACHE/bin/kwok-$("$ROOT/hack/tools.sh" versions | awk '$1 == "kwok" { print $2 }')"
    [ -x "$d/kwokctl" ] && KWOKCTL="$d/kwokctl"
  fi
  mkdir -p "$CACHE/clusters"
  exec {lockfd}>"$CACHE/clusters/.$NAME.lock"
  flock "$lockfd"
  if ! cluster_exists && [ ! -d "$STATE_DIR" ]; then
    log "cluster '$NAME' does not exist"
    return 0
  fi
  log "deleting cluster '$NAME'"
  delete_cluster
  log "cluster '$NAME' deleted"
}

cmd_status() {
  echo "cluster:    $NAME"
  echo "kubeconfig: $KUBECONFIG_PATH"
  echo "state:      $KWOK_DIR"
  if ! cluster_exists; then
    echo "status:     absent (run: hack/cluster.sh up)"
    return 1
  fi
  local f pid comp
  clean_stale_pids
  for comp in etcd kube-apiserver kube-controller-manager kube-scheduler kwok-controller; do
    f="$KWOK_DIR/pids/$comp.pid"
    if [ -f "$f" ]; then
      pid="$(cat "$f")"
      printf '  %-24s running (pid %s)\n' "$comp" "$pid"
    else
      printf '  %-24s not running\n' "$comp"
    fi
  done
  if ! kubectl_if_built; then
    echo "status:     kubectl not built (run: hack/cluster.sh up)"
    return 1
  fi
  if apiserver_ready; then
    echo "apiserver:  $(kc config view --minify -o 'jsonpath={.clusters[0].cluster.server}') ready"
    kc get nodes -o wide 2>/dev/null | sed 's/^/  /'
    if ! components_alive; then
      echo "status:     apiserver up, but a component is not running (\`up\` restarts them)"
      return 1
    elif node_ready && default_sa_exists; then
      echo "status:     ready"
      return 0
    fi
    echo "status:     apiserver up, node or default ServiceAccount not ready"
    return 1
  fi
  echo "status:     not answering (run: hack/cluster.sh up; logs: $KWOK_DIR/logs)"
  return 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kubeconfig) echo "$KUBECONFIG_PATH" ;;
  -h|--help|help|"") usage ;;
  *) echo "cluster.sh: unknown command '$1'" >&2; usage ;;
esac
