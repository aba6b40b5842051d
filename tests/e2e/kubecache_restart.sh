#!/usr/bin/env bash
# kubecache_restart.sh — the pod cache (pkg/kube/kube_cache) across a
# kube-apiserver crash and restart, on a throw-away cluster of its own (so
# that killing the apiserver disturbs no other suite):
#   - the apiserver is killed (-9) mid-watch: the connection dies without
#     warning;
#   - while it is down, pods are deleted behind its back, straight from
#     etcd, so no watch anywhere can ever report them;
#   - it comes back with a fresh watch cache; the cache's old
#     resourceVersion has expired (410), it relists, and the relist diff
#     delivers both deletions (DeletedFinalStateUnknown) — none lost;
#   - the watch keeps working afterwards (a kubectl delete arrives);
#   - a second cache resuming from resourceVersion 1 gets 410 "too old
#     resource version" and relists to the right contents;
#   - the first cache runs under valgrind (when installed) through all of
#     it and exits clean.
# The cluster is deleted at the end (LW_E2E_KEEP_CLUSTER=1 keeps it).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/e2e/lib.sh"

export LEAKWATCH_CLUSTER="lw-restart-$$"
CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}"
export KWOK_WORKDIR="$CACHE/kwok"
KDIR="$KWOK_WORKDIR/clusters/$LEAKWATCH_CLUSTER"
NS="lw-krestart"

# The cluster is this suite's own: it goes, namespace and all.
cluster_down() {
  if [ "${LW_E2E_KEEP_CLUSTER:-0}" != 1 ]; then
    "$ROOT/hack/cluster.sh" down >/dev/null 2>&1
  fi
}
TMP=$(mktemp -d)
trap e2e_stop EXIT
e2e_on_exit cluster_down

e2e_driver kubecache_watch
if ! command -v curl >/dev/null 2>&1; then
  nok "curl is installed (deleting from etcd behind the apiserver needs it)"
  finish; exit 1
fi
if ! out="$("$ROOT/hack/cluster.sh" up)"; then
  nok "hack/cluster.sh up (throw-away cluster $LEAKWATCH_CLUSTER)"
  finish; exit 1
fi
eval "$out"
ok "throw-away cluster $LEAKWATCH_CLUSTER is up"
KUBECTL="$("$ROOT/hack/tools.sh" path kubectl)"
KWOKCTL="$("$ROOT/hack/tools.sh" path kwokctl)"
E2E_K_ARGS=(--request-timeout=10s)
ETCD_PORT="$(sed -n 's|.*--listen-client-urls=http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$KDIR/kwok.yaml" | head -1)"
check "etcd client port found ($ETCD_PORT)" [ -n "$ETCD_PORT" ]

# Deletes a pod's key in etcd through etcd's JSON gateway; prints how many
# keys went.
etcd_delete_pod() {
  local key
  key="$(printf '/registry/pods/%s/%s' "$NS" "$1" | base64 -w0)"
  curl -sS --max-time 10 -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/deleterange" \
    -d "{\"key\":\"$key\"}" | sed -n 's/.*"deleted":"\([0-9]*\)".*/\1/p'
}

k create namespace "$NS" >/dev/null
for i in 1 2 3 4 5; do
  e2e_pause_pod "p$i" | k -n "$NS" apply -f - >/dev/null
done
check "5 pods created" [ "$(k -n "$NS" get pods -o name | grep -c .)" = 5 ]

VG=()
if valgrind_usable "$DRIVER"; then VG=("${LW_VALGRIND[@]}" --log-file="$TMP/valgrind.log"); fi
"${VG[@]}" "$DRIVER" --kubeconfig "$KUBECONFIG" --namespace "$NS" \
  --timeout-seconds 300 >"$TMP/a.out" 2>"$TMP/a.err" &
A=$!; E2E_PIDS+=("$A")
check "cache synced with 5 pods" wait_line "$TMP/a.out" '^SYNCED objects=5$' 90

# Crash the apiserver under the open watch.
APID="$(cat "$KDIR/pids/kube-apiserver.pid" 2>/dev/null)"
check "kube-apiserver pid known ($APID)" [ -n "$APID" ]
kill -KILL "$APID" 2>/dev/null
check "the watch notices the apiserver is gone" \
  wait_line "$TMP/a.out" '^LOG .*(connection lost|failed|refused)' 60

# Deletions no watch can see.
check "p1 deleted from etcd while the apiserver is down" [ "$(etcd_delete_pod p1)" = 1 ]
check "p2 deleted from etcd while the apiserver is down" [ "$(etcd_delete_pod p2)" = 1 ]
sleep 2
check "nothing deleted in the cache yet" bash -c "! grep -q '^DELETE ' '$TMP/a.out'"

if "$KWOKCTL" --name "$LEAKWATCH_CLUSTER" start cluster --timeout 3m >"$TMP/start.log" 2>&1 &&
   poll 120 k get --raw /readyz; then
  ok "kube-apiserver restarted"
else
  nok "kube-apiserver restarted"
  sed 's/^/       /' "$TMP/start.log" | tail -20
fi

check "p1's deletion arrives after the restart" wait_line "$TMP/a.out" "^DELETE $NS/p1 " 120
check "p2's deletion arrives after the restart" wait_line "$TMP/a.out" "^DELETE $NS/p2 " 60
grep -E "^DELETE $NS/p[12] " "$TMP/a.out" | sed 's/^/       /'
if grep -qE '^LOG .*(too old resource version|Expired|Gone)' "$TMP/a.out"; then
  ok "the old resourceVersion expired and the cache relisted"
  check "...so the deletions were found by the relist diff (unknown=1)" \
    [ "$(grep -cE "^DELETE $NS/p[12] unknown=1$" "$TMP/a.out")" = 2 ]
else
  # An apiserver may also replay the history from etcd; then the deletes
  # are ordinary DELETED events.  Either way none may be lost.
  ok "the watch resumed without a relist (deletes came as events)"
fi
check "no other pod was deleted" bash -c "! grep -E '^DELETE $NS/p[345] ' '$TMP/a.out' | grep -q ."

# The watch works after all that.
check "kubectl delete pod p3" quiet k -n "$NS" delete pod p3 --wait=false
check "p3's deletion arrives as a watch event" wait_line "$TMP/a.out" "^DELETE $NS/p3 unknown=0$" 90

# A second cache resumes from a version the new watch cache never had.
"$DRIVER" --kubeconfig "$KUBECONFIG" --namespace "$NS" --resume-rv 1 \
  >"$TMP/b.out" 2>"$TMP/b.err" &
B=$!; E2E_PIDS+=("$B")
check "resuming from resourceVersion 1: 410 too old resource version" \
  wait_line "$TMP/b.out" '^LOG .*(too old resource version|Expired|Gone).*relisting' 60
grep -m1 -E '^LOG .*(too old|Expired|Gone)' "$TMP/b.out" | sed 's/^/       /'
check "...then a relist gives the right contents (p4, p5)" wait_line "$TMP/b.out" '^SYNCED objects=2$' 60

kill -TERM "$A" "$B"
wait "$A"; rc_a=$?
wait "$B"; rc_b=$?
E2E_PIDS=()
check "cache A exits 0 (valgrind clean when present: rc $rc_a)" [ "$rc_a" = 0 ]
[ -s "$TMP/valgrind.log" ] && sed 's/^/       /' "$TMP/valgrind.log" | head -30
check "cache B exits 0" [ "$rc_b" = 0 ]
sa="$(grep '^STATS ' "$TMP/a.out")"; sb="$(grep '^STATS ' "$TMP/b.out")"
echo "       A: $sa"
echo "       B: $sb"
check "A ends with the 2 pods left" grep -q ' objects=2$' <<<"$sa"
check "B relisted once because its version expired" grep -q ' relists_expired=1 ' <<<"$sb"
check "A never saw an invalid line" grep -q ' invalid=0 ' <<<"$sa"

finish
