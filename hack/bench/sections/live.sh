# live: live time from a leaking pod's start to its GoroutineLeak Event (controller on the local cluster, --interval 30s and 60s)
#
# `leakwatch controller` on the local cluster (hack/cluster.sh), transport
# direct, every detection flag at its default (--finding-min-span 2m,
# --window 10, --raise-after 2, ...) but --interval: one run per value of
# BENCH_LIVE_INTERVALS (30s, the default, then 60s), one after the other,
# so the figure is what a user gets.  Each run starts the controller in a
# fresh namespace and waits until it leads; then a Deployment of
# BENCH_LIVE_REPLICAS kwok pods is created, each backed by a real
# tests/targets process running the chan-send leak (hack/backends.sh, the
# Deployment as tests/e2e/lib.sh's e2e_targets_deployment writes it): a
# leaking revision rolled out under a running leakwatch.  Every replica
# leaks, BENCH_LIVE_RATE synthetic requests a second each leaving two
# goroutines behind (0.5: one goroutine a second), from the moment its
# process listens.
#
# Measured per pod, from the start of its backend process (/proc/PID/stat,
# 10 ms; it listens, and its leak starts, within milliseconds) and from the
# pod's status.startTime (whole seconds):
#   first sample  the controller's first cheap sample of it: its
#                 leakwatch_pod_goroutines series appears (/metrics is
#                 scraped twice a second);
#   first full    its first full capture, which starts the episode whose
#                 captures must span --finding-min-span: the rise of the
#                 full-capture counter right after one of its cheap samples;
#   suspected     the "goroutine growth suspected" log line (ms): the
#                 window's suspect flag rising, which starts full captures
#                 (a count far above its peers' starts them too, earlier);
#   Event         the "goroutine leak" log line (ms), logged just before the
#                 GoroutineLeak Event is posted; the Event is read back from
#                 the API (its firstTimestamp, whole seconds, is recorded).
# Also the cheap samples and full captures each pod had until its Event
# (leakwatch_captures_total, the analysis' peer and evidence captures
# included) and the analyses the controller ran (its "analysis" debug
# line: --log-level debug changes no decision).  A run stops once every
# replica has its Event, or after BENCH_LIVE_CAP seconds (a replica
# without one is MISSED).  Next to the live figure: the detect
# section's simulated first alarm for a 1/s leak at the same interval
# (hack/bench/detect; 15 s and 30 s only), plus --finding-min-span, the
# least an Event can take after it on a window that is already full.
#
# Targets (reported, never asserted): every replica's Event within ten
# intervals of its process's start (5 min at --interval 30s, 10 min at
# --interval 60s).  Checks that are not timing (every replica reported,
# the pattern named, one Event per pod, a clean exit) print WRONG when they
# fail; the exit status stays 0 unless a process failed to run (the
# cluster, the backends, the controller).
#
# Environment:
#   BENCH_LIVE_INTERVALS ("30 60")  seconds, the controller's --interval;
#                                   one run each, in this order
#   BENCH_LIVE_REPLICAS (3)         leaking pods in the Deployment
#   BENCH_LIVE_RATE (0.5)           synthetic requests per second per pod
#                                   (targets.leakwatch.dev/rate); chan-send
#                                   leaves two goroutines per request
#   BENCH_LIVE_CAP (1200)           seconds per run before a replica with no
#                                   Event is MISSED
#
# Needs: the local cluster (hack/cluster.sh up, started here if it is not
# running; LEAKWATCH_CLUSTER names it), Go (hack/backends.sh builds
# tests/targets), jq, curl.  Takes as long as detection does: 10 to 12
# minutes for the two default runs.
# Not for: the detector's logic on simulated series (detect.sh), the
# controller's cost (controller.sh), or correctness
# (tests/e2e/controller.sh).
# shellcheck shell=bash  # sourced, never run on its own

BENCH_LIVE_INTERVALS="${BENCH_LIVE_INTERVALS:-30 60}"
BENCH_LIVE_REPLICAS="${BENCH_LIVE_REPLICAS:-3}"
BENCH_LIVE_RATE="${BENCH_LIVE_RATE:-0.5}"
BENCH_LIVE_CAP="${BENCH_LIVE_CAP:-1200}"

LIVE_BEHAVIOR=chan-send
LIVE_LEAKS_PER_REQUEST=2 # tests/targets/main.go: chan-send leaves two
LIVE_TARGET_INTERVALS=10
LIVE_LABEL="bench.leakwatch.dev/section"

# ------------------------------------------------------------------ helpers

live_k() { "$LIVE_KUBECTL" "$@"; }

LIVE_CHECKS=()
live_check() { bench_check LIVE_CHECKS "$@"; } # NAME GOT WANT

LIVE_TARGETS=()
live_target() { bench_target LIVE_TARGETS "$@"; } # NAME MEASURED_TEXT RATIO OK(1/0/"") FROM

# live_dur SECONDS -> "44.1s" / "3m44.3s" ("-" when empty or null)
live_dur() {
  awk -v s="$1" 'BEGIN {
    if (s == "" || s == "null") { print "-"; exit }
    if (s < 0) { printf "-"; s = -s }
    if (s < 60) printf "%.1fs\n", s
    else printf "%dm%04.1fs\n", int(s / 60), s - 60 * int(s / 60) }'
}

# live_proc_start_ms PID -> wall-clock ms at which the process started
# (start time in clock ticks since boot, against /proc/uptime: 10 ms).
live_proc_start_ms() {
  local rest fields up now
  rest="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$rest" ] || return 1
  rest="${rest##*) }" # comm may hold spaces; fields after it are fixed
  read -r -a fields <<<"$rest"
  read -r up _ </proc/uptime || return 1
  now="$(bench_now_ms)"
  awk -v now="$now" -v up="$up" -v t="${fields[19]}" -v hz="$LIVE_HZ" \
    'BEGIN { printf "%.0f\n", now - (up - t / hz) * 1000 }'
}

# The Deployment exactly as the e2e suites write it (their library in a
# subshell: it sets globals of its own).
live_deployment_yaml() { # NS NAME REPLICAS BEHAVIOR [KEY=VALUE...]
  (
    # shellcheck source=tests/e2e/lib.sh
    source "$ROOT/tests/e2e/lib.sh" && e2e_targets_deployment "$@"
  )
}

prepare_live() {
  command -v jq >/dev/null || die "jq is required (hack/install-deps.sh installs it)"
  command -v curl >/dev/null || die "curl is required"
  find_go
  # hack/backends.sh builds tests/targets at every start; this fills Go's
  # build cache so that the first run does not compile the world.
  (cd "$ROOT/tests/targets" && nice -n 10 "$GO" build -trimpath -o /dev/null .) ||
    die "cannot build tests/targets"
}

# ------------------------------------------------------------- lifecycle

LIVE_PIDS=()      # controllers this section started
LIVE_BACKENDS=()  # hack/backends.sh state directories
LIVE_NSS=()       # namespaces this section created
LIVE_CLEANED=1

live_cleanup() {
  [ "$LIVE_CLEANED" -eq 1 ] && return 0
  LIVE_CLEANED=1
  local p b n
  for p in "${LIVE_PIDS[@]}"; do bench_stop_pid "$p" 5; done
  LIVE_PIDS=()
  for b in "${LIVE_BACKENDS[@]}"; do
    "$ROOT/hack/backends.sh" stop "$b" >/dev/null 2>&1
  done
  LIVE_BACKENDS=()
  if [ -n "${LIVE_KUBECTL:-}" ]; then
    for n in "${LIVE_NSS[@]}"; do
      live_k delete namespace "$n" --ignore-not-found --wait=false >/dev/null 2>&1
    done
  fi
  LIVE_NSS=()
}

# Namespaces of an earlier run that was killed outright.
live_remove_stale() {
  local name pid gone
  # '|' not a space: IFS whitespace would merge the empty fields.
  while IFS='|' read -r name pid gone; do
    # Still being deleted (by the run that made it): nothing to do.
    if [ -z "$name" ] || [ -n "$gone" ]; then continue; fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      log "namespace $name belongs to a running benchmark (pid $pid); leaving it"
      continue
    fi
    log "removing namespace $name, left by an earlier run"
    live_k delete namespace "$name" --wait=false >/dev/null 2>&1
  done < <(live_k get namespace -l "$LIVE_LABEL=live" \
    -o 'jsonpath={range .items[*]}{.metadata.name}{"|"}{.metadata.annotations.bench\.leakwatch\.dev/pid}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null)
}

# ------------------------------------------------------------------ one run

# live_metrics PORT NS FILE -> "cheap_ok cheap_failed full_ok full_failed
#   backoff" from one scrape of the controller's /metrics (kept in FILE):
#   captures by kind and result, and the captures skipped while the pod
#   was backing off after a failure, whatever their kind (such a skip is
#   counted before its kind is known: as kind "goroutine"); then
#   "POD COUNT" for each pod of NS with a leakwatch_pod_goroutines series
#   (the count of its last cheap sample).
live_metrics() {
  curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" >"$3" 2>/dev/null || return 1
  awk -v ns="$2" '
    /^leakwatch_captures_total[{]/ {
      v = $NF + 0; ok = ($0 ~ /result="ok"/)
      if ($0 ~ /result="backoff"/) bo += v
      else if ($0 ~ /kind="metrics"/) { if (ok) co += v; else cx += v }
      else { if (ok) fo += v; else fx += v }
    }
    /^leakwatch_pod_goroutines[{]/ && index($0, "namespace=\"" ns "\"") && match($0, /pod="[^"]*"/) {
      pods[++n] = substr($0, RSTART + 5, RLENGTH - 6) " " ($NF + 0)
    }
    END { print co + 0, cx + 0, fo + 0, fx + 0, bo + 0; for (i = 1; i <= n; i++) print pods[i] }' "$3"
}

# live_leak_events NS FILE -> how many pods have a GoroutineLeak Event by
#   leakwatch (the Events kept in FILE as JSON).
live_leak_events() {
  live_k -n "$1" get events --request-timeout=10s \
    --field-selector reason=GoroutineLeak,involvedObject.kind=Pod -o json >"$2.tmp" 2>/dev/null || return 1
  mv "$2.tmp" "$2"
  jq '[.items[] | select(.source.component == "leakwatch") | .involvedObject.uid] | unique | length' "$2"
}

# live_run INTERVAL_S
#   One run: controller, then the leaking Deployment, until every replica
#   has its Event or the cap; writes $OUT/live/run-<INTERVAL>s.json.
live_run() {
  local iv="$1" tag="${1}s" dir="$OUT/live"
  local ns="lw-bench-live-$$-$tag" st="$LIVE_STATE/$tag"
  local log="$dir/controller-$tag.log" pid port="" i now
  mkdir -p "$st"
  log "--interval $tag: namespace $ns"
  if ! live_k apply -f - >/dev/null <<YAML; then
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
  labels: {$LIVE_LABEL: live}
  annotations: {bench.leakwatch.dev/pid: "$$"}
YAML
    bench_fail "kubectl create namespace $ns"
    jq -n --argjson iv "$iv" '{interval_s: $iv, failed: true, why: "namespace not created"}' >"$dir/run-$tag.json"
    return 1
  fi
  LIVE_NSS+=("$ns")

  # Backends first: their build is done before the pods exist, and their
  # loop starts a process for each pod within a second of its Running.
  LIVE_BACKENDS+=("$st/backends")
  if ! PATH="$(dirname "$GO"):$PATH" KUBECTL="$LIVE_KUBECTL" \
    "$ROOT/hack/backends.sh" start "$ns" "$st/backends" >"$dir/backends-$tag.log" 2>&1; then
    bench_fail "hack/backends.sh start $ns"
    tail -n 5 "$dir/backends-$tag.log" | sed 's/^/    /' >&2
    jq -n --argjson iv "$iv" '{interval_s: $iv, failed: true, why: "backends did not start"}' >"$dir/run-$tag.json"
    return 1
  fi

  # The controller: every detection flag at its default but --interval.
  local args=(controller --kubeconfig "$KUBECONFIG" --namespaces "$ns"
    --interval "$tag" --transport direct
    --lease-namespace "$ns" --lease-name leakwatch-bench-live --identity "bench-live-$tag"
    --metrics-addr 127.0.0.1:0 --evidence-dir "$st/evidence"
    --log-format json --log-level debug)
  local t_ctl
  t_ctl="$(bench_now_ms)"
  nice -n "$BENCH_NICE" "$LEAKWATCH_BIN" "${args[@]}" >"$log" 2>&1 &
  pid=$!
  LIVE_PIDS+=("$pid")
  echo "${LEAKWATCH_BIN#"$ROOT"/} ${args[*]}" | sed "s|$st/||g; s|$KUBECONFIG|\$KUBECONFIG|g" >"$dir/command-$tag.txt"
  local leading=0
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [ -n "$port" ] ||
      port="$(jq -rR 'fromjson? | select(.msg == "controller started") | .metrics_port // empty' "$log" 2>/dev/null | head -n 1)"
    grep -q '"msg":"became leader"' "$log" 2>/dev/null && leading=1
    [ -n "$port" ] && [ "$leading" -eq 1 ] && break
    sleep 0.1
  done
  if [ -z "$port" ] || [ "$leading" -eq 0 ]; then
    bench_fail "leakwatch controller --interval $tag did not start and lead within 60 s (metrics port '$port')"
    tail -n 5 "$log" | sed 's/^/    /' >&2
    bench_stop_pid "$pid" 5
    jq -n --argjson iv "$iv" '{interval_s: $iv, failed: true, why: "controller did not start"}' >"$dir/run-$tag.json"
    return 1
  fi
  local t_lead
  t_lead="$(bench_now_ms)"

  # The leaking revision.
  local t_apply
  t_apply="$(bench_now_ms)"
  if ! live_deployment_yaml "$ns" leaky "$BENCH_LIVE_REPLICAS" "$LIVE_BEHAVIOR" \
    targets.leakwatch.dev/rate="$BENCH_LIVE_RATE" >"$st/deployment.yaml" ||
    ! live_k apply -f "$st/deployment.yaml" >/dev/null; then
    bench_fail "kubectl apply of the leaking Deployment"
    bench_stop_pid "$pid" 5
    jq -n --argjson iv "$iv" '{interval_s: $iv, failed: true, why: "Deployment not created"}' >"$dir/run-$tag.json"
    return 1
  fi
  cp "$st/deployment.yaml" "$dir/deployment-$tag.yaml"
  log "--interval $tag: controller leads after $(((t_lead - t_ctl) / 1000)) s; Deployment created; waiting for $BENCH_LIVE_REPLICAS Events (at most $BENCH_LIVE_CAP s)"

  : >"$dir/metrics-$tag.tsv"
  : >"$dir/samples-$tag.tsv"
  : >"$dir/process-start-$tag.tsv"
  : >"$dir/event-seen-$tag.tsv"
  local -A started=() sampled=() seen=()
  local count
  local deadline=$((t_apply + BENCH_LIVE_CAP * 1000)) next_events=0 reported=0 logged=0
  local crashed=0 capped=0 pidf name bpid ms line m uid last_progress=$SECONDS tick=0
  # /metrics twice a second (which pod a full capture was for is read off
  # the cheap sample just before it); the rest once a second.
  while :; do
    now="$(bench_now_ms)"
    if ! kill -0 "$pid" 2>/dev/null; then crashed=1; break; fi
    # Capture counters, and which pods have been sampled.
    if m="$(live_metrics "$port" "$ns" "$st/metrics.txt")"; then
      { read -r line; echo "$now $line" >>"$dir/metrics-$tag.tsv"
        # A leaking pod's count changes at every cheap sample: a new value
        # is a sample, seen within half a second.
        while read -r name count; do
          if [ -z "$name" ] || [ "${sampled[$name]:-}" = "$count" ]; then continue; fi
          sampled[$name]="$count"
          echo "$name $now $count" >>"$dir/samples-$tag.tsv"
        done; } <<<"$m"
    fi
    tick=$((tick + 1))
    if [ $((tick % 2)) -eq 0 ]; then sleep 0.5; continue; fi
    # Each replica's backend process, once hack/backends.sh started it.
    if [ "${#started[@]}" -lt "$BENCH_LIVE_REPLICAS" ]; then
      for pidf in "$st/backends/pods/"*.pid; do
        [ -f "$pidf" ] || continue
        name="$(basename "$pidf" .pid)"
        [ -z "${started[$name]:-}" ] || continue
        bpid="$(cat "$pidf" 2>/dev/null)" || continue
        ms="$(live_proc_start_ms "$bpid")" || continue
        started[$name]="$ms"
        echo "$name $ms $bpid" >>"$dir/process-start-$tag.tsv"
      done
    fi
    # The Events: from the API as soon as the log says one was posted
    # (the log line comes first), and every 10 s regardless.
    # grep first: jq would parse the whole debug log every second.
    logged="$(grep -F '"msg":"goroutine leak"' "$log" 2>/dev/null |
      jq -rR 'fromjson? | select(.msg == "goroutine leak") | .pod' 2>/dev/null | sort -u | grep -c .)"
    if [ "$logged" -gt "$reported" ] || [ "$now" -ge "$next_events" ]; then
      if m="$(live_leak_events "$ns" "$st/events.json")"; then
        reported="$m"
        while read -r uid; do
          if [ -z "$uid" ] || [ -n "${seen[$uid]:-}" ]; then continue; fi
          seen[$uid]="$now"
          echo "$uid $now" >>"$dir/event-seen-$tag.tsv"
        done < <(jq -r '.items[] | select(.source.component == "leakwatch") | .involvedObject.uid' "$st/events.json")
      fi
      next_events=$((now + 10000))
    fi
    [ "$reported" -ge "$BENCH_LIVE_REPLICAS" ] && break
    if [ "$now" -ge "$deadline" ]; then capped=1; break; fi
    if [ $((SECONDS - last_progress)) -ge 60 ]; then
      log "--interval $tag: $(((now - t_apply) / 1000)) s: ${#started[@]} backends, ${#sampled[@]} pods sampled, $(grep -c '"msg":"goroutine growth suspected"' "$log") suspected, $reported Events"
      last_progress=$SECONDS
    fi
    sleep 0.5
  done
  local t_end
  t_end="$(bench_now_ms)"
  live_k -n "$ns" get pods -o json >"$dir/pods-$tag.json" 2>/dev/null || echo '{"items": []}' >"$dir/pods-$tag.json"
  live_k -n "$ns" get events -o json >"$dir/events-$tag.json" 2>/dev/null || echo '{"items": []}' >"$dir/events-$tag.json"

  # A graceful stop is part of the contract (tests/e2e/controller.sh).
  local rc why=""
  if [ "$crashed" -eq 1 ]; then
    wait "$pid"; rc=$?
    why="controller exited (status $rc) after $(((t_end - t_apply) / 1000)) s"
    bench_fail "leakwatch controller --interval $tag: $why"
    tail -n 5 "$log" | sed 's/^/    /' >&2
  else
    bench_stop_child "$pid"
    rc=$BENCH_RC
  fi
  "$ROOT/hack/backends.sh" stop "$st/backends" >/dev/null 2>&1
  live_k delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
  [ "$capped" -eq 1 ] && log "--interval $tag: cap of $BENCH_LIVE_CAP s reached with $reported of $BENCH_LIVE_REPLICAS Events"
  live_summarise "$iv" "$ns" "$t_ctl" "$t_lead" "$t_apply" "$t_end" "$capped" "$rc" "$why"
}

# live_summarise INTERVAL NS T_CTL T_LEAD T_APPLY T_END CAPPED EXIT WHY
live_summarise() {
  local iv="$1" tag="${1}s" dir="$OUT/live"
  local tsv2json='split("\n") | map(select(length > 0) | split(" "))'
  jq -n \
    --argjson iv "$iv" --arg ns "$2" --argjson tctl "$3" --argjson tlead "$4" \
    --argjson tapply "$5" --argjson tend "$6" --argjson capped "$7" --arg exit "$8" --arg why "$9" \
    --argjson replicas "$BENCH_LIVE_REPLICAS" --argjson cap "$BENCH_LIVE_CAP" \
    --argjson tint "$LIVE_TARGET_INTERVALS" \
    --slurpfile pods "$dir/pods-$tag.json" --slurpfile events "$dir/events-$tag.json" \
    --argjson starts "$(jq -Rs "$tsv2json | map({key: .[0], value: (.[1] | tonumber)}) | from_entries" "$dir/process-start-$tag.tsv")" \
    --argjson samples "$(jq -Rs "$tsv2json | map({pod: .[0], t: (.[1] | tonumber), count: (.[2] | tonumber)})" "$dir/samples-$tag.tsv")" \
    --argjson seen "$(jq -Rs "$tsv2json | map({key: .[0], value: (.[1] | tonumber)}) | from_entries" "$dir/event-seen-$tag.tsv")" \
    --argjson metrics "$(jq -Rs "$tsv2json | map(map(tonumber) | {t: .[0], cheap_ok: .[1], cheap_failed: .[2], full_ok: .[3], full_failed: .[4], backoff_skips: .[5]})" "$dir/metrics-$tag.tsv")" \
    --argjson lines "$(jq -cR 'fromjson? | select(.msg == "goroutine growth suspected" or .msg == "goroutine leak"
        or .msg == "analysis" or .msg == "sample failed" or .msg == "full capture failed"
        or .msg == "baseline peer capture failed; judging the pod'"'"'s own captures")
        | {msg, ts, pod, verdict, pattern, peer}' "$dir/controller-$tag.log" | jq -s .)" '
    def ms: capture("^(?<w>[^.]+?)([.](?<f>[0-9]+))?Z$")
      | ((.w + "Z") | fromdateiso8601) * 1000 + (("0." + (.f // "0")) | tonumber) * 1000;
    def s(a; b): if a == null or b == null then null else ((b - a) / 1000) end;
    def stats: map(select(. != null)) | sort
      | if length == 0 then {n: 0, median: null, min: null, max: null}
        else {n: length, median: .[(length / 2 | floor)], min: .[0], max: .[-1]} end;
    ($lines | map(.ms = (.ts | ms))) as $l
    # Full captures by pod: each rise of the full-capture counter goes to
    # the pod whose cheap sample was seen last, at most 2 s before (a full
    # capture follows its cheap sample in the same piece of work; the
    # analysis'"'"'s peer and evidence captures follow the last of them);
    # to no pod when two were seen in the same scrape.
    | [ range(1; $metrics | length) as $i | $metrics[$i] as $m | $metrics[$i - 1] as $q
        | (($m.full_ok + $m.full_failed) - ($q.full_ok + $q.full_failed)) as $d
        | select($d > 0)
        | [ $samples[] | select(.t <= $m.t and .t >= $m.t - 2000) ] as $c
        | [ $c[] | select(.t == ($c | map(.t) | max)) ] as $top
        | {t: $m.t, n: $d, pod: (if ($top | length) == 1 then $top[0].pod else null end)} ] as $fulls
    | [ $events[0].items[] | select(.source.component == "leakwatch" and .reason == "GoroutineLeak"
          and .involvedObject.kind == "Pod") ] as $ev
    | [ $pods[0].items[] | .metadata.name as $n | .metadata.uid as $u
        | [ $l[] | select(.pod == $n) ] as $pl
        | [ $ev[] | select(.involvedObject.uid == $u) ] as $pe
        | {
            name: $n, uid: $u,
            created_ms: (.metadata.creationTimestamp | ms),
            start_time_ms: (.status.startTime // null | if . == null then null else ms end),
            process_start_ms: ($starts[$n] // null),
            first_sample_ms: ([ $samples[] | select(.pod == $n) | .t ] | min),
            first_full_ms: ([ $fulls[] | select(.pod == $n) | .t ] | min),
            suspected_ms: ([ $pl[] | select(.msg == "goroutine growth suspected") | .ms ] | first),
            event_log_ms: ([ $pl[] | select(.msg == "goroutine leak") | .ms ] | first),
            event_first_timestamp_ms: ([ $pe[] | .firstTimestamp | ms ] | min),
            event_seen_ms: ($seen[$u] // null),
            events: ($pe | length),
            patterns: ([ $pl[] | select(.msg == "goroutine leak") | .pattern ] | unique),
            event_names_pattern: ([ $pe[] | select(.message | test("pattern chan-send:")) ] | length > 0),
            analyses: [ $pl[] | select(.msg == "analysis") | {ms, verdict} ],
            sample_failures: ([ $pl[] | select(.msg == "sample failed") ] | length),
            sample_failures_ms: [ $pl[] | select(.msg == "sample failed") | .ms ],
            full_capture_failures: ([ $pl[] | select(.msg == "full capture failed") ] | length)
          }
        | (.event_log_ms // 1e18) as $e | (.suspected_ms // 1e18) as $su
        | . + {
            cheap_samples_until_suspected: ([ $samples[] | select(.pod == $n and .t <= $su + 3000) ] | length),
            cheap_samples_until_event: ([ $samples[] | select(.pod == $n and .t <= $e + 3000) ] | length),
            full_captures_until_event: ([ $fulls[] | select(.pod == $n and .t <= $e + 3000) | .n ] | add // 0),
            full_before_suspected: (.first_full_ms != null and .suspected_ms != null and .first_full_ms < .suspected_ms - 3000)
          }
        | . + {
            from_process_s: {
              first_sample: s(.process_start_ms; .first_sample_ms),
              first_full_capture: s(.process_start_ms; .first_full_ms),
              suspected: s(.process_start_ms; .suspected_ms),
              event: s(.process_start_ms; .event_log_ms),
              event_api_first_timestamp: s(.process_start_ms; .event_first_timestamp_ms),
              event_seen_by_bench: s(.process_start_ms; .event_seen_ms)},
            from_start_time_s: {
              process_start: s(.start_time_ms; .process_start_ms),
              event: s(.start_time_ms; .event_log_ms),
              event_api_first_timestamp: s(.start_time_ms; .event_first_timestamp_ms)},
            first_sample_to_suspected_s: s(.first_sample_ms; .suspected_ms),
            first_sample_to_first_full_s: s(.first_sample_ms; .first_full_ms),
            first_full_to_event_s: s(.first_full_ms; .event_log_ms),
            suspected_to_event_s: s(.suspected_ms; .event_log_ms)
          } ] as $p
    | ([ $p[] | .event_log_ms ] | map(select(. != null)) | max) as $last_ev
    | ($metrics | map(select($last_ev != null and .t >= $last_ev)) | first // ($metrics | last)) as $mrow
    | {
        interval_s: $iv, failed: false, namespace: $ns, replicas: $replicas, cap_s: $cap,
        capped: ($capped == 1), exit_status: $exit, why: (if $why == "" then null else $why end),
        controller_leading_after_s: s($tctl; $tlead), run_s: s($tapply; $tend),
        pods: $p,
        reported: ([ $p[] | select(.events > 0) ] | length),
        missed: [ $p[] | select(.events == 0) | .name ],
        event_objects: ($ev | length),
        from_process_s: {
          first_sample: ([ $p[] | .from_process_s.first_sample ] | stats),
          first_full_capture: ([ $p[] | .from_process_s.first_full_capture ] | stats),
          suspected: ([ $p[] | .from_process_s.suspected ] | stats),
          event: ([ $p[] | .from_process_s.event ] | stats),
          event_api_first_timestamp: ([ $p[] | .from_process_s.event_api_first_timestamp ] | stats)},
        from_start_time_s: {
          process_start: ([ $p[] | .from_start_time_s.process_start ] | stats),
          event: ([ $p[] | .from_start_time_s.event ] | stats)},
        first_sample_to_suspected_s: ([ $p[] | .first_sample_to_suspected_s ] | stats),
        first_sample_to_first_full_s: ([ $p[] | .first_sample_to_first_full_s ] | stats),
        first_full_to_event_s: ([ $p[] | .first_full_to_event_s ] | stats),
        suspected_to_event_s: ([ $p[] | .suspected_to_event_s ] | stats),
        # Every replica within the target: the slowest one, or none when a
        # replica has no Event.
        slowest_event_s: (if ([ $p[] | select(.from_process_s.event == null) ] | length) > 0 or ($p | length) == 0
                          then null else ([ $p[] | .from_process_s.event ] | max) end),
        target_s: ($tint * $iv),
        captures_until_last_event: (if $mrow == null then null else ($mrow | del(.t)) end),
        analyses: ([ $p[] | .analyses | length ] | add // 0),
        full_captures_not_told_apart: ([ $fulls[] | select(.pod == null) | .n ] | add // 0),
        sample_failures: ([ $p[] | .sample_failures ] | add // 0),
        backoff_skips: (($metrics | last // {}) | .backoff_skips // 0)
      }' >"$dir/run-$tag.json"
}

# ------------------------------------------------------------------ report

live_measured() { [ -f "$1" ] && [ "$(jq -r .failed "$1")" = false ]; } # RUN_JSON

live_report() {
  local iv f sim_alarm sim_event fmt='  %-9s %-9s %-13s %-13s %-12s %-28s %-15s %-11s %s\n'
  echo
  echo "results (time from each pod's backend process start; median over the replicas, min..max):"
  # shellcheck disable=SC2059  # one format for the header and the rows
  printf "$fmt" interval replicas "first sample" "first full" suspected "GoroutineLeak Event" \
    "from startTime" "cheap/full" "simulated (detect, 1/s leak)"
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    [ -f "$f" ] || continue
    if [ "$(jq -r .failed "$f")" = true ]; then
      printf '  %-9s not measured (%s)\n' "${iv}s" "$(jq -r .why "$f")"
      continue
    fi
    sim_alarm="$(live_sim_alarm "$iv")"
    sim_event=""
    [ -n "$sim_alarm" ] && sim_event="$(awk -v a="$sim_alarm" -v s="$LIVE_SIM_SPAN" 'BEGIN { print a + s }')"
    # shellcheck disable=SC2059
    printf "$fmt" "${iv}s" \
      "$(jq -r '"\(.reported)/\(.replicas)"' "$f")" \
      "$(live_dur "$(jq -r .from_process_s.first_sample.median "$f")")" \
      "$(live_dur "$(jq -r .from_process_s.first_full_capture.median "$f")")" \
      "$(live_dur "$(jq -r .from_process_s.suspected.median "$f")")" \
      "$(live_dur "$(jq -r .from_process_s.event.median "$f")") ($(live_dur "$(jq -r .from_process_s.event.min "$f")")..$(live_dur "$(jq -r .from_process_s.event.max "$f")"))" \
      "$(live_dur "$(jq -r .from_start_time_s.event.median "$f")")" \
      "$(jq -r 'def med: sort | if length == 0 then "-" else .[(length / 2 | floor)] | tostring end;
                "\([ .pods[] | .cheap_samples_until_event ] | med)/\([ .pods[] | .full_captures_until_event ] | med)"' "$f")" \
      "$(if [ -n "$sim_alarm" ]; then echo "alarm $(live_dur "$sim_alarm"), Event >= $(live_dur "$sim_event")"; else echo "-"; fi)"
  done
  echo "  (first full: the pod's first full capture, which starts its episode; cheap/full: its cheap samples"
  echo "   and full captures until its Event, the analysis' peer and evidence captures included)"
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    live_measured "$f" || continue
    jq -r --arg iv "${iv}s" '
      (select(.full_captures_not_told_apart > 0)
       | "  (\($iv): \(.full_captures_not_told_apart) full captures came in a scrape that saw two pods sampled: counted for neither)"),
      (select(.sample_failures > 0 or .backoff_skips > 0)
       | "  (\($iv): \(.sample_failures) failed cheap samples, \(.backoff_skips) captures skipped while backing off after one)")' "$f"
  done
  echo
  echo "per replica (s from its process start: first sample / first full / suspected / Event logged / Event firstTimestamp, whole s):"
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    live_measured "$f" || continue
    jq -r --arg iv "${iv}s" '
      def r(x): if x == null then "-" else (x * 10 | round / 10 | tostring) end;
      .pods[] | . as $p |
      "  \($iv)  \(.name)  \(r(.from_process_s.first_sample)) / \(r(.from_process_s.first_full_capture)) / \(r(.from_process_s.suspected)) / \(if .from_process_s.event == null then "MISSED" else r(.from_process_s.event) end) / \(r(.from_process_s.event_api_first_timestamp))",
      "        \(.cheap_samples_until_suspected) cheap samples to suspicion, \(.cheap_samples_until_event) to the Event; \(.full_captures_until_event) full captures"
      + (if .full_before_suspected then " (from \(r(.first_sample_to_first_full_s)) s after the first sample: before suspicion, so the pod diverged from its peers)" else "" end)
      + "; analyses: \(.analyses | if length == 0 then "none" else "" end)\(.analyses | map("\(.verdict) at \(r(if $p.process_start_ms == null then null else (.ms - $p.process_start_ms) / 1000 end))") | join(", "))"
      + "; process \(r(.from_start_time_s.process_start)) s after startTime"
      + (if .sample_failures > 0 then "; sample failed at \(.sample_failures_ms | map(r(if $p.process_start_ms == null then null else (. - $p.process_start_ms) / 1000 end)) | join(", ")) s" else "" end)' "$f"
  done
  echo
  echo "where the time goes (medians over the replicas; window: first sample to first full capture, captures: first full capture to Event):"
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    live_measured "$f" || continue
    jq -r --arg iv "${iv}s" --argjson span "$LIVE_SIM_SPAN" '
      def r(x): if x == null then "-" else (x * 10 | round / 10 | tostring) end;
      def pct(x; t): if x == null or t == null or t == 0 then "-" else ((100 * x / t) | round | tostring) + "%" end;
      .from_process_s.event.median as $t |
      .from_process_s.first_sample.median as $a |
      .first_sample_to_first_full_s.median as $b |
      .first_full_to_event_s.median as $c |
      "  \($iv)  until first sample \(r($a)) s (\(pct($a; $t))), window \(r($b)) s (\(pct($b; $t)); \(if $b == null then "-" else r($b / .interval_s) end) intervals), captures \(r($c)) s (\(pct($c; $t)); \(if $c == null then "-" else r($c / .interval_s) end) intervals, --finding-min-span \($span) s = \(r($span / .interval_s)))",
      "        suspected to Event \(r(.suspected_to_event_s.median)) s (\(r(.suspected_to_event_s.min))..\(r(.suspected_to_event_s.max)))"' "$f"
  done
}

# live_sim_alarm INTERVAL -> detect's median first alarm (s) for the 1/s
#   leak at that interval, "" when it does not simulate that interval.
live_sim_alarm() {
  local f="$OUT/live/detect-series.json" key
  case "$1" in 15) key=leakwatch ;; 30) key=leakwatch_30s ;; *) return 0 ;; esac
  [ -f "$f" ] || return 0
  jq -r --arg k "$key" '.series[] | select(.name == "leak-1/s") | .[$k].median_first_alarm_s // empty' "$f"
}

live_report_targets() {
  local iv f v t r ok
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    t=$((LIVE_TARGET_INTERVALS * iv))
    local name
    name="Event within $(live_dur "$t" | sed 's/m00.0s/ min/') at --interval ${iv}s"
    if [ ! -f "$f" ] || [ "$(jq -r .failed "$f")" = true ]; then
      live_target "$name" "-" "" "" "run-${iv}s"
      continue
    fi
    v="$(jq -r '.slowest_event_s // empty' "$f")"
    if [ -z "$v" ]; then
      live_target "$name" "$(jq -r '"\(.reported) of \(.replicas) replicas reported in \(.cap_s) s"' "$f")" "" 0 "run-${iv}s.slowest_event_s"
      continue
    fi
    r="$(ratio "$v" "$t")"
    ok="$(awk -v v="$v" -v t="$t" 'BEGIN { print (v <= t) ? 1 : 0 }')"
    live_target "$name" "slowest of $(jq -r .replicas "$f") replicas $(live_dur "$v")" "$r" "$ok" "run-${iv}s.slowest_event_s"
  done
}

live_write_json() {
  local dir="$OUT/live" runs="{}" iv sim="null"
  for iv in $BENCH_LIVE_INTERVALS; do
    [ -f "$dir/run-${iv}s.json" ] || continue
    runs="$(jq -c --arg k "${iv}s" --slurpfile r "$dir/run-${iv}s.json" '. + {($k): $r[0]}' <<<"$runs")"
  done
  [ -f "$dir/detect-series.json" ] &&
    sim="$(jq -c '{series: (.series[] | select(.name == "leak-1/s")), event_span_s: .leakwatch_event_span_s,
                   note: "simulated: leak from minute 10 on a flat, noisy series (window already full); alarm = suspect flag rising"}' \
      "$dir/detect-series.json")"
  jq -n --argjson runs "$runs" --argjson sim "$sim" \
    --argjson targets "[$(IFS=,; echo "${LIVE_TARGETS[*]}")]" \
    --argjson checks "[$(IFS=,; echo "${LIVE_CHECKS[*]}")]" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg lw "$LIVE_LW_VERSION" --arg go "${GO_VERSION:-}" \
    --arg cpu "$LIVE_CPU_MODEL" --argjson ncpu "$(nproc)" --arg load "$LIVE_LOAD_START" \
    --arg cluster "${LEAKWATCH_CLUSTER:-leakwatch}" --arg intervals "$BENCH_LIVE_INTERVALS" \
    --argjson replicas "$BENCH_LIVE_REPLICAS" --arg rate "$BENCH_LIVE_RATE" \
    --argjson lpr "$LIVE_LEAKS_PER_REQUEST" --argjson cap "$BENCH_LIVE_CAP" --arg behavior "$LIVE_BEHAVIOR" \
    '{section: "live", date: $date,
      versions: {leakwatch: $lw, go: $go},
      machine: {cpu: $cpu, cpus: $ncpu, loadavg_at_start: $load},
      setup: {cluster: $cluster, intervals_s: ($intervals | split(" ") | map(select(length > 0) | tonumber)),
              replicas: $replicas, behavior: $behavior, requests_per_s: ($rate | tonumber),
              leaked_goroutines_per_s: (($rate | tonumber) * $lpr), cap_s: $cap, transport: "direct",
              controller_flags: "defaults but --interval (--finding-min-span 2m, --window 10, --raise-after 2, --min-delta 30, --min-growth-per-minute 2); --log-level debug",
              scenario: "controller running and leading before the leaking Deployment is created"},
      method: {process_start: "/proc/PID/stat start time of the pod'"'"'s tests/targets process (10 ms)",
               first_sample: "first scrape (every second) of the controller'"'"'s /metrics with the pod'"'"'s leakwatch_pod_goroutines",
               suspected: "controller log \"goroutine growth suspected\" (ms)",
               event: "controller log \"goroutine leak\" (ms), logged just before the Event is posted; the Event read back from the API",
               captures: "leakwatch_captures_total at the first scrape after the last Event (all pods; full includes peer captures)"},
      runs: $runs, simulated: $sim, targets: $targets, checks: $checks}' >"$OUT/live.json"
}

# -------------------------------------------------------------------- main

section_live() {
  # shellcheck disable=SC2034  # read by lib.sh's result records
  SECTION=live
  bench_begin live
  need_leakwatch
  prepare_live
  LIVE_LW_VERSION="$(leakwatch_version)"
  LIVE_CPU_MODEL="$(cpu_model)"
  LIVE_LOAD_START="$(load_avg)"
  LIVE_HZ="$(getconf CLK_TCK)"
  LIVE_CHECKS=(); LIVE_TARGETS=()
  local leak_rate
  leak_rate="$(awk -v r="$BENCH_LIVE_RATE" -v k="$LIVE_LEAKS_PER_REQUEST" 'BEGIN { print r * k }')"

  echo "== live: leakwatch ${LIVE_LW_VERSION:-?}, a leaking pod's start to its GoroutineLeak Event," \
    "controller on the local cluster (transport direct)"
  echo "   $BENCH_LIVE_REPLICAS replicas of tests/targets $LIVE_BEHAVIOR, each leaking $leak_rate goroutine/s" \
    "(rate $BENCH_LIVE_RATE requests/s); --interval $(echo "$BENCH_LIVE_INTERVALS" | sed 's/\([0-9][0-9]*\)/\1s/g; s/ /, then /g'), other flags at their defaults"
  echo "   $(nproc) CPUs ($LIVE_CPU_MODEL), load $LIVE_LOAD_START"

  # The simulated figure, for comparison (under a second).
  local sim
  sim="$(dirname "$LEAKWATCH_BIN")/bench/detect"
  LIVE_SIM_SPAN=120
  if [ -x "$sim" ]; then
    "$sim" --json "$OUT/live/detect-series.json" >/dev/null 2>&1 ||
      { log "$sim failed; no simulated figure"; rm -f "$OUT/live/detect-series.json"; }
    [ -f "$OUT/live/detect-series.json" ] &&
      LIVE_SIM_SPAN="$(jq -r '.leakwatch_event_span_s // 120' "$OUT/live/detect-series.json")"
  else
    log "$sim not built; no simulated figure"
  fi

  if ! bench_cluster_up; then
    bench_fail "hack/cluster.sh up: the local cluster did not start"
    live_write_json
    return 0
  fi
  LIVE_KUBECTL="$BENCH_KUBECTL"

  # Everything below is undone by live_cleanup, on any exit.
  bench_traps_push live_cleanup
  LIVE_CLEANED=0
  LIVE_PIDS=(); LIVE_BACKENDS=(); LIVE_NSS=()
  LIVE_STATE="$RUN_TMP/live"
  mkdir -p "$LIVE_STATE"
  live_remove_stale

  local iv f
  for iv in $BENCH_LIVE_INTERVALS; do
    case "$iv" in
      '' | *[!0-9]*) die "BENCH_LIVE_INTERVALS: '$iv' is not a whole number of seconds" ;;
    esac
    live_run "$iv"
  done

  echo
  echo "checks:"
  for iv in $BENCH_LIVE_INTERVALS; do
    f="$OUT/live/run-${iv}s.json"
    live_measured "$f" || continue
    live_check "${iv}s: backend processes started" "$(jq '[.pods[] | select(.process_start_ms != null)] | length' "$f")" "$BENCH_LIVE_REPLICAS"
    live_check "${iv}s: replicas with a GoroutineLeak Event" "$(jq -r .reported "$f")" "$BENCH_LIVE_REPLICAS"
    live_check "${iv}s: Events naming pattern $LIVE_BEHAVIOR" \
      "$(jq '[.pods[] | select(.event_names_pattern)] | length' "$f")" "$BENCH_LIVE_REPLICAS"
    live_check "${iv}s: GoroutineLeak Event objects on the pods (one each)" "$(jq -r .event_objects "$f")" "$BENCH_LIVE_REPLICAS"
    live_check "${iv}s: exit status after SIGTERM" "$(jq -r .exit_status "$f")" 0
  done

  live_report
  echo
  echo "targets:"
  live_report_targets
  live_write_json

  log "cleaning up (namespaces, backends, controller)"
  live_cleanup
  bench_traps_pop
  echo
  echo "wrote ${OUT#"$ROOT"/}/live.json"
}
