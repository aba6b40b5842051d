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
#   LEAKWATCH_POD_CIDR  pod IP range of the fake node (default: 127.1.0.0/16);
#                       a loopback range lets a test run the real process for
#                       a "pod" on 127.1.x.y:<port> and reach it by pod IP
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
POD_CIDR="${LEAKWATCH_POD_CIDR:-127.1.0.0/16}"
NODE_NAME="kwok-node-0"

# kwokctl keeps its own state (pki, etcd data, pids, logs) under
# $KWOK_WORKDIR/clusters/<name>; ours (kubeconfig, rendered config) is next to it.
export KWOK_WORKDIR="$CACHE/kwok"
KWOK_DIR="$KWOK_WORKDIR/clusters/$NAME"
STATE_DIR="$CACHE/clusters/$NAME"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"
CONFIG_PATH="$STATE_DIR/kwokctl.yaml"

log() { echo "cluster.sh: $*" >&2; }
die() { echo "cluster.sh: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[[ "$NAME" =~ ^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$ ]] ||
  die "LEAKWATCH_CLUSTER='$NAME' is not a valid name (lowercase letters, digits, '-')"
[[ "$POD_CIDR" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] ||
  die "LEAKWATCH_POD_CIDR='$POD_CIDR' is not an IPv4 CIDR"

# ------------------------------------------------------------------- helpers

tool() { "$ROOT/hack/tools.sh" path "$1"; }

# Resolves binary paths, building whatever is missing (progress on stderr).
load_tools() {
  local c
  for c in k8s etcd kwok; do "$ROOT/hack/tools.sh" "$c"; done
  KUBECTL="$(tool kubectl)"
  KWOKCTL="$(tool kwokctl)"
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
       ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$comp"; then
      rm -f "$f"
    fi
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
  kubeApiserverBinary: $(tool kube-apiserver)
  kubeControllerManagerBinary: $(tool kube-controller-manager)
  kubeSchedulerBinary: $(tool kube-scheduler)
  kubectlBinary: $(tool kubectl)
  etcdBinary: $(tool etcd)
  kwokControllerBinary: $(tool kwok)
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: controllers
    value: "*"${apiserver_extra}
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: ${POD_CIDR}
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

kwokctl() { "$KWOKCTL" --name "$NAME" "$@"; }

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
      kwokctl delete cluster --kubeconfig "" >&2 || kill_components
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
  if ! kwokctl --config "$CONFIG_PATH" create cluster --kubeconfig "" --timeout 5m >&2; then
    log "kwokctl create failed; logs are in $KWOK_DIR/logs"
    return 1
  fi
}

start_cluster() {
  clean_stale_pids
  log "cluster '$NAME' exists but does not answer; starting its components"
  kwokctl start cluster --timeout 3m >&2
}

finish_up() {
  write_kubeconfig || die "cannot write $KUBECONFIG_PATH"
  wait_for 120 "apiserver" apiserver_ready ||
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
    if apiserver_ready && node_ready && default_sa_exists; then
      rm -f "$want"
      echo "export KUBECONFIG=$KUBECONFIG_PATH"
      return 0
    fi
    if ! apiserver_ready; then
      if ! start_cluster || ! write_kubeconfig || ! wait_for 90 "apiserver" apiserver_ready; then
        log "restart failed; deleting and recreating cluster '$NAME'"
        delete_cluster
      fi
    fi
  fi

  if ! cluster_exists; then
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
    local d="$CACHE/bin/kwok-$("$ROOT/hack/tools.sh" versions | awk '$1 == "kwok" { print $2 }')"
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
    if node_ready && default_sa_exists; then
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
