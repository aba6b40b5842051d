#!/usr/bin/env bash
# capture_transports.sh — `leakwatch capture` through the real API server and
# kwok: every kind (debug=1, debug=2, protobuf, the AUTO choice, goroutineleak,
# metrics) over the WebSocket port-forward and over direct pod IPs (kwok hands
# out 127.1.x.y pod IPs, so a real Go process listens on the pod's own IP),
# compared with a plain curl of the same target: byte-for-byte where the
# output is stable (debug=1, metrics, goroutineleak debug=1), by structure
# (same stacks and counts) where it is not (debug=2 ids and proto times).
# Also: the proxy transport's clear refusal for loopback pod IPs, -o -, a
# directory, the default file name, --analyze, a container port name, and
# the deployment/NAME form with its fresh-peer comparison.
#
# Each "pod" is a kwok pod plus a real tests/targets process on the pod IP and
# a kwok PortForward pointing at it.  Uses its own namespace (deleted at the
# end) and leaves the cluster up.  Not for: failures (capture_errors.sh).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LW_BUILD="${LW_BUILD:-$LW_ROOT/build}"

NS="lw-capture-$$"
# Other suites run their own processes on 127.1.x.y:6060 (pod IPs of other
# clusters collide); a port of our own keeps the processes apart.
PORT=$(e2e_free_port)

E2E_K_ARGS=(--request-timeout=30s)
e2e_start "$NS"
check "leakwatch is built ($LW_BIN)" test -x "$LW_BIN"

# The Go test services.  The goroutineleak build needs the Go 1.26
# experiment; it rebuilds the standard library once (then GOCACHE has it).
build_targets() {
  (cd "$LW_ROOT/tests/targets" && GOWORK=off GOFLAGS=-mod=readonly nice go build -o "$TMP/targets" .) &&
  (cd "$LW_ROOT/tests/targets" && GOWORK=off GOFLAGS=-mod=readonly GOEXPERIMENT=goroutineleakprofile \
     nice go build -o "$TMP/targets-leak" .)
}
if ! build_targets >"$TMP/build.log" 2>&1; then
  nok "build tests/targets"; cat "$TMP/build.log"; finish; exit 1
fi
ok "built tests/targets (plain and goroutineleakprofile)"
k create namespace "$NS" >/dev/null

lwc() { lw capture -n "$NS" "$@"; }

# pod_ip NAME: waits for the pod's IP and prints it.
pod_ip() { e2e_pod_ip "$NS" "$1"; }

# serve POD BINARY ARGS...: runs BINARY on the pod's IP:$PORT and points a
# kwok PortForward for port $PORT at it; waits until both answer.  The
# capture_badserver driver takes the address as its only argument and
# answers 404 to everything it does not misbehave on.
serve() {
  local pod=$1 bin=$2; shift 2
  local ip; ip="$(pod_ip "$pod")" || return 1
  if [ "$(basename "$bin")" = capture_badserver ]; then
    "$bin" "$ip:$PORT" >"$TMP/$pod.log" 2>&1 &
  else
    "$bin" "$@" -listen "$ip:$PORT" >"$TMP/$pod.log" 2>&1 &
  fi
  E2E_PIDS+=($!)
  k -n "$NS" apply -f - >/dev/null <<EOF || return 1
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: $pod}
spec:
  forwards:
  - ports: [$PORT]
    target: {port: $PORT, address: "$ip"}
EOF
  poll 20 curl -s "http://$ip:$PORT/healthz" || return 1
  # Through the PortForward (kwok picks it up asynchronously): any HTTP
  # answer from the process will do.
  poll 30 bash -c "'$LW_BIN' capture -n '$NS' 'pod/$pod' --kind metrics --transport portforward -o /dev/null 2>&1 | grep -Eq 'metrics \\(go_goroutines|HTTP 404'"
}

# make_pod NAME: an opted-in kwok pod, served on $PORT by the suite.
make_pod() { e2e_port_pod "$NS" "$1" "$PORT"; }

# same_bytes DESC URL ARGS...: the capture equals, byte for byte, a curl of
# URL taken just before or just after it.  Even two curls of debug=1 differ
# now and then (the serving connection's own goroutines are caught at
# different points), so a few rounds are allowed; a match is still an exact
# match with a body the process served.  Static bodies match every time.
same_bytes() {
  local d=$1 url=$2; shift 2
  for _ in 1 2 3 4 5 6 7 8; do
    curl -sf "$url" -o "$TMP/want1"
    if lwc "$@" -o "$TMP/got" 2>"$TMP/err" >/dev/null &&
       curl -sf "$url" -o "$TMP/want2" &&
       { cmp -s "$TMP/got" "$TMP/want1" || cmp -s "$TMP/got" "$TMP/want2"; }; then
      ok "$d"; return
    fi
  done
  nok "$d"; cat "$TMP/err"; cmp "$TMP/got" "$TMP/want2" | head -3
}

# same_stacks DESC URL ARGS...: same goroutines, stacks and counts as curl
# (leakwatch diff says nothing changed), and the format detected matches.
same_stacks() {
  local d=$1 url=$2 fmt=$3; shift 3
  local j
  for _ in 1 2 3; do
    if lwc "$@" -o "$TMP/got" 2>"$TMP/err" >/dev/null && curl -sf "$url" -o "$TMP/want" &&
       j="$(lw diff --json "$TMP/want" "$TMP/got" 2>>"$TMP/err")" &&
       [ "$(jq -r '[.total_delta, .grew, .shrank, .appeared, .vanished] | map(tostring) | join(" ")' <<<"$j")" = "0 0 0 0 0" ] &&
       [ "$(jq -r .target.format <<<"$j")" = "$fmt" ] &&
       [ "$(jq -r .target.total <<<"$j")" -gt 0 ]; then
      ok "$d"; return
    fi
    sleep 0.5
  done
  nok "$d"; cat "$TMP/err"; echo "$j" | head -20
}

# ---------------------------------------------------------------- one pod
make_pod steady
if ! serve steady "$TMP/targets" -behavior steady-pool -rate 0; then
  nok "pod steady serves through its PortForward"; cat "$TMP/steady.log"; finish; exit 1
fi
IP="$(pod_ip steady)"
ok "pod steady on $IP:$PORT answers through kwok's PortForward"
URL="http://$IP:$PORT/debug/pprof"

for tr in portforward direct; do
  same_bytes "$tr: goroutine-debug1 equals curl byte for byte" "$URL/goroutine?debug=1" \
    pod/steady --transport "$tr" --kind goroutine-debug1
  same_bytes "$tr: metrics equals curl of /metrics byte for byte" "http://$IP:$PORT/metrics" \
    pod/steady --transport "$tr" --kind metrics
  same_stacks "$tr: goroutine-debug2 has curl's stacks and counts" "$URL/goroutine?debug=2" debug=2 \
    pod/steady --transport "$tr" --kind goroutine-debug2
  same_stacks "$tr: goroutine-proto has curl's stacks and counts" "$URL/goroutine" protobuf \
    pod/steady --transport "$tr" --kind goroutine-proto
  if lwc pod/steady --transport "$tr" --kind goroutine-proto -o "$TMP/pb" 2>/dev/null >/dev/null &&
     [ "$(head -c2 "$TMP/pb" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
    ok "$tr: goroutine-proto is the gzipped protobuf itself"
  else
    nok "$tr: goroutine-proto is the gzipped protobuf itself"
  fi
  # AUTO: the count from /metrics (11 goroutines) picks debug=2.
  if lwc pod/steady --transport "$tr" -o "$TMP/auto" 2>"$TMP/err" >/dev/null &&
     grep -q "goroutine-debug2 (debug=2: [0-9]* goroutines <= 50000 (metrics))" "$TMP/err" &&
     head -1 "$TMP/auto" | grep -q '^goroutine [0-9]* \['; then
    ok "$tr: --kind goroutine chooses debug=2 from the go_goroutines count"
  else
    nok "$tr: --kind goroutine chooses debug=2 from the go_goroutines count"; cat "$TMP/err"
  fi
  # The plain build serves no goroutineleak profile: a clear exit 2.
  if lwc pod/steady --transport "$tr" --kind goroutineleak -o "$TMP/gl" 2>"$TMP/err" >/dev/null; then
    nok "$tr: goroutineleak on a plain build is refused"
  else
    rc=$?
    if [ "$rc" = 2 ] && grep -q "^leakwatch capture: pod $NS/steady via $tr: the goroutineleak profile is not served (HTTP 404" "$TMP/err" &&
       [ "$(wc -l <"$TMP/err")" = 1 ] && [ ! -e "$TMP/gl" ]; then
      ok "$tr: goroutineleak on a plain build: exit 2, one line, no file"
    else
      nok "$tr: goroutineleak on a plain build (rc $rc)"; cat "$TMP/err"
    fi
  fi
done

# A large static binary body (about 500 KiB of gzip, every byte value, many
# WebSocket frames) from a server whose answer never changes: equal to curl
# on the first try, through both transports.
make_pod static
if serve static "$LW_BUILD/e2e/capture_badserver"; then
  SIP="$(pod_ip static)"
  for tr in portforward direct; do
    curl -sf "http://$SIP:$PORT/bomb/debug/pprof/goroutine" -o "$TMP/want"
    if lwc pod/static --transport "$tr" --kind goroutine-proto --path /bomb/debug/pprof \
         -o "$TMP/got" 2>"$TMP/err" >/dev/null && cmp "$TMP/got" "$TMP/want" &&
       [ "$(stat -c %s "$TMP/got")" -gt 400000 ]; then
      ok "$tr: a 500 KiB static binary body equals curl byte for byte"
    else
      nok "$tr: a 500 KiB static binary body equals curl byte for byte"; cat "$TMP/err"
    fi
  done
else
  nok "pod static serves through its PortForward"; cat "$TMP/static.log"
fi

# Auto outside the cluster is the port-forward.
if lwc pod/steady --kind goroutine-debug1 -o /dev/null 2>"$TMP/err" >/dev/null &&
   grep -q "via portforward" "$TMP/err"; then
  ok "--transport auto outside the cluster uses the port-forward"
else
  nok "--transport auto outside the cluster uses the port-forward"; cat "$TMP/err"
fi

# Proxy: the API server refuses to proxy to loopback pod IPs; the refusal
# must be one clear line with exit 2 (kwok's loopback pod IPs are what make
# direct captures testable, so proxy can only be checked this far here).
lwc pod/steady --transport proxy --kind metrics -o "$TMP/px" 2>"$TMP/err" >/dev/null; rc=$?
if [ "$rc" = 2 ] && grep -q "^leakwatch capture: pod $NS/steady via proxy: API server answered 400: address not allowed$" "$TMP/err"; then
  ok "proxy: the API server's refusal of a loopback pod IP is reported (exit 2)"
else
  nok "proxy: refusal reported (rc $rc)"; cat "$TMP/err"
fi

# Output forms.
same=no
for _ in 1 2 3 4 5 6 7 8; do
  curl -sf "$URL/goroutine?debug=1" -o "$TMP/want1"
  lwc pod/steady --kind goroutine-debug1 -o - 2>/dev/null >"$TMP/stdout"
  curl -sf "$URL/goroutine?debug=1" -o "$TMP/want2"
  if cmp -s "$TMP/stdout" "$TMP/want1" || cmp -s "$TMP/stdout" "$TMP/want2"; then same=yes; break; fi
done
check "-o - writes the raw capture (and only it) to stdout" test "$same" = yes
mkdir -p "$TMP/dir"
path="$(cd "$TMP/dir" && lwc pod/steady --kind goroutine-debug1 2>/dev/null)"
if [[ "$path" =~ ^steady-goroutine-debug1-[0-9]{8}T[0-9]{6}Z\.txt$ ]] && [ -s "$TMP/dir/$path" ] &&
   [ "$(entries "$TMP/dir")" = 1 ]; then
  ok "default file name <pod>-<kind>-<time>.<ext>, path printed, nothing else left"
else
  nok "default file name (got '$path')"; ls -la "$TMP/dir"
fi
path="$(lwc pod/steady --kind goroutine-proto -o "$TMP/dir" 2>/dev/null)"
if [[ "$path" =~ ^$TMP/dir/steady-goroutine-proto-[0-9]{8}T[0-9]{6}Z\.pb\.gz$ ]] && [ -s "$path" ]; then
  ok "-o DIR puts the default name in DIR (.pb.gz for protobuf)"
else
  nok "-o DIR (got '$path')"
fi
path="$(lwc pod/steady --kind metrics -o "$TMP/dir" 2>/dev/null)"
check "metrics captures are .prom files" bash -c "[[ '$path' == *.prom ]] && grep -q '^go_goroutines ' '$path'"

# --analyze prints inspect's summary of what was just captured.
if lwc pod/steady --kind goroutine-debug2 --analyze -o "$TMP/an.txt" >"$TMP/an.out" 2>"$TMP/err" &&
   head -1 "$TMP/an.out" | grep -qx "$TMP/an.txt" &&
   grep -q "^$TMP/an.txt: debug=2 goroutine capture, [0-9]* goroutines in" "$TMP/an.out" &&
   grep -q "workerPool).worker" "$TMP/an.out"; then
  ok "--analyze prints leakwatch inspect's summary"
else
  nok "--analyze prints leakwatch inspect's summary"; cat "$TMP/an.out" "$TMP/err"
fi
if lwc pod/steady --kind goroutine-debug1 --analyze --json -o "$TMP/an.txt" 2>/dev/null | tail -n +2 |
   jq -e '.total > 0' >/dev/null; then
  ok "--analyze --json prints inspect's JSON"
else
  nok "--analyze --json prints inspect's JSON"
fi

# --port by container port name (and a name that does not exist).
same_bytes "--port pprof (a container port name) resolves to the pprof port" "$URL/goroutine?debug=1" \
  pod/steady --kind goroutine-debug1 --port pprof
lwc pod/steady --port nope -o /dev/null 2>"$TMP/err"; rc=$?
check "--port with an unknown name: exit 2 naming it" \
  bash -c "[ $rc = 2 ] && grep -q 'no container port named \"nope\"' '$TMP/err'"

# ------------------------------------------------------- goroutineleak build
make_pod leaky
if serve leaky "$TMP/targets-leak" -behavior chan-send -rate 100 -max-leak 40; then
  LIP="$(pod_ip leaky)"
  poll 20 bash -c "curl -sf 'http://$LIP:$PORT/metrics' | grep -q '^targets_requests_total 20$'"
  for tr in portforward direct; do
    same_bytes "$tr: goroutineleak (Go 1.26 experiment) equals curl byte for byte" \
      "http://$LIP:$PORT/debug/pprof/goroutineleak?debug=1" pod/leaky --transport "$tr" --kind goroutineleak
  done
  # The runtime's detector marks leaked goroutines as GC cycles prove them
  # unreachable, so how many of the 40 it has found at a given moment
  # varies; what must hold is that it found some, in the leaking stack.
  if lwc pod/leaky --kind goroutineleak --analyze -o "$TMP/leak.txt" >"$TMP/an.out" 2>&1 &&
     grep -qE "goroutineleak capture, ([1-9]|[1-3][0-9]|40) goroutines?" "$TMP/an.out" &&
     grep -q "chansend.go" "$TMP/an.out"; then
    ok "goroutineleak capture holds leaked chan-send goroutines"
  else
    nok "goroutineleak capture holds leaked chan-send goroutines"; cat "$TMP/an.out"
  fi
else
  nok "pod leaky serves through its PortForward"; cat "$TMP/leaky.log"
fi

# ------------------------------------------------------------ deployment form
# web starts with one replica running a leaking build; the second replica,
# younger, runs the healthy control: it must be picked as the fresh peer
# and the comparison must name the leaking stack.
k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "$PORT"}
    spec:
      containers:
      - name: app
        image: example.invalid/app
        ports: [{name: pprof, containerPort: $PORT}]
EOF
web_pods() { k -n "$NS" get pods -l app=web --sort-by=.metadata.creationTimestamp -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
poll 60 bash -c "[ \"\$('$KUBECTL' -n '$NS' get pods -l app=web -o name | wc -l)\" = 1 ]"
OLD="$(web_pods | head -1)"
serve "$OLD" "$TMP/targets" -behavior chan-send -rate 100 -max-leak 200 || nok "old web pod serves"
sleep 2 # creation timestamps have one-second resolution
k -n "$NS" scale deployment web --replicas=2 >/dev/null
poll 60 bash -c "[ \"\$('$KUBECTL' -n '$NS' get pods -l app=web -o name | wc -l)\" = 2 ]"
NEW="$(web_pods | tail -1)"
serve "$NEW" "$TMP/targets" -behavior steady-pool -rate 0 || nok "new web pod serves"
poll 60 bash -c "[ \"\$('$KUBECTL' -n '$NS' get deploy web -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
OIP="$(pod_ip "$OLD")"
poll 20 bash -c "curl -sf 'http://$OIP:$PORT/metrics' | grep -q '^targets_requests_total 100$'"
mkdir -p "$TMP/dep"
lwc deployment/web -o "$TMP/dep" >"$TMP/dep.out" 2>"$TMP/dep.err"; rc=$?
if [ "$rc" = 0 ] && [ "$(entries "$TMP/dep")" = 2 ] &&
   grep -q "^== $OLD (age [0-9smh]*) vs fresh peer $NEW (age [0-9smh]*) ==$" "$TMP/dep.out" &&
   grep -q "fetcher).gather.func1" "$TMP/dep.out" &&
   grep -Eq '\+200\b' "$TMP/dep.out" &&
   [ "$(grep -c "via portforward" "$TMP/dep.err")" = 2 ]; then
  ok "deployment/web: both pods captured, youngest is the fresh peer, +200 chan-send stack named"
else
  nok "deployment/web (rc $rc)"; cat "$TMP/dep.out" "$TMP/dep.err"; ls -la "$TMP/dep"
fi
lwc deployment/web -o - >/dev/null 2>"$TMP/err"; rc=$?
check "deployment with -o -: usage error" bash -c "[ $rc = 1 ] && grep -q 'give a directory' '$TMP/err'"
lwc deployment/nope >/dev/null 2>"$TMP/err"; rc=$?
check "unknown deployment: exit 2 naming it" bash -c "[ $rc = 2 ] && grep -q 'deployment $NS/nope: .*not found' '$TMP/err'"

finish
