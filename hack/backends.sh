#!/usr/bin/env bash
# backends.sh — gives every kwok pod that names a test behaviour a real Go
# process behind it, so leakwatch captures real profiles from "pods" that
# kwok only pretends to run.
#
# For each Running pod in NAMESPACE with the label
# targets.leakwatch.dev/behavior=<behaviour> it starts
#   targets -behavior <behaviour> -listen <podIP>:<port> -rate <rate>
# (pod IPs are loopback addresses on the local cluster, so the process
# answers at the pod's own IP: the direct transport works), and creates a
# kwok PortForward named after the pod that routes `pods/portforward` to it
# (the port-forward transport works).  It follows pod churn: a replaced pod
# gets a fresh process, a deleted pod's process is stopped.
#
#   hack/backends.sh start NAMESPACE STATEDIR   reconcile in the background
#   hack/backends.sh once  NAMESPACE STATEDIR   one reconcile pass
#   hack/backends.sh stop  STATEDIR             stop the loop and all processes
#
# Pod knobs: label targets.leakwatch.dev/behavior, annotations
# targets.leakwatch.dev/rate (default 5), targets.leakwatch.dev/port
# (default 6060), targets.leakwatch.dev/args (extra flags, e.g.
# "-metrics=false"), targets.leakwatch.dev/env (NAME=VALUE ..., e.g.
# "GODEBUG=tracebacklabels=1") and targets.leakwatch.dev/binary (targets
# or catalog).
# A failed pod list leaves every backend running.
# Not for: anything outside the local test cluster.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBECTL=${KUBECTL:-$("$ROOT/hack/tools.sh" path kubectl)}

# Two programs: tests/targets (one behaviour per pattern, minimal) and
# tests/targets/catalog (services written the way other teams write them,
# with a realistic background); a pod picks one with
# targets.leakwatch.dev/binary (default: targets).
build_targets() { # statedir
  mkdir -p "$1/bin"
  (cd "$ROOT/tests/targets" && go build -trimpath -o "$1/bin/targets.new" . && mv "$1/bin/targets.new" "$1/bin/targets")
  if [ -f "$ROOT/tests/targets/catalog/go.mod" ]; then
    (cd "$ROOT/tests/targets/catalog" && go build -trimpath -o "$1/bin/catalog.new" . && mv "$1/bin/catalog.new" "$1/bin/catalog")
  fi
}

reconcile() { # namespace statedir
  local ns=$1 st=$2 name ip behavior rate port phase args binary envs pidf listing
  mkdir -p "$st/pods"
  local seen=" "
  # A failed list (apiserver restarting, a timeout) says nothing about which
  # pods exist: keep every backend as it is and try again next pass.
  if ! listing=$("$KUBECTL" get pods -n "$ns" -l targets.leakwatch.dev/behavior \
      --request-timeout=10s -o \
      'jsonpath={range .items[*]}{.metadata.name}{"|"}{.status.podIP}{"|"}{.metadata.labels.targets\.leakwatch\.dev/behavior}{"|"}{.metadata.annotations.targets\.leakwatch\.dev/rate}{"|"}{.metadata.annotations.targets\.leakwatch\.dev/port}{"|"}{.status.phase}{"|"}{.metadata.annotations.targets\.leakwatch\.dev/args}{"|"}{.metadata.annotations.targets\.leakwatch\.dev/binary}{"|"}{.metadata.annotations.targets\.leakwatch\.dev/env}{"\n"}{end}' 2>&1); then
    echo "backends: cannot list pods in $ns (keeping backends): $listing" >&2
    return 1
  fi
  # '|' not a tab: IFS whitespace would merge the empty fields.
  while IFS='|' read -r name ip behavior rate port phase args binary envs; do
    [ -n "$name" ] || continue
    if [ "$phase" != Running ] || [ -z "$ip" ]; then continue; fi
    rate=${rate:-5}; port=${port:-6060}
    seen+="$name "
    pidf="$st/pods/$name.pid"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      continue
    fi
    case "${binary:-targets}" in
      targets|catalog) ;;
      *) echo "backends: $name: unknown targets.leakwatch.dev/binary '$binary'" >&2; continue ;;
    esac
    # The env and args annotations are split on spaces on purpose (e.g.
    # "-metrics=false" for a pod that serves only net/http/pprof).
    # shellcheck disable=SC2086
    env $envs "$st/bin/${binary:-targets}" -behavior "$behavior" -listen "$ip:$port" -rate "$rate" $args \
      >"$st/pods/$name.log" 2>&1 &
    echo $! >"$pidf"
    cat <<YAML | "$KUBECTL" apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: $name
  namespace: $ns
spec:
  forwards:
    - ports: [$port]
      target:
        port: $port
        address: "$ip"
YAML
  done <<<"$listing"
  # Pods that are gone (or no longer running): stop their process.
  for pidf in "$st"/pods/*.pid; do
    [ -f "$pidf" ] || continue
    name=$(basename "$pidf" .pid)
    if [[ "$seen" != *" $name "* ]]; then
      kill "$(cat "$pidf")" 2>/dev/null || true
      rm -f "$pidf"
      "$KUBECTL" delete portforward.kwok.x-k8s.io -n "$ns" "$name" --ignore-not-found >/dev/null 2>&1 || true
    fi
  done
}

stop_all() { # statedir
  local st=$1
  if [ -f "$st/loop.pid" ]; then
    kill "$(cat "$st/loop.pid")" 2>/dev/null || true
    rm -f "$st/loop.pid"
  fi
  for pidf in "$st"/pods/*.pid; do
    [ -f "$pidf" ] || continue
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
  done
}

cmd=${1:-}
case "$cmd" in
  once)
    [ $# -eq 3 ] || { echo "usage: $0 once NAMESPACE STATEDIR" >&2; exit 1; }
    build_targets "$3"; reconcile "$2" "$3" ;;
  start)
    [ $# -eq 3 ] || { echo "usage: $0 start NAMESPACE STATEDIR" >&2; exit 1; }
    ns=$2; st=$3
    mkdir -p "$st"
    stop_all "$st"
    build_targets "$st"
    reconcile "$ns" "$st"
    ( trap 'exit 0' TERM; while :; do reconcile "$ns" "$st" || true; sleep 1; done ) \
      >"$st/loop.log" 2>&1 &
    echo $! >"$st/loop.pid" ;;
  stop)
    [ $# -eq 2 ] || { echo "usage: $0 stop STATEDIR" >&2; exit 1; }
    stop_all "$2" ;;
  *) echo "usage: $0 start|once NAMESPACE STATEDIR | stop STATEDIR" >&2; exit 1 ;;
esac
