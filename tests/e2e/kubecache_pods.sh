#!/usr/bin/env bash
# kubecache_pods.sh — the pod cache (pkg/kube/kube_cache) against the real
# local control plane: a Deployment's pods appear in the cache and reach
# Running there, a pod outside the label selector never appears, deleting
# the Deployment delivers every pod's deletion, a cache over all namespaces
# with the same selector sees the same pods, the watch reconnects at
# timeoutSeconds without a request storm, and the driver exits cleanly
# (under valgrind when it is installed: no leak, no invalid access).
#
# Uses its own namespace and deletes it; leaves the cluster running.
# Not for: apiserver restarts and expired versions (kubecache_restart.sh).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/e2e/lib.sh"

NS="lw-kcache-$$"
APP="lwc-$$"

# state_count PID FILE REGEX: asks the driver for its cache (SIGUSR1) and
# counts the OBJ lines of that dump matching REGEX.
state_count() {
  local before
  before=$(grep -c '^STATE ' "$2")
  kill -USR1 "$1" 2>/dev/null || return 1
  local deadline=$((SECONDS + 30))
  until [ "$(grep -c '^STATE ' "$2")" -gt "$before" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
  # The dump is the OBJ lines between the previous STATE line and the new one.
  awk -v n="$before" -v re="$3" '
    /^STATE / { s++; next }
    s == n && /^OBJ / && $0 ~ re { c++ }
    END { print c + 0 }' "$2"
}

# wait_state PID FILE REGEX WANT SECONDS
wait_state() {
  local deadline=$((SECONDS + $5)) got
  while :; do
    got=$(state_count "$1" "$2" "$3")
    [ "$got" = "$4" ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || { echo "       (cache has $got, want $4)"; return 1; }
    sleep 1
  done
}

e2e_driver kubecache_watch

E2E_K_ARGS=(--request-timeout=20s)
e2e_start "$NS"

k create namespace "$NS" >/dev/null
check "namespace $NS created" quiet k get namespace "$NS"

VG=()
if valgrind_usable "$DRIVER"; then VG=("${LW_VALGRIND[@]}" --log-file="$TMP/valgrind.log"); fi

# A: this namespace, by label.  B: all namespaces, same label.
"${VG[@]}" "$DRIVER" --kubeconfig "$KUBECONFIG" --namespace "$NS" \
  --selector "app=$APP" --timeout-seconds 15 >"$TMP/a.out" 2>"$TMP/a.err" &
A=$!; E2E_PIDS+=("$A")
"$DRIVER" --kubeconfig "$KUBECONFIG" --selector "app=$APP" \
  --timeout-seconds 15 >"$TMP/b.out" 2>"$TMP/b.err" &
B=$!; E2E_PIDS+=("$B")
check "namespaced cache syncs (empty)" wait_line "$TMP/a.out" '^SYNCED objects=0$' 60
check "all-namespaces cache syncs" wait_line "$TMP/b.out" '^SYNCED objects=0$' 60
START=$SECONDS

e2e_pause_deployment web "$APP" 3 >"$TMP/deploy.yaml"
cat >"$TMP/other.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: outsider
  labels: {app: not-${APP}}
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
EOF
check "kubectl apply Deployment web (3 replicas)" quiet k -n "$NS" apply -f "$TMP/deploy.yaml"
check "kubectl apply a pod outside the selector" quiet k -n "$NS" apply -f "$TMP/other.yaml"

if wait_state "$A" "$TMP/a.out" "^OBJ $NS/web-.* phase=Running$" 3 120; then
  ok "the cache sees all 3 pods Running"
else
  nok "the cache sees all 3 pods Running"
  k -n "$NS" get pods -o wide 2>&1 | sed 's/^/       /'
fi
PODS="$(k -n "$NS" get pods -l "app=$APP" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')"
check "kubectl agrees: 3 pods" [ "$(printf '%s\n' "$PODS" | grep -c .)" = 3 ]
missing=0
for p in $PODS; do grep -q "^ADD $NS/$p " "$TMP/a.out" || missing=$((missing + 1)); done
check "every pod kubectl lists arrived as an ADD" [ "$missing" = 0 ]
check "updates were delivered (Pending -> Running)" grep -q "^UPDATE $NS/web-.* phase=Running" "$TMP/a.out"
check "the pod outside the selector never appears" bash -c "! grep -q outsider '$TMP/a.out' '$TMP/b.out'"
check "all-namespaces cache sees the same 3 pods" wait_state "$B" "$TMP/b.out" "^OBJ $NS/web-" 3 60

check "kubectl delete Deployment web" quiet k -n "$NS" delete deployment web --wait=false
gone=0
for p in $PODS; do
  if wait_line "$TMP/a.out" "^DELETE $NS/$p unknown=0$" 120; then gone=$((gone + 1)); fi
done
check "every pod's deletion arrived ($gone of 3)" [ "$gone" = 3 ]
check "namespaced cache is empty afterwards" wait_state "$A" "$TMP/a.out" "^OBJ " 0 30
gone=0
for p in $PODS; do
  if wait_line "$TMP/b.out" "^DELETE $NS/$p " 60; then gone=$((gone + 1)); fi
done
check "all-namespaces cache got the 3 deletions too" [ "$gone" = 3 ]

# Let at least one server-side timeout pass so a reconnect happens.
while [ $((SECONDS - START)) -lt 20 ]; do sleep 1; done
kill -TERM "$A" "$B"
wait "$A"; rc_a=$?
wait "$B"; rc_b=$?
E2E_PIDS=()
check "driver A exits 0 (valgrind clean when present: rc $rc_a)" [ "$rc_a" = 0 ]
check "driver B exits 0" [ "$rc_b" = 0 ]
if [ ${#VG[@]} -gt 0 ] && [ -s "$TMP/valgrind.log" ]; then
  sed 's/^/       /' "$TMP/valgrind.log" | head -40
fi
stats="$(grep '^STATS ' "$TMP/a.out")"
echo "       A: $stats"
connects=$(sed -n 's/.* connects=\([0-9]*\).*/\1/p' <<<"$stats")
elapsed=$((SECONDS - START))
check "the watch reconnected after timeoutSeconds (connects=$connects)" [ "${connects:-0}" -ge 2 ]
check "no reconnect storm ($connects watch requests in ${elapsed}s)" \
  [ "${connects:-999}" -le $((elapsed / 5 + 3)) ]
check "no invalid watch lines" grep -q ' invalid=0 ' <<<"$stats"
check "nothing unexpected logged" bash -c "! grep -E '^LOG ' '$TMP/a.out' | grep -vE 'watch ended|connection lost' | grep -q ."
grep '^LOG ' "$TMP/a.out" "$TMP/b.out" | head -5 | sed 's/^/       /'

finish
