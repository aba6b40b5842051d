#!/usr/bin/env bash
# kube_scan.sh — `leakwatch scan` against the real local control plane: it
# lists exactly the opted-in pods (leakwatch.dev and Grafana annotations,
# including one whose annotations are wrong, shown with the error), resolves
# each endpoint, groups a Deployment's two replicas as each other's peers,
# shows readiness and age; text and --json; -l, -A, an empty namespace,
# usage errors, and a ServiceAccount that may list pods but not read
# ReplicaSets.
#
# Uses its own namespace (deleted at the end) and leaves the cluster up.
# Not for: authentication variants and client failures (kube_auth.sh).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS="lw-kube-scan-$$"
EMPTY_NS="lw-kube-scan-empty-$$"

E2E_K_ARGS=(--request-timeout=30s)
e2e_start "$NS" "$EMPTY_NS"
check "leakwatch is built ($LW_BIN)" test -x "$LW_BIN"

k create namespace "$NS" >/dev/null
k create namespace "$EMPTY_NS" >/dev/null
k -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: plain, labels: {app: plain}}
spec:
  containers: [{name: app, image: example.invalid/app, ports: [{name: pprof, containerPort: 6060}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: opted-out
  annotations: {leakwatch.dev/scrape: "false", profiles.grafana.com/goroutine.scrape: "true"}
spec:
  containers: [{name: app, image: example.invalid/app, ports: [{name: pprof, containerPort: 6060}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  labels: {app: solo}
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/containment: restart}
spec:
  containers:
  - name: app
    image: example.invalid/app
    ports: [{name: http, containerPort: 8080}, {name: pprof, containerPort: 6060}]
---
apiVersion: v1
kind: Pod
metadata:
  name: grafana
  annotations:
    profiles.grafana.com/goroutine.scrape: "true"
    profiles.grafana.com/goroutine.port_name: debug
    profiles.grafana.com/goroutine.path: /custom/goroutine
spec:
  containers: [{name: app, image: example.invalid/app, ports: [{name: debug, containerPort: 7070}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "6060", leakwatch.dev/scheme: ftp}
spec:
  containers: [{name: app, image: example.invalid/app}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: pprof, leakwatch.dev/path: /internal/debug/pprof}
    spec:
      containers:
      - name: app
        image: example.invalid/app
        ports: [{name: pprof, containerPort: 6060}]
EOF

running() { # every pod Running with an IP and Ready
  local n
  n="$(k -n "$NS" get pods -o jsonpath='{range .items[*]}{.status.phase}/{.status.podIP}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
       grep -c '^Running/[0-9].*/True$')"
  [ "$n" -eq 7 ]
}
check "the 7 pods are Running and Ready" poll 90 running

out="$(lw scan -n "$NS" --json 2>"$TMP/err")"; rc=$?
printf '%s\n' "$out" > "$TMP/scan.json"
check "scan --json exits 0" test "$rc" -eq 0
check "scan --json writes nothing to stderr" test ! -s "$TMP/err"
check "scan --json is a JSON array" quiet jq -e 'type == "array"' "$TMP/scan.json"
names="$(jq -r '[.[].name | sub("^web-.*"; "web-*")] | join(" ")' "$TMP/scan.json")"
check "lists exactly the opted-in pods, sorted (got: $names)" \
  test "$names" = "broken grafana solo web-* web-*"

pod() { jq -e --arg n "$1" ".[] | select(.name == \$n) | $2" "$TMP/scan.json" >/dev/null; }
ip_of() { k -n "$NS" get pod "$1" -o jsonpath='{.status.podIP}'; }
SOLO_IP="$(ip_of solo)"
check "solo: default port is the one named pprof, default path" \
  pod solo '.endpoint.port == 6060 and .endpoint.port_name == "pprof" and .endpoint.path == "/debug/pprof" and .endpoint.scheme == "http"'
check "solo: url uses the pod IP" \
  pod solo ".endpoint.url == \"http://$SOLO_IP:6060/debug/pprof\""
check "solo: containment restart, no workload, no peers" \
  pod solo '.containment == "restart" and .workload == null and .peers == [] and .error == null'
check "solo: ready, Running, on the kwok node, with an age" \
  pod solo '.ready == true and .phase == "Running" and .node == "kwok-node-0" and .age_seconds >= 0 and .containers_ready == "1/1"'
check "grafana: Grafana annotations resolved (port_name, profile path)" \
  pod grafana '.source == "profiles.grafana.com" and .endpoint.port == 7070 and .endpoint.path == "/custom" and .endpoint.goroutine_path == "/custom/goroutine"'
check "broken: listed with the annotation error and no endpoint" \
  pod broken '.endpoint == null and .error == "leakwatch.dev/scheme: \"ftp\" is not http or https"'

read -r -a web <<<"$(k -n "$NS" get pods -l app=web -o jsonpath='{.items[*].metadata.name}')"
check "the Deployment has 2 pods" test "${#web[@]}" -eq 2
check "web pod 1: workload Deployment/web, peer is web pod 2" \
  pod "${web[0]}" ".workload == {\"kind\": \"Deployment\", \"name\": \"web\"} and .peers == [\"${web[1]}\"]"
check "web pod 2: peer is web pod 1" pod "${web[1]}" ".peers == [\"${web[0]}\"]"
check "web pods: named port and annotated path" \
  pod "${web[0]}" '.endpoint.port == 6060 and .endpoint.path == "/internal/debug/pprof" and .endpoint.goroutine_path == "/internal/debug/pprof/goroutine"'

# Text: a kubectl-like table with the same rows.
lw scan -n "$NS" > "$TMP/scan.txt" 2>&1; rc=$?
check "scan (text) exits 0" test "$rc" -eq 0
check "text: header" grep -qE '^NAME +READY +STATUS +AGE +WORKLOAD +PEERS +ENDPOINT$' "$TMP/scan.txt"
check "text: 5 rows" test "$(($(wc -l < "$TMP/scan.txt") - 1))" -eq 5
check "text: solo row" grep -qE "^solo +1/1 +Running +[0-9]+[smhd].* +<none> +<none> +http://$SOLO_IP:6060/debug/pprof$" "$TMP/scan.txt"
check "text: web rows show the workload and the peer" \
  grep -qE "^${web[0]} +1/1 +Running +.* +Deployment/web +${web[1]} +http://" "$TMP/scan.txt"
check "text: broken row shows the error" \
  grep -qF 'error: leakwatch.dev/scheme: "ftp" is not http or https' "$TMP/scan.txt"
check "text: plain and opted-out pods are absent" \
  bash -c "! grep -qE '^(plain|opted-out) ' '$TMP/scan.txt'"

# Selector, all namespaces, the context's namespace, empty namespace.
out="$(lw scan -n "$NS" -l app=web --json | jq -r '[.[].name] | length')"
check "-l app=web: the 2 web pods only (got $out)" test "$out" = 2
out="$(lw scan -n "$NS" -l 'app in (solo,web)' --json | jq -r '[.[].name] | length')"
check "-l with a set-based selector (got $out)" test "$out" = 3
lw scan -A > "$TMP/all.txt" 2>&1
check "-A: NAMESPACE column and our pods" \
  grep -qE "^$NS +solo +1/1 " "$TMP/all.txt"
check "-A --json includes our namespace's 5" \
  test "$(lw scan -A --json | jq --arg ns "$NS" '[.[] | select(.namespace == $ns)] | length')" = 5
out="$(lw scan -n "$EMPTY_NS" 2>&1)"; rc=$?
check "empty namespace: exit 0 and says so" \
  test "$rc" -eq 0 -a "$out" = "No annotated pods found in namespace $EMPTY_NS."
check "empty namespace --json: []" test "$(lw scan -n "$EMPTY_NS" --json | jq -c .)" = "[]"
k config view --raw --minify > "$TMP/ctx.kc"
k --kubeconfig "$TMP/ctx.kc" config set-context --current --namespace="$NS" >/dev/null
check "without -n: the context's namespace" \
  test "$(lw scan --kubeconfig "$TMP/ctx.kc" --json | jq length)" = 5

# Usage errors: exit 1.
for args in "-n a -A" "--bogus" "-n" "--namespace=" "--context"; do
  # shellcheck disable=SC2086
  lw scan $args >/dev/null 2>&1; rc=$?
  check "usage error for 'scan $args' exits 1" test "$rc" -eq 1
done
check "scan --help exits 0 and documents -l" bash -c "'$LW_BIN' scan --help | grep -q -- '--selector'"

# A ServiceAccount that may list pods but not read ReplicaSets: scan still
# works, warns once, and groups the Deployment's pods by their ReplicaSet.
k -n "$NS" create serviceaccount lister >/dev/null
k -n "$NS" create role pod-lister --verb=list --resource=pods >/dev/null
k -n "$NS" create rolebinding lister --role=pod-lister --serviceaccount="$NS:lister" >/dev/null
SERVER="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$TMP/ca.crt"
cat > "$TMP/lister.kc" <<EOF
apiVersion: v1
kind: Config
current-context: lister
clusters: [{name: c, cluster: {server: "$SERVER", certificate-authority: "$TMP/ca.crt"}}]
users: [{name: lister, user: {token: "$(k -n "$NS" create token lister)"}}]
contexts: [{name: lister, context: {cluster: c, user: lister, namespace: "$NS"}}]
EOF
lw scan --kubeconfig "$TMP/lister.kc" --json > "$TMP/lister.json" 2> "$TMP/lister.err"; rc=$?
check "no ReplicaSet access: exit 0" test "$rc" -eq 0
check "no ReplicaSet access: one warning naming the ReplicaSet and the 403" \
  bash -c "test \$(wc -l < '$TMP/lister.err') -eq 1 && grep -q 'warning: cannot read ReplicaSet $NS/web-.*is forbidden' '$TMP/lister.err'"
check "no ReplicaSet access: pods grouped by ReplicaSet, still peers" \
  quiet jq -e --arg p "${web[1]}" '[.[] | select(.name | startswith("web-"))][0] | .workload.kind == "ReplicaSet" and .peers == [$p]' "$TMP/lister.json"

finish
