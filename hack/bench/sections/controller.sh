# controller: leakwatch controller on 1,000 annotated kwok pods (RSS, CPU, API calls, sampling)
#
# `leakwatch controller` watching BENCH_CTL_PODS annotated pods on the local
# cluster (hack/cluster.sh), sampling each one's goroutine count once per
# --interval (60s: one cheap sample per pod per minute, the setting the
# targets are stated for).  The pods are kwok pods of BENCH_CTL_DEPLOYMENTS
# Deployments; one Go process, hack/bench/profserver, answers for all of
# them on their loopback pod IPs (/metrics with go_goroutines, goroutine
# dumps in debug=1, debug=2 and protobuf), flat with noise for most pods and
# a growing chan-send leak for one pod per Deployment.
#
# The controller's API traffic goes through profserver's counting proxy,
# which classifies every call as the API server does (list, watch, get,
# create... of a resource): leakwatch_api_requests_total labels calls by
# HTTP method only, where a LIST and a GET are both "GET".  The proxy also
# caps every watch's timeoutSeconds at BENCH_CTL_WATCH_TIMEOUT, so the API
# server ends the controller's watch several times in the window, as it does
# every 5 to 10 minutes in production: "no periodic LIST" is then checked
# across watch restarts, not only on one long-lived stream.
#
# Measured over a steady window after the first round of samples:
#   RSS      VmRSS (median over the window) and VmHWM (peak since start)
#            from /proc/PID/status, sampled every second;
#   CPU      utime + stime from /proc/PID/stat over the window, as % of one
#            core, and per cheap sample;
#   API      calls per minute by verb (the controller's own counter) and by
#            verb and resource (the proxy), and every LIST after the sync;
#   sampling cheap samples per second and per pod per minute, how long from
#            the window's start until every pod had been sampled (one round),
#            the gap between one pod's consecutive samples, and capture
#            latency from leakwatch_capture_duration_seconds;
#   ceiling  the pods one replica could sample once per interval, from the
#            CPU per cheap sample (one core) and from the capture workers
#            at the mean latency (BENCH_CTL_PODS=10000 measures near it).
# Then, with BENCH_CTL_PORTFORWARD=1, a shorter run with --transport
# portforward (a kwok PortForward per pod routes pods/portforward to the
# same profserver address) and the CPU difference.
#
# Targets (reported, never asserted): RSS <= 16 MB, < 5% of one core at one
# cheap sample per pod per minute, no periodic LIST (no LIST of anything
# after the initial sync).  Checks that are not timing (all pods sampled, no
# LIST repeats, the lease kept, a clean exit) print WRONG when they fail;
# the exit status stays 0 unless a process failed to run (the controller
# crashed or would not start, the cluster or profserver could not start).
#
# Environment:
#   BENCH_CTL_PODS (1000), BENCH_CTL_DEPLOYMENTS (10)
#   BENCH_CTL_INTERVAL (60)        seconds, the controller's --interval
#   BENCH_CTL_STEADY (180)         seconds of steady window (direct)
#   BENCH_CTL_PORTFORWARD (1)      also measure --transport portforward
#   BENCH_CTL_PF_STEADY (75)       its window; one shorter than 1.1 x the
#                                  interval cannot see every pod (the
#                                  schedule jitters by 10%)
#   BENCH_CTL_WORKERS (16)         --max-concurrent-captures (its default)
#   BENCH_CTL_LEADER_ELECT (1)     hold a Lease in the benchmark namespace, as
#                                  a deployed controller does, so renewals
#                                  are in the API figures (0: no lease)
#   BENCH_CTL_WATCH_TIMEOUT (60)   the proxy's cap on watch timeoutSeconds
#                                  (0: leave the controller's own)
#   BENCH_CTL_GROW_RATE (15)       leaked goroutines per minute, growing pods
#   BENCH_CTL_POD_CIDR (127.2.0.0/16)  loopback pod IPs of the benchmark node
#   BENCH_CTL_DELETE_WAIT (30)     seconds to wait for the namespace to go at
#                                  the end before the node is deleted; the
#                                  rest goes on in the background
#
# The pods run on a kwok node of their own (tainted, so nothing else lands
# there): the cluster's kwok-node-0 takes 1000 pods, and filling it would
# leave the pods of tests running at the same time Pending.
#
# Needs: the local cluster (hack/cluster.sh up, started here if it is not
# running), Go (to build profserver), jq, curl.
# Not for: parse speed (parse.sh), or correctness (tests/e2e/controller.sh).
# shellcheck shell=bash  # sourced, never run on its own

BENCH_CTL_PODS="${BENCH_CTL_PODS:-1000}"
BENCH_CTL_DEPLOYMENTS="${BENCH_CTL_DEPLOYMENTS:-10}"
BENCH_CTL_INTERVAL="${BENCH_CTL_INTERVAL:-60}"
BENCH_CTL_STEADY="${BENCH_CTL_STEADY:-180}"
BENCH_CTL_PORTFORWARD="${BENCH_CTL_PORTFORWARD:-1}"
BENCH_CTL_PF_STEADY="${BENCH_CTL_PF_STEADY:-75}"
BENCH_CTL_GROW_RATE="${BENCH_CTL_GROW_RATE:-15}"
BENCH_CTL_DELETE_WAIT="${BENCH_CTL_DELETE_WAIT:-30}"
BENCH_CTL_POD_CIDR="${BENCH_CTL_POD_CIDR:-127.2.0.0/16}"
BENCH_CTL_WATCH_TIMEOUT="${BENCH_CTL_WATCH_TIMEOUT:-60}"
BENCH_CTL_LEADER_ELECT="${BENCH_CTL_LEADER_ELECT:-1}"
BENCH_CTL_WORKERS="${BENCH_CTL_WORKERS:-16}"

# 16 MB = 16,000,000 bytes = 15,625 KiB (decimal units, as parse.sh).
CTL_RSS_TARGET_KB=15625
CTL_CPU_TARGET_PCT=5
CTL_LABEL="bench.leakwatch.dev/section"

# ------------------------------------------------------------------ helpers

ctl_k() { "$CTL_KUBECTL" "$@"; }

# ctl_proc PID -> "VmRSS_kB VmHWM_kB cpu_ticks" (cpu: utime+stime, all threads)
ctl_proc() {
  local st rest fields
  [ -r "/proc/$1/status" ] || return 1
  st="$(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status" 2>/dev/null)" || return 1
  rest="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  rest="${rest##*) }" # comm may hold spaces; fields after it are fixed
  read -r -a fields <<<"$rest"
  echo "$st $((fields[11] + fields[12]))"
}

# ctl_prom_json FILE : Prometheus text exposition -> one JSON object per
# sample {name, labels, value}.
ctl_prom_json() {
  awk '
    /^#/ || NF == 0 { next }
    {
      line = $0; labels = ""
      i = index(line, "{")
      if (i > 0) {
        name = substr(line, 1, i - 1)
        j = index(line, "} ")
        labels = substr(line, i + 1, j - i - 1); rest = substr(line, j + 1)
      } else {
        split(line, a, " "); name = a[1]; rest = substr(line, length(name) + 1)
      }
      split(rest, v, " "); value = v[1]
      if (value !~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/) value = "null"
      out = "{"; n = 0
      while (match(labels, /^[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"/)) {
        kv = substr(labels, RSTART, RLENGTH); labels = substr(labels, RLENGTH + 2)
        e = index(kv, "=")
        out = out (n++ ? "," : "") "\"" substr(kv, 1, e - 1) "\":" substr(kv, e + 1)
      }
      printf "{\"name\":\"%s\",\"labels\":%s,\"value\":%s}\n", name, out "}", value
    }' "$1"
}

ctl_metrics() { # PORT OUTFILE : one scrape of the controller's /metrics
  curl -fsS --max-time 10 "http://127.0.0.1:$1/metrics" >"$2.txt" 2>/dev/null || return 1
  ctl_prom_json "$2.txt" | jq -s '.' >"$2.json"
}

ctl_stats() { # FROM_MS TO_MS OUTFILE : profserver's record of the window
  curl -fsS --max-time 20 "http://$CTL_CONTROL/stats?from=$1&to=$2" >"$3"
}

ctl_json_num() { jq -r "$2 // empty" "$1" 2>/dev/null; }

CTL_CHECKS=()
ctl_check() { bench_check CTL_CHECKS "$@"; } # NAME GOT WANT

CTL_TARGETS=()
ctl_target() { bench_target CTL_TARGETS "$@"; } # NAME MEASURED_TEXT RATIO OK(1/0/"") FROM

# ------------------------------------------------------------ profserver

ctl_profserver_key() { go_module_key "$BENCH_DIR/profserver" "$GO_VERSION"; }

ctl_build_profserver() { # TMPDIR
  log "building profserver"
  go_module_build "$BENCH_DIR/profserver" "$1/profserver"
}

prepare_controller() {
  command -v jq >/dev/null || die "jq is required (hack/install-deps.sh installs it)"
  command -v curl >/dev/null || die "curl is required"
  [ -n "${RUN_TMP:-}" ] || bench_begin controller
  find_go
  local key
  key="$(ctl_profserver_key)"
  cache_fill "$CACHE/profserver-$key" ctl_build_profserver
  CTL_PROFSERVER="$CACHE/profserver-$key/profserver"
  local old
  for old in "$CACHE"/profserver-*; do
    [ -d "$old" ] || continue
    [ "$(basename "$old")" = "profserver-$key" ] || rm -rf "$old" "$old.lock"
  done
}

# ------------------------------------------------------------- lifecycle

CTL_NS=""
CTL_NODE=""
CTL_STATE=""
CTL_PIDS=()        # processes this section started (controller, profserver)
CTL_CLEANED=1

ctl_cleanup() {
  [ "$CTL_CLEANED" -eq 1 ] && return 0
  CTL_CLEANED=1
  local p
  for p in "${CTL_PIDS[@]}"; do bench_stop_pid "$p" 5; done
  CTL_PIDS=()
  if [ -n "${CTL_KUBECTL:-}" ]; then
    if [ -n "$CTL_NS" ]; then
      ctl_k delete namespace "$CTL_NS" --ignore-not-found --wait=false >/dev/null 2>&1
      ctl_wait_ns_gone "$CTL_NS" "$BENCH_CTL_DELETE_WAIT"
    fi
    # Pods still bound to the node when it goes are removed by the pod
    # garbage collector.
    [ -n "$CTL_NODE" ] &&
      ctl_k delete node "$CTL_NODE" --ignore-not-found --wait=false >/dev/null 2>&1
  fi
  CTL_NS=""
  CTL_NODE=""
}

ctl_wait_ns_gone() { # NS SECONDS
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    ctl_k get namespace "$1" >/dev/null 2>&1 || return 0
    sleep 2
  done
  log "namespace $1 is still being deleted after $2 s (it goes on in the background)"
  return 1
}

# Namespaces and nodes of an earlier run that was killed outright.
ctl_remove_stale() {
  local kind name pid
  for kind in namespace node; do
    while read -r name pid; do
      [ -n "$name" ] || continue
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        log "$kind $name belongs to a running benchmark (pid $pid); leaving it"
        continue
      fi
      log "removing $kind $name, left by an earlier run"
      ctl_k delete "$kind" "$name" --wait=false >/dev/null 2>&1
    done < <(ctl_k get "$kind" -l "$CTL_LABEL=controller" \
      -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.annotations.bench\.leakwatch\.dev/pid}{"\n"}{end}' 2>/dev/null)
  done
}

# ------------------------------------------------------------------ pods

ctl_create_pods() {
  local per=$((BENCH_CTL_PODS / BENCH_CTL_DEPLOYMENTS)) extra=$((BENCH_CTL_PODS % BENCH_CTL_DEPLOYMENTS)) i n
  {
    cat <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $CTL_NODE
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
    bench.leakwatch.dev/pid: "$$"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $CTL_NODE
    kubernetes.io/os: linux
    $CTL_LABEL: controller
spec:
  podCIDR: $BENCH_CTL_POD_CIDR
  podCIDRs: [$BENCH_CTL_POD_CIDR]
  taints: [{key: $CTL_LABEL, value: controller, effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  allocatable: {cpu: "640", memory: 2560Gi, pods: "$((BENCH_CTL_PODS + 100))"}
  capacity: {cpu: "640", memory: 2560Gi, pods: "$((BENCH_CTL_PODS + 100))"}
---
apiVersion: v1
kind: Namespace
metadata:
  name: $CTL_NS
  labels: {$CTL_LABEL: controller}
  annotations: {bench.leakwatch.dev/pid: "$$"}
YAML
    for ((i = 0; i < BENCH_CTL_DEPLOYMENTS; i++)); do
      n=$per
      [ "$i" -lt "$extra" ] && n=$((n + 1))
      cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-$i, namespace: $CTL_NS}
spec:
  replicas: $n
  selector: {matchLabels: {app: svc-$i}}
  template:
    metadata:
      labels: {app: svc-$i, $CTL_LABEL: controller}
      annotations: {leakwatch.dev/scrape: "true"}
    spec:
      nodeSelector: {kubernetes.io/hostname: $CTL_NODE}
      tolerations: [{key: $CTL_LABEL, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 0
      containers:
        - name: app
          image: bench.leakwatch.dev/svc:1
          ports: [{name: pprof, containerPort: 6060}]
YAML
    done
  } >"$CTL_STATE/workloads.yaml"
  ctl_k apply -f "$CTL_STATE/workloads.yaml" >/dev/null
}

# Waits until every Deployment has all replicas ready (kwok marks them Ready
# once Running with an IP).
ctl_wait_pods() { # SECONDS
  local deadline=$((SECONDS + $1)) ready
  while [ $SECONDS -lt $deadline ]; do
    ready="$(ctl_k -n "$CTL_NS" get deployments \
      -o 'jsonpath={range .items[*]}{.status.readyReplicas}{"\n"}{end}' 2>/dev/null |
      awk '{ n += $1 } END { print n + 0 }')"
    [ "$ready" -ge "$BENCH_CTL_PODS" ] && return 0
    sleep 2
  done
  log "only $ready of $BENCH_CTL_PODS pods are ready after $1 s"
  return 1
}

# Pod list -> profserver's pods file: the first pod (by name) of each
# Deployment leaks, the others are flat.
ctl_pods_file() {
  ctl_k -n "$CTL_NS" get pods -l "$CTL_LABEL=controller" --field-selector status.phase=Running \
    -o 'jsonpath={range .items[*]}{.metadata.labels.app}{" "}{.metadata.name}{" "}{.status.podIP}{"\n"}{end}' \
    >"$CTL_STATE/pods.txt" || return 1
  sort "$CTL_STATE/pods.txt" | awk -v rate="$BENCH_CTL_GROW_RATE" '
    $3 == "" { next }
    { if ($1 != last) { print $3, "grow", rate; last = $1 } else print $3, "flat" }' \
    >"$CTL_STATE/profserver.pods"
  CTL_NPODS="$(wc -l <"$CTL_STATE/profserver.pods")"
  CTL_NGROW="$(grep -c ' grow ' "$CTL_STATE/profserver.pods")"
}

ctl_portforwards() {
  awk -v ns="$CTL_NS" '$3 != "" {
    printf "---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\n"
    printf "metadata: {name: %s, namespace: %s}\n", $2, ns
    printf "spec:\n  forwards:\n    - ports: [6060]\n      target: {port: 6060, address: \"%s\"}\n", $3
  }' "$CTL_STATE/pods.txt" >"$CTL_STATE/portforwards.yaml"
  ctl_k create -f "$CTL_STATE/portforwards.yaml" >/dev/null
}

ctl_start_profserver() {
  ctl_k config view --raw --minify --flatten -o json >"$CTL_STATE/upstream.json" || return 1
  chmod 600 "$CTL_STATE/upstream.json"
  rm -f "$CTL_STATE/profserver.ready"
  "$CTL_PROFSERVER" -pods "$CTL_STATE/profserver.pods" -port 6060 \
    -ready "$CTL_STATE/profserver.ready" \
    -api-kubeconfig "$CTL_STATE/upstream.json" -api-kubeconfig-out "$CTL_STATE/proxy.kubeconfig" \
    -api-watch-timeout "$BENCH_CTL_WATCH_TIMEOUT" \
    >"$OUT/controller/profserver.log" 2>&1 &
  CTL_PROFSERVER_PID=$!
  CTL_PIDS+=("$CTL_PROFSERVER_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$CTL_STATE/profserver.ready" ] && break
    kill -0 "$CTL_PROFSERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$CTL_STATE/profserver.ready" ]; then
    sed 's/^/    /' "$OUT/controller/profserver.log" >&2
    return 1
  fi
  CTL_CONTROL="$(cat "$CTL_STATE/profserver.ready")"
}

# -------------------------------------------------------------- one phase

# ctl_phase TRANSPORT STEADY_SECONDS
#   Starts the controller, waits for its pod cache to hold every pod and for
#   the first round of samples, measures STEADY_SECONDS, stops it, and
#   writes $OUT/controller/phase-TRANSPORT.json.  Returns 1 when the
#   controller failed to run.
ctl_phase() {
  local tr="$1" steady="$2" dir="$OUT/controller"
  local log="$dir/controller-$tr.log" proc="$dir/proc-$tr.tsv"
  local pid port="" t_start t_sync="" t_round="" t0 t1 line now i
  log "controller, --transport $tr: starting (steady window ${steady} s after the first round)"
  : >"$proc"
  t_start="$(bench_now_ms)"
  local lease=(--leader-elect=false)
  [ "$BENCH_CTL_LEADER_ELECT" = 1 ] &&
    lease=(--leader-elect=true --lease-namespace "$CTL_NS" --lease-name leakwatch-bench --identity "bench-$tr")
  local args=(controller --kubeconfig "$CTL_STATE/proxy.kubeconfig"
    --namespaces "$CTL_NS" --interval "${BENCH_CTL_INTERVAL}s" --transport "$tr"
    --max-concurrent-captures "$BENCH_CTL_WORKERS"
    "${lease[@]}" --metrics-addr 127.0.0.1:0
    --evidence-dir "$CTL_STATE/evidence-$tr" --log-format json --log-level info)
  nice -n "$BENCH_NICE" "$LEAKWATCH_BIN" "${args[@]}" >"$log" 2>&1 &
  pid=$!
  CTL_PIDS+=("$pid")
  echo "${LEAKWATCH_BIN#"$ROOT"/} ${args[*]}" | sed "s|$CTL_STATE/||g" >"$dir/command-$tr.txt"

  local crashed=0 watched=0 deadline
  # Start-up: metrics port, full pod cache, first round over every pod.
  deadline=$((SECONDS + 60 + 3 * BENCH_CTL_INTERVAL))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then crashed=1; break; fi
    now="$(bench_now_ms)"
    line="$(ctl_proc "$pid")" && echo "$now $line" >>"$proc"
    if [ -z "$port" ]; then
      port="$(jq -r 'select(.msg == "controller started") | .metrics_port // empty' "$log" 2>/dev/null | head -n 1)"
    fi
    if [ -n "$port" ] && [ -z "$t_sync" ]; then
      watched="$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null |
        awk '$1 == "leakwatch_watched_pods" { print $2 + 0 }')"
      [ "${watched:-0}" -ge "$CTL_NPODS" ] && t_sync="$now"
    fi
    if [ -n "$t_sync" ]; then
      if ctl_stats "$t_start" "$now" "$dir/stats-$tr-startup.json" 2>/dev/null &&
        [ "$(ctl_json_num "$dir/stats-$tr-startup.json" .pods.pods_sampled || echo 0)" -ge "$CTL_NPODS" ] 2>/dev/null; then
        t_round="$now"
        break
      fi
    fi
    sleep 1
  done
  if [ "$crashed" -eq 1 ] || [ -z "$t_round" ]; then
    if [ "$crashed" -eq 1 ]; then
      wait "$pid"
      bench_fail "leakwatch controller --transport $tr exited (status $?) during start-up"
    else
      bench_fail "leakwatch controller --transport $tr: start-up did not finish (metrics port '${port}', watched ${watched:-0} of $CTL_NPODS pods, first round not complete) within $((60 + 3 * BENCH_CTL_INTERVAL)) s"
    fi
    tail -n 5 "$log" | sed 's/^/    /' >&2
    bench_stop_pid "$pid" 5
    jq -n --arg tr "$tr" --arg why "controller failed during start-up" \
      '{transport: $tr, failed: true, why: $why}' >"$dir/phase-$tr.json"
    return 1
  fi
  log "controller, --transport $tr: $CTL_NPODS pods in cache after $(((t_sync - t_start) / 1000)) s, first round done after $(((t_round - t_start) / 1000)) s; measuring ${steady} s"

  # Steady window.
  ctl_metrics "$port" "$dir/metrics-$tr-start" || { bench_fail "cannot scrape the controller's /metrics"; }
  t0="$(bench_now_ms)"
  local p0 p1="" p_last="" t_last="" next_scrape
  p0="$(ctl_proc "$pid")"
  local end=$((t0 + steady * 1000))
  # A scrape every 15 s: if something stops the controller early, the
  # window up to the last scrape is still measured.
  next_scrape=$((t0 + 15000))
  while :; do
    now="$(bench_now_ms)"
    if ! kill -0 "$pid" 2>/dev/null; then crashed=1; break; fi
    line="$(ctl_proc "$pid")" && echo "$now $line" >>"$proc"
    [ "$now" -ge "$end" ] && break
    if [ "$now" -ge "$next_scrape" ]; then
      line="$(ctl_proc "$pid")" &&
        ctl_metrics "$port" "$dir/metrics-$tr-end" && { t_last="$(bench_now_ms)"; p_last="$line"; }
      next_scrape=$((now + 15000))
    fi
    sleep 1
  done
  if [ "$crashed" -eq 0 ]; then
    p1="$(ctl_proc "$pid")"
    t1="$(bench_now_ms)"
    ctl_rss_breakdown "$pid" >"$dir/rss-$tr.json" 2>/dev/null || echo null >"$dir/rss-$tr.json"
    ctl_metrics "$port" "$dir/metrics-$tr-end" || { bench_fail "cannot scrape the controller's /metrics"; p1=""; }
  elif [ -n "$t_last" ]; then
    t1="$t_last"; p1="$p_last"
  fi
  if [ -n "$p1" ]; then
    ctl_stats "$t0" "$t1" "$dir/stats-$tr-steady.json" || { bench_fail "cannot read profserver's stats"; p1=""; }
    ctl_stats "$t_start" "$t0" "$dir/stats-$tr-startup.json" || true
  fi
  # A graceful stop is part of the contract (tests/e2e/controller.sh).
  local rc why=""
  if [ "$crashed" -eq 1 ]; then
    wait "$pid"; rc=$?
    if [ "$rc" -eq 0 ] && grep -q '"msg":"shutting down"' "$log"; then
      # A clean stop the benchmark did not ask for: someone signalled it.
      why="stopped by a signal from outside the benchmark after $(((${t_last:-$t0} - t0) / 1000)) s of the window"
      log "controller --transport $tr: $why; measured up to the last scrape"
    else
      why="exited (status $rc) during the steady window"
      bench_fail "leakwatch controller --transport $tr $why"
      tail -n 5 "$log" | sed 's/^/    /' >&2
    fi
  else
    bench_stop_child "$pid"
    rc=$BENCH_RC
  fi
  CTL_EXIT[$tr]="$rc"

  # Less than 30 s (or 90% of a shorter window) says nothing.
  local min_ms=$((steady * 900 < 30000 ? steady * 900 : 30000))
  if [ -z "$p1" ] || [ $((t1 - t0)) -lt "$min_ms" ]; then
    jq -n --arg tr "$tr" --arg why "${why:-no measurement}" \
      '{transport: $tr, failed: true, why: $why}' >"$dir/phase-$tr.json"
    return 1
  fi
  ctl_summarise "$tr" "$t_start" "$t_sync" "$t_round" "$t0" "$t1" "$p0" "$p1" "$rc" "$why"
}

# ctl_rss_breakdown PID -> JSON: where the process's resident memory is,
#   from /proc/PID/smaps, by kind of mapping (kB):
#     heap        the main malloc arena ([heap], grown with brk);
#     arenas      the other threads' malloc arenas: anonymous read-write
#                 mappings that start on a 64 MiB boundary, as glibc
#                 reserves them (HEAP_MAX_SIZE);
#     stacks      thread stacks: anonymous read-write mappings right after
#                 a no-access guard page, and the main [stack];
#     files       the binary and its libraries, with the five largest;
#     other_anon  the rest: allocations malloc served with mmap, and the
#                 libraries' own anonymous memory.
#   Plus the thread count, and from /proc/PID/smaps_rollup the split that
#   does not depend on those heuristics: anonymous against file-backed
#   resident memory, and PSS (each shared page divided among the processes
#   that map it: the libraries' pages are mostly shared with every other
#   process using them, so PSS is this process's fair share).  Heuristics on
#   glibc's layout, good enough to say which kind dominates.
ctl_rss_breakdown() {
  local threads rollup
  threads="$(awk '/^Threads:/ { print $2 }' "/proc/$1/status")" || return 1
  rollup="$(awk '/^(Rss|Pss|Pss_Anon|Pss_File|Anonymous):/ { sub(":", "", $1); printf "%s\"%s_kb\": %d", (n++ ? ", " : ""), tolower($1), $2 }' \
    "/proc/$1/smaps_rollup" 2>/dev/null)"
  awk -v threads="$threads" -v rollup="$rollup" '
    function flush() {
      if (!have) return
      if (path == "[heap]") k["heap"] += rss
      else if (path == "[stack]") k["stacks"] += rss
      else if (path ~ /^\//) { k["files"] += rss; f[path] += rss }
      else if (path == "" && perms ~ /^rw/ && aligned) k["arenas"] += rss
      else if (path == "" && perms ~ /^rw/ && after_guard) k["stacks"] += rss
      else k["other_anon"] += rss
    }
    /^[0-9a-f]+-[0-9a-f]+ / {
      flush()
      # Addresses stay hex strings (mawk has no strtonum): one mapping
      # follows another when its start is the previous end, and 64 MiB
      # alignment is six zero hex digits after one of 0, 4, 8, c.
      split($1, r, "-"); start = r[1]; end_ = r[2]
      aligned = (start ~ /[048c]000000$/)
      after_guard = (prev_perms ~ /^---p/ && prev_end == start && prev_path == "")
      perms = $2; path = (NF >= 6) ? $6 : ""; rss = 0; have = 1
      prev_perms = perms; prev_end = end_; prev_path = path
      next
    }
    /^Rss:/ { rss = $2 }
    END {
      flush()
      n = 0; for (p in f) names[++n] = p
      # The five largest files, largest first.
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (f[names[j]] > f[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
      printf "{\"threads\": %d", threads
      if (rollup != "") printf ", \"rollup\": {%s}", rollup
      split("heap arenas stacks files other_anon", ks, " ")
      for (i = 1; i <= 5; i++) printf ", \"%s_kb\": %d", ks[i], k[ks[i]] + 0
      printf ", \"top_files\": ["
      for (i = 1; i <= n && i <= 5; i++) {
        m = names[i]; sub(/.*\//, "", m)
        printf "%s{\"file\": \"%s\", \"kb\": %d}", (i > 1 ? ", " : ""), m, f[names[i]]
      }
      print "]}"
    }' "/proc/$1/smaps"
}

# ctl_leadership LOG T_START_MS -> {became_leader_after_s, lost_while_running}
#   A "stopped leading" before "shutting down" is a lost lease; the one a
#   graceful stop may log is not.
ctl_leadership() {
  jq -s --argjson ts "$2" '
    def ms: capture("^(?<w>[^.]+)([.](?<f>[0-9]+))?Z$")
      | ((.w + "Z") | fromdateiso8601) * 1000 + (("0." + (.f // "0")) | tonumber) * 1000;
    ([ .[] | select(.msg == "shutting down") | .ts | ms ] | first // 1e18) as $stop
    | {became_leader_after_s: ([ .[] | select(.msg == "became leader") | ((.ts | ms) - $ts) / 1000 ] | first),
       lost_while_running: ([ .[] | select(.msg == "stopped leading" and (.ts | ms) < $stop) ] | length)}' "$1" 2>/dev/null ||
    echo '{"became_leader_after_s": null, "lost_while_running": null}'
}

# ctl_summarise TRANSPORT T_START T_SYNC T_ROUND T0 T1 "P0" "P1" EXIT CUT_SHORT_WHY
#   Everything measured in one phase, as JSON.
ctl_summarise() {
  local tr="$1" dir="$OUT/controller"
  local tk0 rss1 hwm1 tk1 hz
  read -r _ _ tk0 <<<"$7"
  read -r rss1 hwm1 tk1 <<<"$8"
  hz="$(getconf CLK_TCK)"
  # RSS over the steady window (rows with t in [T0, T1]).
  local rss_json
  rss_json="$(awk -v a="$5" -v b="$6" '$1 >= a && $1 <= b { print $2 }' "$dir/proc-$tr.tsv" |
    jq -s 'sort | {samples: length, median_kb: (if length > 0 then .[(length / 2 | floor)] else null end),
                   min_kb: (min), max_kb: (max)}')"
  jq -n \
    --arg tr "$tr" --argjson npods "$CTL_NPODS" --argjson interval "$BENCH_CTL_INTERVAL" \
    --argjson workers "$BENCH_CTL_WORKERS" --argjson ts "$2" --argjson tsync "$3" --argjson tround "$4" --argjson t0 "$5" --argjson t1 "$6" \
    --argjson tk0 "$tk0" --argjson tk1 "$tk1" --argjson hz "$hz" \
    --argjson hwm "$hwm1" --argjson rss_end "$rss1" --argjson rss "$rss_json" --arg exit "$9" \
    --arg lease "$BENCH_CTL_LEADER_ELECT" --argjson leader "$(ctl_leadership "$dir/controller-$tr.log" "$2")" \
    --arg cut "${10:-}" --argjson steady_wanted "$([ "$tr" = direct ] && echo "$BENCH_CTL_STEADY" || echo "$BENCH_CTL_PF_STEADY")" \
    --slurpfile m0 "$dir/metrics-$tr-start.json" --slurpfile m1 "$dir/metrics-$tr-end.json" \
    --slurpfile st "$dir/stats-$tr-steady.json" --slurpfile su "$dir/stats-$tr-startup.json" \
    --slurpfile bd "$dir/rss-$tr.json" '
    def key: .name + ({} + .labels | tostring);
    def delta($name): [ $m1[0][] | select(.name == $name) ] as $e
      | [ $e[] | . as $x | ($x.value - ([ $m0[0][] | select(key == ($x | key)) | .value ][0] // 0))
          as $d | $x + {delta: $d} ];
    # The upper bound of the bucket holding quantile q: the histogram says
    # no more than that.
    def quantile($bk; $q):
      ($bk | map(select(.labels.le != "+Inf")) | sort_by(.labels.le | tonumber)) as $b
      | ($bk | map(select(.labels.le == "+Inf")) | .[0].delta // 0) as $tot
      | if $tot == 0 then null else
          [ $b[] | select(.delta >= $q * $tot) | .labels.le | tonumber ] | first // "+Inf"
        end;
    (($t1 - $t0) / 1000) as $secs
    | (($tk1 - $tk0) / $hz) as $cpu
    | delta("leakwatch_api_requests_total") as $api
    | delta("leakwatch_captures_total") as $cap
    | (delta("leakwatch_capture_duration_seconds_bucket") | map(select(.labels.transport == $tr))) as $bk
    | ([ delta("leakwatch_capture_duration_seconds_sum")[] | select(.labels.transport == $tr) | .delta ] | add // 0) as $lat_sum
    | ([ delta("leakwatch_capture_duration_seconds_count")[] | select(.labels.transport == $tr) | .delta ] | add // 0) as $lat_n
    | ([ $cap[] | select(.labels.kind == "metrics") | .delta ] | add // 0) as $cheap
    | ([ $cap[] | select(.labels.kind == "metrics" and .labels.result == "ok") | .delta ] | add // 0) as $cheap_ok
    | ([ $cap[] | .delta ] | add // 0) as $captures
    | $st[0] as $s
    | {
        transport: $tr, failed: false, exit_status: $exit,
        leader_elect: ($lease == "1"), leadership: $leader,
        cut_short: (if $cut == "" then null else $cut end), window_wanted_s: $steady_wanted,
        pods: $npods, interval_s: $interval,
        startup: {
          cache_synced_s: (($tsync - $ts) / 1000),
          first_round_done_s: (($tround - $ts) / 1000),
          api: ($su[0].api.requests // {}),
          api_lists: ($su[0].api.lists // []),
          # A paginated LIST is one operation in several requests.
          list_operations: ([ ($su[0].api.lists // [])[] | select(.path | test("[?&]continue=") | not) ] | length)
        },
        window: {start_ms: $t0, end_ms: $t1, seconds: $secs},
        rss: {steady_median_kb: $rss.median_kb, steady_min_kb: $rss.min_kb, steady_max_kb: $rss.max_kb,
              samples: $rss.samples, at_end_kb: $rss_end, peak_hwm_kb: $hwm,
              breakdown_at_end: ($bd[0] // null),
              malloc_at_end: {in_use_bytes: ([ $m1[0][] | select(.name == "leakwatch_malloc_bytes" and .labels.state == "in_use") | .value ] | first),
                              free_bytes: ([ $m1[0][] | select(.name == "leakwatch_malloc_bytes" and .labels.state == "free") | .value ] | first)}},
        cpu: {seconds: $cpu, percent_of_core: (100 * $cpu / $secs),
              ms_per_cheap_sample: (if $cheap > 0 then 1000 * $cpu / $cheap else null end),
              percent_at_1_sample_per_pod_per_minute:
                (if $cheap > 0 then 100 * ($cpu / $cheap) * $npods / 60 else null end)},
        api: {
          by_verb_per_minute: ([ $api[] | select(.delta > 0) | {key: "\(.labels.verb) \(.labels.code)", value: (.delta * 60 / $secs)} ] | from_entries),
          requests: ([ $api[] | .delta ] | add // 0),
          proxy_per_minute: (($s.api.requests // {}) | map_values(. * 60 / $secs)),
          proxy_by_verb: ($s.api.by_verb // {}),
          lists_in_window: ($s.api.lists // []),
          pod_lists_in_window: ([ ($s.api.lists // [])[] | select(.path | test("/pods([?]|$)")) ] | length),
          pod_watches_in_window: ($s.api.requests["watch pods"] // 0)
        },
        sampling: {
          captures: $captures,
          captures_per_second: ($captures / $secs),
          cheap_samples: $cheap, cheap_samples_ok: $cheap_ok,
          cheap_samples_per_pod_per_minute: ($cheap / $npods / ($secs / 60)),
          captures_by_kind: ([ $cap[] | select(.delta > 0) | {key: "\(.labels.kind) \(.labels.result)", value: .delta} ] | from_entries),
          pods_sampled: $s.pods.pods_sampled,
          round_s: $s.pods.coverage_s,
          gap_s: $s.pods.gap_s,
          server_requests: $s.pods.requests,
          server_samples_per_pod_per_minute: $s.pods.samples_per_pod_per_minute,
          latency_s: {mean: (if $lat_n > 0 then $lat_sum / $lat_n else null end),
                      p50: quantile($bk; 0.5), p90: quantile($bk; 0.9), p99: quantile($bk; 0.99),
                      count: $lat_n, sum: $lat_sum},
          busy_seconds_per_round: (if $cheap > 0 then $lat_sum / ($cheap / $npods) else null end)
        },
        # How many pods this replica could sample once per interval: on one
        # core at the CPU measured per cheap sample, and with its capture
        # workers busy at the mean latency measured.  The smaller is the
        # ceiling; both are extrapolations from this window.
        ceiling: {
          cpu_one_core_pods: (if $cpu > 0 and $cheap > 0 then ($interval * $cheap / $cpu | floor) else null end),
          workers: $workers,
          workers_pods: (if $lat_n > 0 and $lat_sum > 0 then ($workers * $interval / ($lat_sum / $lat_n) | floor) else null end)
        }
      }' >"$dir/phase-$tr.json"
}

# ------------------------------------------------------------------ report

ctl_pct() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.2f%%\n", v }'; }

ctl_report_phase() { # TRANSPORT
  local f="$OUT/controller/phase-$1.json"
  [ -f "$f" ] || return 0
  if [ "$(jq -r .failed "$f")" = true ]; then
    echo "  --transport $1: not measured ($(jq -r .why "$f"))"
    return 0
  fi
  jq -r --arg tr "$1" '
    def r(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
    def mb(k): if k == null then "-" else ((k * 1024 / 1e6 * 10 | round) / 10 | tostring) + " MB" end;
    def ms(s): if s == null then "-" elif s == "+Inf" then "+Inf" else ((s * 10000 | round) / 10 | tostring) + " ms" end;
    .api.requests as $apin |
    "  --transport \($tr), \(.pods) pods, --interval \(.interval_s)s, window \(.window.seconds | round) s:",
    (if .cut_short then "    CUT SHORT    \(.cut_short) (wanted \(.window_wanted_s) s)" else empty end),
    "    start-up     pod cache full after \(r(.startup.cache_synced_s)) s; first sample of every pod done after \(r(.startup.first_round_done_s)) s",
    "                 API calls during start-up: \(.startup.api | to_entries | sort_by(-.value) | map("\(.value) \(.key)") | join(", ")) (\(.startup.list_operations) LIST operation(s), \(.startup.api_lists | length) page(s))",
    (if .leader_elect then "    lease        leader \(if .leadership.became_leader_after_s == null then "never" else "after \(r(.leadership.became_leader_after_s)) s" end); lost it \(.leadership.lost_while_running) time(s) while running" else empty end),
    "    RSS          steady \(mb(.rss.steady_median_kb)) (median of \(.rss.samples) samples, \(mb(.rss.steady_min_kb))..\(mb(.rss.steady_max_kb))); peak \(mb(.rss.peak_hwm_kb)) (VmHWM)",
    (.rss.breakdown_at_end as $b | .rss.malloc_at_end as $m | if $b == null then empty else
      "                 at the end: heap \(mb($b.heap_kb)) + other arenas \(mb($b.arenas_kb)) (malloc: \(if $m.in_use_bytes == null then "-" else mb($m.in_use_bytes / 1024) end) in use, \(if $m.free_bytes == null then "-" else mb($m.free_bytes / 1024) end) free), \($b.threads) threads \(mb($b.stacks_kb)) of stacks, files \(mb($b.files_kb)) (\($b.top_files | map("\(.file) \(mb(.kb))") | join(", "))), other anonymous \(mb($b.other_anon_kb))" end),
    (.rss.breakdown_at_end.rollup as $u | if $u == null then empty else
      "                 at the end: anonymous \(mb($u.anonymous_kb)) + file-backed \(mb($u.rss_kb - $u.anonymous_kb)); PSS \(mb($u.pss_kb)) (anonymous \(mb($u.pss_anon_kb)), files \(mb($u.pss_file_kb)))" end),
    "    CPU          \(r(.cpu.seconds)) s in \(.window.seconds | round) s = \(r(.cpu.percent_of_core))% of one core; \(r(.cpu.ms_per_cheap_sample)) ms per cheap sample -> \(r(.cpu.percent_at_1_sample_per_pod_per_minute))% at 1 sample/pod/min",
    "    API/min      controller (leakwatch_api_requests_total, by method): \(.api.by_verb_per_minute | to_entries | map("\(.key) \(r(.value))") | join(", ") | if . == "" then "none (\($apin) requests in the window)" else . end)",
    "                 proxy (by verb and resource): \(.api.proxy_per_minute | to_entries | map("\(.key) \(r(.value))") | join(", ") | if . == "" then "none" else . end)",
    "                 LISTs in the window: \(.api.lists_in_window | length) (\(.api.pod_lists_in_window) of pods)\(.api.lists_in_window | map(" " + .path) | join(",")); pod watches (re)started: \(.api.pod_watches_in_window)",
    "    sampling     \(.sampling.cheap_samples) cheap samples (\(.sampling.cheap_samples_ok) ok), \(r(.sampling.captures_per_second)) captures/s, \(r(.sampling.cheap_samples_per_pod_per_minute)) samples per pod per minute",
    "                 every pod sampled \(if .sampling.round_s == null then "- (only \(.sampling.pods_sampled) of \(.pods) pods)" else "within \(r(.sampling.round_s)) s of the window start" end); gap between one pod'"'"'s samples p50 \(r(.sampling.gap_s.p50)) s, p99 \(r(.sampling.gap_s.p99)) s, max \(r(.sampling.gap_s.max)) s",
    "                 capture latency mean \(ms(.sampling.latency_s.mean)), p50 <= \(ms(.sampling.latency_s.p50)), p99 <= \(ms(.sampling.latency_s.p99)) (histogram bounds); \(r(.sampling.busy_seconds_per_round)) s of capture time per round over all pods",
    "                 captures by kind: \(.sampling.captures_by_kind | to_entries | map("\(.key) \(.value)") | join(", "))",
    "    ceiling      one sample per pod per \(.interval_s) s fits \(.ceiling.cpu_one_core_pods // "-") pods on one core (CPU per sample), \(.ceiling.workers_pods // "-") pods on \(.ceiling.workers) capture workers (mean latency)"
  ' "$f"
}

ctl_report_targets() {
  local f="$OUT/controller/phase-direct.json" v r ok
  if [ ! -f "$f" ] || [ "$(jq -r .failed "$f")" = true ]; then
    ctl_target "RSS <= 16 MB (steady, $BENCH_CTL_PODS pods)" "-" "" "" "phase-direct"
    ctl_target "< 5% of one core at 1 sample/pod/min" "-" "" "" "phase-direct"
    ctl_target "no periodic LIST (LISTs after the sync)" "-" "" "" "phase-direct"
    return
  fi
  v="$(jq -r .rss.steady_median_kb "$f")"
  r="$(ratio "$v" "$CTL_RSS_TARGET_KB")"
  ok="$(awk -v v="$v" -v t="$CTL_RSS_TARGET_KB" 'BEGIN { print (v <= t) ? 1 : 0 }')"
  ctl_target "RSS <= 16 MB (steady, $CTL_NPODS pods)" "$(fmt_rss "$v")" "$r" "$ok" "phase-direct.rss.steady_median_kb"
  v="$(jq -r .rss.peak_hwm_kb "$f")"
  r="$(ratio "$v" "$CTL_RSS_TARGET_KB")"
  ok="$(awk -v v="$v" -v t="$CTL_RSS_TARGET_KB" 'BEGIN { print (v <= t) ? 1 : 0 }')"
  ctl_target "RSS <= 16 MB (peak incl. start-up)" "$(fmt_rss "$v")" "$r" "$ok" "phase-direct.rss.peak_hwm_kb"
  v="$(jq -r .cpu.percent_of_core "$f")"
  r="$(ratio "$v" "$CTL_CPU_TARGET_PCT")"
  ok="$(awk -v v="$v" -v t="$CTL_CPU_TARGET_PCT" 'BEGIN { print (v < t) ? 1 : 0 }')"
  ctl_target "< 5% of one core (--interval ${BENCH_CTL_INTERVAL}s)" \
    "$(ctl_pct "$v") ($(jq -r '.sampling.cheap_samples_per_pod_per_minute * 100 | round / 100' "$f") samples/pod/min)" \
    "$r" "$ok" "phase-direct.cpu.percent_of_core"
  v="$(jq -r .cpu.percent_at_1_sample_per_pod_per_minute "$f")"
  r="$(ratio "$v" "$CTL_CPU_TARGET_PCT")"
  ok="$(awk -v v="$v" -v t="$CTL_CPU_TARGET_PCT" 'BEGIN { if (v == "null") print ""; else print (v < t) ? 1 : 0 }')"
  ctl_target "< 5% of one core (normalised: 1/pod/min)" "$(ctl_pct "$v")" "$r" "$ok" \
    "phase-direct.cpu.percent_at_1_sample_per_pod_per_minute"
  v="$(jq -r '.api.lists_in_window | length' "$f")"
  ctl_target "no periodic LIST (LISTs after the sync)" \
    "$v in $(jq -r '.window.seconds | round' "$f") s, $(jq -r .api.pod_watches_in_window "$f") re-watches" "" \
    "$([ "$v" -eq 0 ] && echo 1 || echo 0)" "phase-direct.api.lists_in_window"
}

ctl_write_json() {
  local dir="$OUT/controller" phases="{}" tr
  for tr in direct portforward; do
    [ -f "$dir/phase-$tr.json" ] || continue
    phases="$(jq -c --arg tr "$tr" --slurpfile p "$dir/phase-$tr.json" '. + {($tr): $p[0]}' <<<"$phases")"
  done
  local cpu_ratio=""
  if [ -f "$dir/phase-direct.json" ] && [ -f "$dir/phase-portforward.json" ]; then
    cpu_ratio="$(jq -rn --slurpfile d "$dir/phase-direct.json" --slurpfile p "$dir/phase-portforward.json" \
      'if ($d[0].failed or $p[0].failed) then "" else
         ($p[0].cpu.ms_per_cheap_sample / $d[0].cpu.ms_per_cheap_sample) end')"
  fi
  jq -n --argjson phases "$phases" \
    --argjson targets "[$(IFS=,; echo "${CTL_TARGETS[*]}")]" \
    --argjson checks "[$(IFS=,; echo "${CTL_CHECKS[*]}")]" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg lw "$CTL_LW_VERSION" --arg go "$GO_VERSION" \
    --arg cpu "$CTL_CPU_MODEL" --argjson ncpu "$(nproc)" --arg load "$CTL_LOAD_START" \
    --argjson pods "${CTL_NPODS:-0}" --argjson want "$BENCH_CTL_PODS" --argjson grow "${CTL_NGROW:-0}" \
    --argjson deps "$BENCH_CTL_DEPLOYMENTS" --argjson interval "$BENCH_CTL_INTERVAL" \
    --argjson steady "$BENCH_CTL_STEADY" --argjson pfsteady "$BENCH_CTL_PF_STEADY" \
    --argjson rate "$BENCH_CTL_GROW_RATE" --argjson create "${CTL_CREATE_S:-null}" \
    --argjson pfcreate "${CTL_PF_CREATE_S:-null}" --arg cpuratio "$cpu_ratio" \
    --arg cidr "$BENCH_CTL_POD_CIDR" --argjson wcap "$BENCH_CTL_WATCH_TIMEOUT" \
    '{section: "controller", date: $date,
      versions: {leakwatch: $lw, go: $go},
      machine: {cpu: $cpu, cpus: $ncpu, loadavg_at_start: $load},
      setup: {pod_cidr: $cidr, pods_wanted: $want, pods: $pods, deployments: $deps, growing_pods: $grow,
              growth_per_minute: $rate, interval_s: $interval, steady_window_s: $steady,
              portforward_window_s: $pfsteady, pods_ready_after_s: $create,
              watch_timeout_cap_s: $wcap,
              portforwards_created_after_s: $pfcreate},
      method: {rss: "/proc/PID/status VmRSS (median over the window, sampled every second) and VmHWM",
               cpu: "/proc/PID/stat utime+stime over the window",
               api: "leakwatch_api_requests_total deltas (by HTTP method) and profserver proxy (by verb and resource)",
               sampling: "leakwatch_captures_total and leakwatch_capture_duration_seconds deltas; profserver request log"},
      phases: $phases,
      portforward_cpu_per_sample_vs_direct: (if $cpuratio == "" then null else ($cpuratio | tonumber) end),
      targets: $targets, checks: $checks}' >"$OUT/controller.json"
}

# -------------------------------------------------------------------- main

section_controller() {
  # shellcheck disable=SC2034  # read by lib.sh's result records
  SECTION=controller
  bench_begin controller
  need_leakwatch
  prepare_controller
  CTL_LW_VERSION="$(leakwatch_version)"
  CTL_CPU_MODEL="$(cpu_model)"
  CTL_LOAD_START="$(load_avg)"
  CTL_CHECKS=(); CTL_TARGETS=(); CTL_NPODS=0; CTL_NGROW=0; CTL_CREATE_S=""; CTL_PF_CREATE_S=""
  declare -gA CTL_EXIT=()

  echo "== controller: leakwatch ${CTL_LW_VERSION:-?} watching $BENCH_CTL_PODS annotated kwok pods," \
    "--interval ${BENCH_CTL_INTERVAL}s"
  echo "   $(nproc) CPUs ($CTL_CPU_MODEL), load $CTL_LOAD_START"

  if ! bench_cluster_up; then
    bench_fail "hack/cluster.sh up: the local cluster did not start"
    ctl_write_json
    return 0
  fi
  CTL_KUBECTL="$BENCH_KUBECTL"

  # Everything below is undone by ctl_cleanup, on any exit.
  bench_traps_push ctl_cleanup
  CTL_CLEANED=0
  CTL_PIDS=()
  CTL_STATE="$RUN_TMP/controller"
  mkdir -p "$CTL_STATE"

  ctl_remove_stale
  CTL_NS="lw-bench-ctl-$$"
  CTL_NODE="lw-bench-ctl-$$"
  case "$BENCH_CTL_POD_CIDR" in
    127.*/*) ;;
    *) die "BENCH_CTL_POD_CIDR=$BENCH_CTL_POD_CIDR is not a loopback range (127.x.y.z/n)" ;;
  esac
  if ctl_k get nodes -o 'jsonpath={range .items[*]}{.spec.podCIDR}{"\n"}{end}' 2>/dev/null |
    grep -qxF "$BENCH_CTL_POD_CIDR"; then
    die "BENCH_CTL_POD_CIDR=$BENCH_CTL_POD_CIDR is already a node's pod CIDR; pick another"
  fi
  echo
  echo "checks:"
  local t=$SECONDS
  if ! ctl_create_pods; then
    bench_fail "kubectl apply of the benchmark workloads"
  elif ! ctl_wait_pods $((240 + BENCH_CTL_PODS / 10)); then
    :
  fi
  CTL_CREATE_S=$((SECONDS - t))
  ctl_pods_file || bench_fail "kubectl get pods"
  ctl_check "pods Running with a pod IP (ready after ${CTL_CREATE_S} s)" "$CTL_NPODS" "$BENCH_CTL_PODS"

  local ran=0
  if [ "$CTL_NPODS" -gt 0 ]; then
    if ! ctl_start_profserver; then
      bench_fail "profserver did not start"
    else
      ran=1
      if [ "$BENCH_CTL_PORTFORWARD" = 1 ]; then
        t=$SECONDS
        if ctl_portforwards; then
          CTL_PF_CREATE_S=$((SECONDS - t))
        else
          log "creating kwok PortForwards failed; skipping the portforward run"
          BENCH_CTL_PORTFORWARD=0
        fi
      fi
      ctl_phase direct "$BENCH_CTL_STEADY"
      if [ "$BENCH_CTL_PORTFORWARD" = 1 ]; then
        ctl_phase portforward "$BENCH_CTL_PF_STEADY"
      fi
    fi
  fi

  local tr f
  for tr in direct portforward; do
    f="$OUT/controller/phase-$tr.json"
    if [ ! -f "$f" ] || [ "$(jq -r .failed "$f")" != false ]; then continue; fi
    if jq -e '.window.seconds >= 1.1 * .interval_s + 2' "$f" >/dev/null; then
      ctl_check "$tr: every pod sampled in the window" "$(jq -r .sampling.pods_sampled "$f")" "$CTL_NPODS"
    fi
    ctl_check "$tr: no LIST after the sync ($(jq -r .api.pod_watches_in_window "$f") pod watch restarts)" \
      "$(jq -r '.api.lists_in_window | length' "$f")" 0
    ctl_check "$tr: every cheap sample succeeded" \
      "$(jq -r '.sampling.cheap_samples - .sampling.cheap_samples_ok' "$f") failed" "0 failed"
    ctl_check "$tr: exit status after SIGTERM" "${CTL_EXIT[$tr]:-}" 0
    if [ "$BENCH_CTL_LEADER_ELECT" = 1 ]; then
      ctl_check "$tr: leadership never lost while running" \
        "$(jq -r '.leadership.lost_while_running' "$f") losses" "0 losses"
    fi
  done

  if [ "$ran" -eq 1 ]; then
    echo
    echo "results:"
    for tr in direct portforward; do ctl_report_phase "$tr"; done
    local d="$OUT/controller/phase-direct.json" p="$OUT/controller/phase-portforward.json"
    if [ -f "$d" ] && [ -f "$p" ] && [ "$(jq -r .failed "$d")" = false ] && [ "$(jq -r .failed "$p")" = false ]; then
      jq -rn --slurpfile d "$d" --slurpfile p "$p" '
        def r(x): (x * 100 | round / 100 | tostring);
        "  portforward vs direct: \(r($p[0].cpu.ms_per_cheap_sample)) vs \(r($d[0].cpu.ms_per_cheap_sample)) ms CPU per cheap sample (\(r($p[0].cpu.ms_per_cheap_sample / $d[0].cpu.ms_per_cheap_sample))x);",
        "    at 1 sample/pod/min on \($d[0].pods) pods: \(r($p[0].cpu.percent_at_1_sample_per_pod_per_minute))% vs \(r($d[0].cpu.percent_at_1_sample_per_pod_per_minute))% of one core; mean capture latency \(r($p[0].sampling.latency_s.mean * 1000)) vs \(r($d[0].sampling.latency_s.mean * 1000)) ms"'
    fi
  fi
  echo
  echo "targets:"
  ctl_report_targets
  ctl_write_json

  log "cleaning up (namespace $CTL_NS, profserver, controller)"
  ctl_cleanup
  bench_traps_pop
  echo
  echo "wrote ${OUT#"$ROOT"/}/controller.json"
}
