# capture: goroutine captures per second and memory per in-flight capture, leakwatch (direct, port-forward) vs kubectl port-forward + curl
#
# The runbook's step 2 is `kubectl port-forward` + `curl .../goroutine`.
# This section measures leakwatch's capture transports doing the same work
# against 1, 10 and 100 kwok pods at once (one worker per pod, capturing in a
# loop for BENCH_CAP_SECONDS), each pod a real tests/targets process on its
# loopback pod IP behind a kwok PortForward:
#
#   direct       pkg/capture over HTTP to podIP:port (in-cluster mode);
#   portforward  pkg/capture over pods/NAME/portforward (WebSocket through
#                the API server and kwok), a fresh tunnel per capture;
#   kubectl      one long-lived `kubectl port-forward` per pod (its setup is
#                not counted) and a curl loop through it: the peer.
#
# Reported per pod count: captures per second, p50 latency, and memory per
# in-flight capture — for leakwatch, the growth of the bench driver's RSS
# over its idle RSS divided by the number of concurrent captures (buffers,
# TLS, curl handles and each worker's touched stack); for the peer, the
# average RSS of one kubectl port-forward process plus the peak RSS of one
# curl.  Then the ratios.  Figures are reported, never asserted.
#
# The pods run on a kwok node of their own (tainted; pod CIDR
# BENCH_CAP_POD_CIDR) so the cluster's kwok-node-0 and other suites' pods
# are untouched; it is deleted at the end.
#
#   hack/bench/run.sh capture        run it
# Environment: BENCH_CAP_SECONDS (6), BENCH_CAP_PODS ("1 10 100"),
# BENCH_CAP_KIND (goroutine-debug2), BENCH_CAP_POD_CIDR (127.4.0.0/16),
# BENCH_OUT (hack/bench/out: capture.json goes there).
# Needs: the local cluster (started if it is not running), Go, curl, jq,
# build/leakwatch and build/e2e/capture_bench (make).
# Not for: correctness (tests/e2e/capture_*.sh).
# shellcheck shell=bash  # sourced, never run on its own

BENCH_CAP_SECONDS="${BENCH_CAP_SECONDS:-6}"
BENCH_CAP_PODS="${BENCH_CAP_PODS:-1 10 100}"
BENCH_CAP_KIND="${BENCH_CAP_KIND:-goroutine-debug2}"
BENCH_CAP_POD_CIDR="${BENCH_CAP_POD_CIDR:-127.4.0.0/16}"

cap_suffix() { # kind -> request path suffix, as pkg/capture builds it
  case "$1" in
    goroutine-debug1) echo "/debug/pprof/goroutine?debug=1" ;;
    goroutine-proto) echo "/debug/pprof/goroutine" ;;
    metrics) echo "/metrics" ;;
    *) echo "/debug/pprof/goroutine?debug=2" ;;
  esac
}

cap_cleanup() {
  local p
  for p in "${CAP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  CAP_PIDS=()
  if [ -n "${CAP_K:-}" ]; then
    # Pods first, forced: with the node gone first, nothing would ever
    # confirm their deletion and they would stay Terminating.
    "$CAP_K" -n "$CAP_NS" delete pods --all --grace-period=0 --force >/dev/null 2>&1
    "$CAP_K" delete namespace "$CAP_NS" --wait=false --ignore-not-found >/dev/null 2>&1
    "$CAP_K" delete node "$CAP_NODE" --ignore-not-found >/dev/null 2>&1
  fi
  [ -n "${CAP_TMP:-}" ] && rm -rf "$CAP_TMP"
}

# kubectl_round N: N `kubectl port-forward`s, then N curl loops through them.
# Prints "captures seconds p50_ms per_inflight_kb".
cap_kubectl_round() {
  local n=$1 i pf_pids=() ports=() suffix
  suffix="$(cap_suffix "$BENCH_CAP_KIND")"
  for ((i = 0; i < n; i++)); do
    "$CAP_K" -n "$CAP_NS" port-forward "pod/${CAP_POD_NAMES[$i]}" ":$CAP_PORT" \
      >"$CAP_TMP/kpf.$i" 2>&1 &
    pf_pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    local deadline=$((SECONDS + 60)) p=""
    until p="$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$CAP_TMP/kpf.$i" | head -n 1)"; [ -n "$p" ]; do
      [ "$SECONDS" -lt "$deadline" ] || { echo "kubectl port-forward $i never listened" >&2; break; }
      sleep 0.2
    done
    ports+=("$p")
    # The first request opens the tunnel's stream: not part of the timing.
    curl -s -o /dev/null "http://127.0.0.1:$p$suffix"
  done
  local rss=0
  for p in "${pf_pids[@]}"; do
    rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  local t0=$EPOCHREALTIME loops=() end_us
  end_us=$(( ${t0/./} + BENCH_CAP_SECONDS * 1000000 ))
  for ((i = 0; i < n; i++)); do
    (
      url="http://127.0.0.1:${ports[$i]}$suffix"
      while (( ${EPOCHREALTIME/./} < end_us )); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$url"
      done >"$CAP_TMP/curl.$i"
    ) &
    loops+=($!)
  done
  for p in "${loops[@]}"; do wait "$p"; done
  local t1=$EPOCHREALTIME
  for p in "${pf_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pf_pids[@]}"; do wait "$p" 2>/dev/null; done
  local curl_kb
  curl_kb="$(/usr/bin/time -f %M curl -s -o /dev/null "http://$CAP_IP0:$CAP_PORT$suffix" 2>&1 | tail -n 1)"
  cat "$CAP_TMP"/curl.* | awk '$1 == 200 { print $2 }' | sort -g |
    awk -v t0="$t0" -v t1="$t1" -v n="$n" -v rss="$rss" -v ckb="$curl_kb" '
      { lat[NR] = $1 }
      END {
        p50 = NR ? lat[int(NR / 2) + 1] * 1000 : 0
        printf "%d %.2f %.1f %d\n", NR, t1 - t0, p50, rss / n + ckb
      }'
  rm -f "$CAP_TMP"/curl.* "$CAP_TMP"/kpf.*
}

cap_setup() {
  local up
  up="$("$ROOT/hack/cluster.sh" up)" || { log "capture: the local cluster did not start"; return 1; }
  eval "$up"
  export KUBECONFIG
  CAP_K="$("$ROOT/hack/tools.sh" path kubectl)"
  CAP_NS="lw-bench-capture-$$"
  CAP_NODE="lw-bench-capture"
  CAP_TMP="$(mktemp -d "${TMPDIR:-/tmp}/lwbench-capture.XXXXXX")"
  CAP_PORT=$((20000 + RANDOM % 20000))
  CAP_PIDS=()
  local max=0 n
  for n in $BENCH_CAP_PODS; do [ "$n" -gt "$max" ] && max=$n; done

  log "capture: building tests/targets"
  (cd "$ROOT/tests/targets" && GOWORK=off GOFLAGS=-mod=readonly nice go build -o "$CAP_TMP/targets" .) ||
    { log "capture: tests/targets did not build"; return 1; }

  "$CAP_K" delete node "$CAP_NODE" --ignore-not-found >/dev/null 2>&1
  {
    cat <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $CAP_NODE
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: $CAP_NODE, kubernetes.io/os: linux, bench.leakwatch.dev/capture: "true"}
spec:
  podCIDR: $BENCH_CAP_POD_CIDR
  podCIDRs: [$BENCH_CAP_POD_CIDR]
  taints: [{key: bench.leakwatch.dev/capture, value: "true", effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  allocatable: {cpu: "64", memory: 256Gi, pods: "$((max + 20))"}
  capacity: {cpu: "64", memory: 256Gi, pods: "$((max + 20))"}
---
apiVersion: v1
kind: Namespace
metadata: {name: $CAP_NS}
YAML
    for ((n = 0; n < max; n++)); do
      cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: t$n
  namespace: $CAP_NS
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "$CAP_PORT"}
spec:
  nodeName: $CAP_NODE
  tolerations: [{key: bench.leakwatch.dev/capture, operator: Exists}]
  containers:
  - name: app
    image: example.invalid/app
    ports: [{name: pprof, containerPort: $CAP_PORT}]
YAML
    done
  } | "$CAP_K" apply -f - >/dev/null || { log "capture: creating the pods failed"; return 1; }

  local deadline=$((SECONDS + 120)) got=0
  while :; do
    got="$("$CAP_K" -n "$CAP_NS" get pods -o json | jq '[.items[] | select(.status.podIP != null)] | length')"
    [ "$got" -ge "$max" ] && break
    [ "$SECONDS" -lt "$deadline" ] || { log "capture: only $got of $max pods got an IP"; return 1; }
    sleep 1
  done
  CAP_POD_NAMES=(); CAP_POD_IPS=()
  local name ip
  while read -r name ip; do
    CAP_POD_NAMES+=("$name"); CAP_POD_IPS+=("$ip")
  done < <("$CAP_K" -n "$CAP_NS" get pods -o json |
           jq -r '.items[] | "\(.metadata.name) \(.status.podIP)"' | sort -V)
  CAP_IP0="${CAP_POD_IPS[0]}"
  {
    for ((n = 0; n < max; n++)); do
      ip="${CAP_POD_IPS[$n]}"
      case "$ip" in 127.*) ;; *) log "capture: pod IP $ip is not loopback"; return 1 ;; esac
      GOMAXPROCS=1 "$CAP_TMP/targets" -behavior steady-pool -rate 0 -listen "$ip:$CAP_PORT" \
        >"$CAP_TMP/target.$n.log" 2>&1 &
      CAP_PIDS+=($!)
      cat <<YAML
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: ${CAP_POD_NAMES[$n]}, namespace: $CAP_NS}
spec:
  forwards: [{ports: [$CAP_PORT], target: {port: $CAP_PORT, address: "$ip"}}]
YAML
    done
  } >"$CAP_TMP/forwards.yaml"
  "$CAP_K" apply -f "$CAP_TMP/forwards.yaml" >/dev/null || { log "capture: PortForwards failed"; return 1; }
  log "capture: $max pods up; waiting until each answers through its PortForward"
  "$ROOT/build/e2e/capture_bench" -n "$CAP_NS" --transport portforward --kind metrics --check \
    "${CAP_POD_NAMES[@]}" || { log "capture: not every pod answers"; return 1; }
}

section_capture() {
  # shellcheck disable=SC2034  # read by lib.sh's result records
  SECTION=capture
  bench_begin capture
  local drv="$ROOT/${BUILD:-build}/e2e/capture_bench"
  [ -x "$drv" ] || die "$drv not found: run make first"
  echo "== capture: $BENCH_CAP_KIND from 1 worker per pod, ${BENCH_CAP_SECONDS}s per round," \
    "$(nproc) CPUs, load $(load_avg)"
  local old_exit
  eval "set -- $(trap -p EXIT)"; old_exit="${3:-}"
  trap 'cap_cleanup; '"$old_exit" EXIT
  if ! cap_setup; then
    FAILURES=$((FAILURES + 1))
    cap_cleanup
    return 0
  fi
  printf '%-6s %-30s %12s %9s %14s\n' pods transport "captures/s" "p50" "mem/in-flight"
  local n tr line rows=()
  for n in $BENCH_CAP_PODS; do
    declare -A rate=() mem=() p50=()
    for tr in direct portforward; do
      line="$("$drv" -n "$CAP_NS" --transport "$tr" --kind "$BENCH_CAP_KIND" \
               --seconds "$BENCH_CAP_SECONDS" "${CAP_POD_NAMES[@]:0:$n}" 2>"$CAP_TMP/drv.err")" ||
        { FAILURES=$((FAILURES + 1)); log "capture: driver failed: $(tail -n 2 "$CAP_TMP/drv.err")"; continue; }
      rate[$tr]="$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")"
      p50[$tr]="$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")"
      mem[$tr]="$(sed -n 's/.* per_inflight_kb=\(-*[0-9]*\).*/\1/p' <<<"$line")"
      local errs; errs="$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")"
      [ "${errs:-0}" = 0 ] || log "capture: $tr with $n pods: $errs failed captures ($(tail -n 1 "$CAP_TMP/drv.err"))"
      printf '%-6s %-30s %12s %6s ms %14s\n' "$n" "leakwatch $tr" "${rate[$tr]}" "${p50[$tr]}" "$(fmt_rss "${mem[$tr]}")"
      rows+=("$(jq -cn --argjson n "$n" --arg t "$tr" --argjson r "${rate[$tr]:-0}" --argjson p "${p50[$tr]:-0}" \
                 --argjson m "${mem[$tr]:-0}" --arg raw "$line" \
                 '{pods: $n, transport: $t, captures_per_s: $r, p50_ms: $p, per_inflight_kb: $m, driver: $raw}')")
    done
    local c s p m
    read -r c s p m < <(cap_kubectl_round "$n")
    rate[kubectl]="$(awk -v c="$c" -v s="$s" 'BEGIN { if (s > 0) printf "%.1f", c / s; else print 0 }')"
    p50[kubectl]="$p"; mem[kubectl]="$m"
    printf '%-6s %-30s %12s %6s ms %14s\n' "$n" "kubectl port-forward + curl" "${rate[kubectl]}" "$p" "$(fmt_rss "$m")"
    rows+=("$(jq -cn --argjson n "$n" --argjson r "${rate[kubectl]}" --argjson p "${p:-0}" --argjson m "${m:-0}" \
               '{pods: $n, transport: "kubectl port-forward + curl", captures_per_s: $r, p50_ms: $p, per_inflight_kb: $m}')")
    printf '       ratios: portforward/kubectl %sx captures/s, kubectl/portforward %sx memory;' \
      "$(ratio "${rate[portforward]:-}" "${rate[kubectl]}")" "$(ratio "${mem[kubectl]}" "${mem[portforward]:-}")"
    printf ' direct/portforward %sx captures/s\n' "$(ratio "${rate[direct]:-}" "${rate[portforward]:-}")"
    unset rate mem p50
  done
  mkdir -p "$OUT"
  printf '%s\n' "${rows[@]}" | jq -s --arg kind "$BENCH_CAP_KIND" --argjson secs "$BENCH_CAP_SECONDS" \
    '{section: "capture", kind: $kind, seconds_per_round: $secs, rows: .}' >"$OUT/capture.json"
  cap_cleanup
  # shellcheck disable=SC2064  # restores the caller's trap, saved as text
  trap "$old_exit" EXIT
}

