#!/usr/bin/env bash
# shard_failover.sh — three controller replicas with --shard share about
# 300 opted-in kwok pods (30 Deployments answered by hack/bench/profserver
# on their loopback pod IPs) and a Deployment of real leaking Go backends,
# each replica under the manifests' RBAC (impersonating the leakwatch
# ServiceAccount):
#   - each replica holds its member Lease (labelled, named after it) and
#     sees 3 members; every pod is owned by exactly one replica (the only
#     one that exports its series), all pods of a Deployment by the same
#     one, and each replica owns some;
#   - over a steady window profserver sees every pod sampled, none more
#     often than one sampler would (no gap between two samples of a pod
#     under 0.6 x the interval, no more requests than one owner's share);
#   - the leaking pods get their GoroutineLeak Events; the replica that
#     owns them is killed with SIGKILL: the survivors see 2 members once
#     its Lease has expired and not before, take its pods over (every pod
#     sampled again within the lease duration + an interval), still sample
#     each pod no more often than one owner, adopt the open findings and
#     write no second Event, on the pods or on the Deployment;
#   - one profserver Deployment opts in to containment (controllers run
#     with --containment): its pods are the leader's, before and after the
#     kill, since the leader alone keeps the restart budgets;
#   - SIGTERM of a survivor deletes its member Lease at once and the last
#     replica sees 1 member within 2 s and owns every pod;
#   - the stopped replicas exit 0 and the last one releases the leader
#     Lease.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LEASE=lw-e2e-shard
LEASE_S=6            # --lease-duration
INTERVAL=3           # --interval, seconds: 3 replicas x ~100 pods each
NSVC_DEPLOY=30       # Deployments answered by profserver ...
NSVC_REPLICAS=10     # ... of this many pods each
STEADY=15            # seconds of the steady window (5 intervals)
SERVED=e2e.leakwatch.dev/served-by

for tool in jq curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    skip_missing "$tool, to read profserver's stats and the controllers' logs"
    finish; exit 0
  fi
done
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  skip_missing "Go, to build hack/bench/profserver"
  finish; exit 0
fi

e2e_init lw-e2e-shard
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1'
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease -l "leakwatch.dev/shard-of=$LEASE" --ignore-not-found >/dev/null 2>&1'
e2e_controller_sa
E2E_K_ARGS=(-n "$E2E_NS" --request-timeout=20s)
# Leases of an earlier run that was killed outright.
"$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1
"$KUBECTL" -n leakwatch-system delete lease -l "leakwatch.dev/shard-of=$LEASE" --ignore-not-found >/dev/null 2>&1

now_ms() { date +%s%3N; }
ms_of() { date -d "$1" +%s%3N; } # RFC 3339 with milliseconds -> unix ms
leases() { # the member Leases' names and holders, one "NAME HOLDER" a line
  "$KUBECTL" -n leakwatch-system get lease -l "leakwatch.dev/shard-of=$LEASE" --request-timeout=20s \
    -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.holderIdentity}{"\n"}{end}' 2>/dev/null | sort
}
lease_gone() { # name
  local out
  out=$("$KUBECTL" -n leakwatch-system get lease "$1" --request-timeout=20s 2>&1) && return 1
  grep -q NotFound <<<"$out"
}

# --- the pods: profserver's 300, and the real leak ------------------------------
# profserver, built as the controller benchmark builds it (static, cached
# outside the clone by the hash of its sources).
profserver_bin() {
  (
    # shellcheck source=hack/bench/lib.sh
    source "$ROOT/hack/bench/lib.sh" || exit 1
    find_go
    # shellcheck disable=SC2317  # called by cache_fill
    build_profserver() { log "building profserver"; go_module_build "$BENCH_DIR/profserver" "$1/profserver"; }
    key=$(go_module_key "$BENCH_DIR/profserver" "$GO_VERSION")
    cache_fill "$CACHE/profserver-$key" build_profserver >&2
    echo "$CACHE/profserver-$key/profserver"
  )
}
PROFSERVER=$(profserver_bin)
if [ ! -x "$PROFSERVER" ]; then
  nok "hack/bench/profserver builds"
  finish; exit 1
fi

PINNED=svc-0         # opts in to containment: the leader's
svc_deployments() {
  local i extra
  for ((i = 0; i < NSVC_DEPLOY; i++)); do
    extra=""
    [ "svc-$i" = "$PINNED" ] && extra=', leakwatch.dev/containment: "restart"'
    cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-$i, namespace: $E2E_NS}
spec:
  replicas: $NSVC_REPLICAS
  selector: {matchLabels: {app: svc-$i}}
  template:
    metadata:
      labels: {app: svc-$i, $SERVED: profserver}
      annotations: {leakwatch.dev/scrape: "true"$extra}
    spec:
      nodeSelector: {type: kwok}
      terminationGracePeriodSeconds: 0
      containers:
        - name: app
          image: e2e.leakwatch.dev/svc:1
          ports: [{name: pprof, containerPort: 6060}]
YAML
  done
}
NSVC=$((NSVC_DEPLOY * NSVC_REPLICAS))
{ svc_deployments; echo ---
  e2e_targets_deployment "$E2E_NS" orders 2 chan-send targets.leakwatch.dev/rate=4
} | k apply -f - >/dev/null
svc_ready() {
  [ "$(k get deployments -l "!targets.leakwatch.dev/behavior" \
    -o 'jsonpath={range .items[*]}{.status.readyReplicas}{"\n"}{end}' | awk '{ n += $1 } END { print n + 0 }')" -ge "$NSVC" ]
}
check "$NSVC_DEPLOY Deployments of $NSVC_REPLICAS pods each are ready" wait_until 240 svc_ready
check "leaky deployment rolls out" k rollout status deploy/orders --timeout=120s
e2e_backends_start || nok "backends start"

k get pods -l "$SERVED=profserver" --field-selector status.phase=Running \
  -o 'jsonpath={range .items[*]}{.status.podIP}{"\n"}{end}' | awk 'NF { print $1, "flat" }' >"$TMP/profserver.pods"
check "every profserver pod has a loopback IP ($(grep -c . "$TMP/profserver.pods") of $NSVC)" \
  test "$(grep -c '^127\.' "$TMP/profserver.pods")" -eq "$NSVC"
"$PROFSERVER" -pods "$TMP/profserver.pods" -port 6060 -ready "$TMP/profserver.ready" \
  >"$TMP/profserver.log" 2>&1 &
E2E_PIDS+=("$!")
if ! wait_line "$TMP/profserver.ready" . 20; then
  nok "profserver serves the pods: $(tail -n 3 "$TMP/profserver.log")"
  finish; exit 1
fi
CONTROL=$(cat "$TMP/profserver.ready")
# stats FROM_MS TO_MS: what profserver saw of its pods in the window (JSON).
stats() { curl -sf --max-time 20 "http://$CONTROL/stats?from=$1&to=$2" | jq -c .pods; }

k get pods -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' | sort >"$TMP/all-pods"
TOTAL=$(grep -c . "$TMP/all-pods")
ORDERS_PODS=$(grep '^orders-' "$TMP/all-pods")
check "every pod is opted in and known ($TOTAL = $NSVC + 2)" test "$TOTAL" -eq $((NSVC + 2))

# --- three replicas ------------------------------------------------------------
declare -A PID=()
start_ctl() { # identity (no subshell: cleanup needs E2E_PIDS)
  e2e_controller "$TMP/$1.log" --kubeconfig "$SA_KUBECONFIG" --namespaces "$E2E_NS" \
    --interval "${INTERVAL}s" --finding-min-span 10s --transport direct --shard --containment \
    --lease-namespace leakwatch-system --lease-name "$LEASE" \
    --lease-duration "${LEASE_S}s" --renew-deadline 4s --retry-period 1s --identity "$1" \
    --evidence-dir "$TMP/evidence-$1"
  PID[$1]=$CTL
}
scrape() { # id -> its /metrics
  local port
  port=$(e2e_metrics_port "$TMP/$1.log")
  [ -n "$port" ] && curl -sf --max-time 5 "http://127.0.0.1:$port/metrics"
}
gauge() { # id name -> the value of an unlabelled series
  scrape "$1" | awk -v n="$2" '$1 == n { v = $2 } END { if (v == "") exit 1; print v + 0 }'
}
# The pods a replica exports leakwatch_pod_goroutines for: those it samples.
series_pods() { scrape "$1" | sed -n 's/^leakwatch_pod_goroutines{.*pod="\([^"]*\)".*/\1/p' | sort -u; }
# Log lines "shard membership changed" with this many members: their times.
membership_ms() { # id members
  jq -r --arg m "$2" 'select(.msg == "shard membership changed" and (.members | tostring) == $m) | .ts' \
    "$TMP/$1.log" 2>/dev/null | while read -r ts; do ms_of "$ts"; done
}

# shard_state ID...: each replica's members and owned gauges and sampled
# pods (in $TMP/series-ID); SUMMARY says what was seen.  Succeeds when they
# agree on a sharding over exactly these replicas: every one sees them all
# as members, owns some pods, exports a series for each pod it owns and no
# other; each pod has exactly one owner and a workload's pods the same one.
declare -A MEMBERS=() OWNED=()
shard_state() {
  local id n=$# sum=0 ok=0 parts=() dups missing split
  for id in "$@"; do
    MEMBERS[$id]=$(gauge "$id" leakwatch_shard_members || echo -)
    OWNED[$id]=$(gauge "$id" leakwatch_shard_owned_pods || echo -)
    series_pods "$id" >"$TMP/series-$id"
    parts+=("$id: members ${MEMBERS[$id]}, owned ${OWNED[$id]}, sampled $(grep -c . "$TMP/series-$id")")
    [ "${MEMBERS[$id]}" = "$n" ] || ok=1
    if [ "${OWNED[$id]}" = - ] || [ "${OWNED[$id]}" -le 0 ] ||
      [ "${OWNED[$id]}" -ne "$(grep -c . "$TMP/series-$id")" ]; then ok=1; fi
    [ "${OWNED[$id]}" = - ] || sum=$((sum + OWNED[$id]))
  done
  dups=$(for id in "$@"; do cat "$TMP/series-$id"; done | sort | uniq -d | grep -c .)
  missing=$(for id in "$@"; do cat "$TMP/series-$id"; done | sort -u | comm -23 "$TMP/all-pods" - | grep -c .)
  # A workload's pods: the pod name less its ReplicaSet hash and suffix.
  split=$(for id in "$@"; do sed "s/-[^-]*-[^-]*\$/ $id/" "$TMP/series-$id"; done | sort -u |
    awk '{ n[$1]++ } END { for (w in n) if (n[w] > 1) c++; print c + 0 }')
  SUMMARY="${parts[*]}; owned in all $sum of $TOTAL, sampled by two: $dups, by none: $missing, workloads split: $split"
  [ "$sum" -eq "$TOTAL" ] && [ "$dups" -eq 0 ] && [ "$missing" -eq 0 ] && [ "$split" -eq 0 ] && [ "$ok" -eq 0 ]
}
# sharded SECS ID...: until shard_state holds (SECS at most); the checks
# that follow say what was seen.
sharded() {
  local secs=$1 deadline; shift
  deadline=$((SECONDS + secs))
  until shard_state "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}
# shard_checks ID...: the checks of shard_state, one by one.
shard_checks() {
  local id n=$# sum=0
  shard_state "$@"
  echo "       $SUMMARY"
  for id in "$@"; do
    check "$id sees $n members (got ${MEMBERS[$id]})" test "${MEMBERS[$id]}" = "$n"
    check "$id owns some pods and samples exactly those (owned ${OWNED[$id]}, sampled $(grep -c . "$TMP/series-$id"))" \
      test "${OWNED[$id]}" != - -a "${OWNED[$id]}" -gt 0 -a "${OWNED[$id]}" = "$(grep -c . "$TMP/series-$id")"
    [ "${OWNED[$id]}" = - ] || sum=$((sum + OWNED[$id]))
  done
  check "owned counts add up to every opted-in pod ($sum of $TOTAL)" test "$sum" -eq "$TOTAL"
  check "every pod is sampled by exactly one replica, a workload's pods by the same ($SUMMARY)" \
    shard_state "$@"
}
# window_checks FROM_MS TO_MS WHAT [gaps]: profserver's record of the
# window: every pod sampled, no more samples than one owner's share and,
# with "gaps", no two samples of one pod closer than one sampler takes them
# (the interval less its 10% jitter; two samplers put one within half an
# interval).  Not across a takeover: taken-over pods are sampled at once,
# and the burst delays some of those first samples towards the next one.
window_checks() {
  local s sampled gapmin n secs limit
  s=$(stats "$1" "$2")
  sampled=$(jq -r .pods_sampled <<<"$s")
  gapmin=$(jq -r '.gap_s.min // empty' <<<"$s")
  n=$(jq -r .requests.metrics <<<"$s")
  secs=$(( ($2 - $1) / 1000 ))
  limit=$(awk -v p="$NSVC" -v w="$secs" -v i="$INTERVAL" 'BEGIN { printf "%d", p * (w / i * 1.3 + 1) }')
  echo "       $3: ${secs} s, $sampled of $NSVC pods sampled, $n samples, gaps p50 $(jq -r '.gap_s.p50 // "-"' <<<"$s") s, min ${gapmin:--} s"
  check "$3: every profserver pod sampled ($sampled of $NSVC)" test "$sampled" = "$NSVC"
  check "$3: no more samples than one owner's share ($n <= $limit)" test "$n" -le "$limit"
  [ "${4:-}" = gaps ] || return 0
  check "$3: no pod sampled by two replicas (shortest gap ${gapmin:--} s >= 0.6 x ${INTERVAL} s)" \
    awk -v g="$gapmin" -v i="$INTERVAL" 'BEGIN { exit !(g != "" && g >= 0.6 * i) }'
}

start_ctl ctl-a
start_ctl ctl-b
start_ctl ctl-c
IDS=(ctl-a ctl-b ctl-c)
sharded 90 "${IDS[@]}"
shard_checks "${IDS[@]}"
for id in "${IDS[@]}"; do
  check "$id logged the membership of 3" test -n "$(membership_ms "$id" 3)"
done
leases >"$TMP/leases"
check "one member Lease per replica, named after it and held by it ($(tr '\n' ',' <"$TMP/leases"))" \
  test "$(cat "$TMP/leases")" = "$(printf '%s\n' "$LEASE-member-ctl-a ctl-a" "$LEASE-member-ctl-b ctl-b" "$LEASE-member-ctl-c ctl-c")"
leader() { "$KUBECTL" -n leakwatch-system get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
LEADER=$(leader)
check "the leader Lease is held by one of them (${LEADER:-nobody})" \
  test "$LEADER" = ctl-a -o "$LEADER" = ctl-b -o "$LEADER" = ctl-c
# pinned_on ID: every pod of the containment workload is sampled by ID.
pinned_on() { [ "$(series_pods "$1" | grep -c "^$PINNED-")" -eq "$NSVC_REPLICAS" ]; }
check "the workload opted in to containment ($PINNED) is sampled by the leader, $LEADER" \
  pinned_on "${LEADER:-none}"

sleep "$INTERVAL" # past the first samples of the pods each one took
t0=$(now_ms); sleep "$STEADY"; t1=$(now_ms)
window_checks "$t0" "$t1" "steady, 3 replicas" gaps
for id in "${IDS[@]}"; do cp "$TMP/series-$id" "$TMP/before-$id"; done
shard_state "${IDS[@]}" >/dev/null
check "no pod changed owner over the window" \
  bash -c "for id in ${IDS[*]}; do cmp -s '$TMP/series-'\$id '$TMP/before-'\$id || exit 1; done"

# --- the leak found; its owner killed ------------------------------------------
pod_uid() { k get pod "$1" -o 'jsonpath={.metadata.uid}' 2>/dev/null; }
orders_reported() {
  local p
  for p in $ORDERS_PODS; do [ -n "$(lw_event_counts "$(pod_uid "$p")" GoroutineLeak)" ] || return 1; done
  [ -n "$(lw_event_counts "$(uid_of deploy/orders)" GoroutineLeak)" ]
}
check "the leaking pods and their Deployment get GoroutineLeak Events" wait_until 180 orders_reported
DEPLOY_EVENTS=$(lw_event_counts "$(uid_of deploy/orders)" GoroutineLeak | sort | tr '\n' ' ')
all_ones() { awk '{ for (i = 1; i <= NF; i++) { n++; if ($i != 1) bad = 1 } } END { exit !(n > 0 && !bad) }' <<<"$1"; }

owner_of_orders() {
  local id p
  p=$(head -1 <<<"$ORDERS_PODS")
  for id in "$@"; do
    series_pods "$id" | grep -qxF "$p" && { echo "$id"; return 0; }
  done
  return 1
}
VICTIM=$(owner_of_orders "${IDS[@]}")
if [ -z "$VICTIM" ]; then
  nok "one replica samples the leaking pods"
  finish; exit 1
fi
MOVED=$(gauge "$VICTIM" leakwatch_shard_owned_pods)
SURVIVORS=()
for id in "${IDS[@]}"; do [ "$id" = "$VICTIM" ] || SURVIVORS+=("$id"); done
echo "       $VICTIM samples the leaking pods (and owns $MOVED pods); leader ${LEADER}; killing it"
kill -KILL "${PID[$VICTIM]}"; wait "${PID[$VICTIM]}" 2>/dev/null
t_kill=$(now_ms)
check "$VICTIM killed (SIGKILL)" bash -c "! kill -0 ${PID[$VICTIM]} 2>/dev/null"

members_are() { # n id...
  local n=$1 id; shift
  for id in "$@"; do [ "$(gauge "$id" leakwatch_shard_members)" = "$n" ] || return 1; done
}
check "the survivors see 2 members" poll $((LEASE_S + 15)) members_are 2 "${SURVIVORS[@]}"
seen=0
for id in "${SURVIVORS[@]}"; do
  t=$(membership_ms "$id" 2 | awk -v k="$t_kill" '$1 >= k' | head -1)
  if [ -z "$t" ]; then seen=999999; elif [ $((t - t_kill)) -gt "$seen" ]; then seen=$((t - t_kill)); fi
done
echo "       members 2 seen by both survivors ${seen} ms after the kill"
# Members renew every retry period (1 s): the killed one's Lease was
# renewed at most ~1.2 s before the kill, so it cannot have expired
# before ~4.8 s; a survivor sees it expire within its next look (1 s).
check "not before the member Lease could have expired (${seen} ms >= 4000)" test "$seen" -ge 4000
check "within the lease duration + slack (${seen} ms <= $(( (LEASE_S + 3) * 1000 )))" \
  test "$seen" -le $(( (LEASE_S + 3) * 1000 ))

all_sampled_since() { # from_ms
  [ "$(stats "$1" "$(now_ms)" | jq -r .pods_sampled)" = "$NSVC" ]
}
check "every pod is sampled again after the kill" poll $((LEASE_S + INTERVAL + 20)) all_sampled_since "$t_kill"
cover=$(stats "$t_kill" "$(now_ms)" | jq -r '.coverage_s // empty')
cover_ms=$(awk -v c="$cover" 'BEGIN { if (c == "") print 999999; else printf "%d", c * 1000 }')
echo "       every pod sampled again ${cover_ms} ms after the kill ($MOVED moved)"
check "every pod sampled within lease duration + interval + 4 s (${cover_ms} ms <= $(( (LEASE_S + INTERVAL + 4) * 1000 )))" \
  test "$cover_ms" -le $(( (LEASE_S + INTERVAL + 4) * 1000 ))
sharded 30 "${SURVIVORS[@]}"
t_settled=$(now_ms)
shard_checks "${SURVIVORS[@]}"
OWNER=$(owner_of_orders "${SURVIVORS[@]}")
check "a survivor took over the leaking pods (${OWNER:-none})" test -n "$OWNER"
pinned_on_leader() { local l; l=$(leader); [ -n "$l" ] && pinned_on "$l"; }
check "the containment workload is the leader's after the kill (leader $(leader))" \
  poll $((LEASE_S + 15)) pinned_on_leader

# A survivor that took the leak over samples it afresh: it must adopt the
# findings left open, not report them again.
sleep 30
t2=$(now_ms)
window_checks "$t_kill" "$t_settled" "the takeover"
window_checks "$((t_settled + INTERVAL * 1000))" "$t2" "steady, 2 replicas" gaps
check "the new owner adopts the findings left open" \
  grep -q '"msg":"finding left open by an earlier leakwatch; adopting it"' "$TMP/${OWNER:-none}.log"
for p in $ORDERS_PODS; do
  counts=$(lw_event_counts "$(pod_uid "$p")" GoroutineLeak | tr '\n' ' ')
  check "pod $p: exactly one GoroutineLeak Event, count 1 (got: $counts)" test "$counts" = "1 "
done
now_events=$(lw_event_counts "$(uid_of deploy/orders)" GoroutineLeak | sort | tr '\n' ' ')
check "deploy/orders: the same GoroutineLeak Events as before the kill (before: $DEPLOY_EVENTS; now: $now_events)" \
  test "$now_events" = "$DEPLOY_EVENTS"
check "deploy/orders: each GoroutineLeak Event written once (counts: $now_events)" all_ones "$now_events"

# --- a graceful stop: its Lease goes at once ------------------------------------
GONE=$OWNER
LAST=${SURVIVORS[0]}; [ "$LAST" = "$GONE" ] && LAST=${SURVIVORS[1]}
t_term=$(now_ms)
kill -TERM "${PID[$GONE]}"
check "SIGTERM: $GONE's member Lease is gone" poll 10 lease_gone "$LEASE-member-$GONE"
wait "${PID[$GONE]}"; rc=$?
check "$GONE exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
t=$(jq -r 'select(.msg == "deleted the lease") | .ts' "$TMP/$GONE.log" 2>/dev/null | head -1)
took=$(( $(ms_of "${t:-2000-01-01}") - t_term ))
took=$(( took < 0 ? 999999 : took ))
echo "       $GONE deleted its member Lease ${took} ms after SIGTERM"
check "it deleted it at once (${took} ms <= 2000)" test "$took" -le 2000
check "the last one sees 1 member" poll 10 members_are 1 "$LAST"
t=$(membership_ms "$LAST" 1 | awk -v k="$t_term" '$1 >= k' | head -1)
took=$(( ${t:-999999999999999} - t_term ))
echo "       $LAST saw 1 member ${took} ms after SIGTERM"
check "the last one sees 1 member within 2 s of the SIGTERM (${took} ms <= 2000)" test "$took" -le 2000
left=$(leases)
check "the member Leases left hold $LAST, not $GONE ($(tr '\n' ',' <<<"$left"))" \
  bash -c "grep -qx '$LEASE-member-$LAST $LAST' <<<'$left' && ! grep -q ' $GONE\$' <<<'$left'"
sharded $((INTERVAL * 3 + 10)) "$LAST"
shard_checks "$LAST"
check "the last one leads" test "$(gauge "$LAST" leakwatch_is_leader)" = 1

kill -TERM "${PID[$LAST]}"; wait "${PID[$LAST]}"; rc=$?
check "$LAST exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
check "its member Lease is gone" lease_gone "$LEASE-member-$LAST"
check "the leader Lease is released" \
  test -z "$("$KUBECTL" -n leakwatch-system get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}')"
check "no crash in the controllers' logs" quiet bash -c "! grep -iE 'AddressSanitizer|segmentation|runtime error' '$TMP'/ctl-*.log"
finish
