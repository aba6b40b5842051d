#!/usr/bin/env bash
# record-kube-objects.sh — records the Kubernetes objects the typed object
# layer's unit tests read (tests/fixtures/kube/), as the local control plane
# (hack/cluster.sh) serves them: a Deployment with two replicas, its
# ReplicaSet and pods, a pod whose pprof port is declared only by a native
# sidecar (an init container with restartPolicy: Always) beside a plain init
# container, a bare pod and a StatefulSet's pod.
#
#   hack/record-kube-objects.sh        record into tests/fixtures/kube/
#
# Server-set fields (uids, times, IPs, resourceVersions) are kept as served:
# the tests read the expected values from the files by plain JSON lookups.
# Not for: profiles (hack/record-fixtures.sh) or anything the e2e suites check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/tests/fixtures/kube"
NS="lw-record-objects-$$"

eval "$("$ROOT/hack/cluster.sh" up)"
K="$("$ROOT/hack/tools.sh" path kubectl)"
k() { "$K" --request-timeout=30s "$@"; }
trap 'k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true' EXIT

k create namespace "$NS" >/dev/null
k -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  replicas: 2
  selector:
    matchLabels: {app: orders}
    matchExpressions: [{key: tier, operator: In, values: [api, web]}, {key: canary, operator: DoesNotExist}]
  template:
    metadata:
      labels: {app: orders, tier: api}
      annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: pprof}
    spec:
      containers:
      - name: app
        image: example.invalid/orders
        ports: [{name: http, containerPort: 8080}, {name: pprof, containerPort: 6060}]
---
apiVersion: v1
kind: Pod
metadata:
  name: sidecar
  labels: {app: sidecar}
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: metrics}
spec:
  initContainers:
  - name: setup
    image: example.invalid/setup
    ports: [{name: setup-debug, containerPort: 7070}]
  - name: proxy
    image: example.invalid/proxy
    restartPolicy: Always
    ports: [{name: metrics, containerPort: 9090}, {name: http, containerPort: 9091}]
  containers:
  - name: app
    image: example.invalid/app
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: lone, labels: {app: lone}}
spec:
  containers: [{name: app, image: example.invalid/app, ports: [{name: pprof, containerPort: 6060}]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: example.invalid/db, ports: [{name: pprof, containerPort: 6060}]}]
YAML

ready() { # all five pods Running and Ready
  local n
  n="$(k -n "$NS" get pods -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
       grep -c '^Running/True$' || true)"
  [ "$n" -eq 5 ]
}
deadline=$((SECONDS + 120))
until ready; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "record-kube-objects: pods not ready" >&2; exit 1; }
  sleep 1
done
# The second replica starts a moment after the first would not be a given:
# restart one so the two start times differ by whole seconds.
first="$(k -n "$NS" get pods -l app=orders -o jsonpath='{.items[0].metadata.name}')"
sleep 2
k -n "$NS" delete pod "$first" --wait=true >/dev/null
deadline=$((SECONDS + 120))
until ready; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "record-kube-objects: replacement not ready" >&2; exit 1; }
  sleep 1
done

mkdir -p "$OUT"
# Namespaces differ per run; the files name a fixed one so diffs show content.
fix() { sed "s/$NS/shop/g"; }
k -n "$NS" get deployment orders -o json | fix > "$OUT/deployment-orders.json"
k -n "$NS" get replicasets -l app=orders -o json | fix > "$OUT/replicasets-orders.json"
k -n "$NS" get pods -l app=orders -o json | fix > "$OUT/pods-orders.json"
k -n "$NS" get pod sidecar -o json | fix > "$OUT/pod-sidecar.json"
k -n "$NS" get pod lone -o json | fix > "$OUT/pod-lone.json"
k -n "$NS" get pod db-0 -o json | fix > "$OUT/pod-db-0.json"
k -n "$NS" get statefulset db -o json | fix > "$OUT/statefulset-db.json"
echo "record-kube-objects: wrote $(find "$OUT" -mindepth 1 -maxdepth 1 -printf . | wc -c) files to tests/fixtures/kube/"
