#!/usr/bin/env bash
# capture_errors.sh — `leakwatch capture` when things go wrong, through the
# real API server and kwok: nothing listening on the port, the pod deleted
# mid-capture, RBAC that forbids pods/portforward (a ServiceAccount token
# kubeconfig), an endpoint that stalls (timeout), one that streams forever
# (size cap), a gzip bomb served as a protobuf profile (decompression cap),
# a pod that does not exist.  Each must end quickly with exit 2 and one line
# naming the pod, the transport and why — no hang, no partial file — and the
# worst ones are rerun under valgrind for leaks.
#
# The misbehaving endpoints are tests/e2e/capture_badserver.c on the pod's
# loopback IP, behind a kwok PortForward.  Uses its own namespace (deleted at
# the end) and leaves the cluster up.  Not for: captures that work
# (capture_transports.sh).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LW_BUILD="${LW_BUILD:-$LW_ROOT/build}"

NS="lw-capture-err-$$"
# Other suites run processes on 127.1.x.y:6060; a port of our own.
PORT=$(e2e_free_port)

E2E_K_ARGS=(--request-timeout=30s)
e2e_start "$NS"
check "leakwatch is built ($LW_BIN)" test -x "$LW_BIN"
check "capture_badserver is built" test -x "$LW_BUILD/e2e/capture_badserver"

k create namespace "$NS" >/dev/null
lwc() { lw capture -n "$NS" "$@"; }

make_pod() { e2e_port_pod "$NS" "$1" "$PORT"; }
pod_ip() { e2e_pod_ip "$NS" "$1"; }

# forward POD ADDRESS: a kwok PortForward for $PORT to ADDRESS:$PORT.
forward() {
  k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: $1}
spec:
  forwards:
  - ports: [$PORT]
    target: {port: $PORT, address: "$2"}
EOF
}

# expect_fail DESC RC-WANTED MAX-SECONDS REGEX ARGS...: the capture fails
# with that exit status, within that time, with exactly one line on stderr
# matching REGEX, and leaves no file behind in its output directory.
expect_fail() {
  local d=$1 want=$2 max=$3 re=$4; shift 4
  rm -rf "$TMP/out"; mkdir -p "$TMP/out"
  local t0=$SECONDS rc
  lwc "$@" -o "$TMP/out" >"$TMP/stdout" 2>"$TMP/err"; rc=$?
  local took=$((SECONDS - t0))
  if [ "$rc" = "$want" ] && [ "$took" -le "$max" ] &&
     [ "$(wc -l <"$TMP/err")" = 1 ] && grep -Eq "$re" "$TMP/err" &&
     [ -z "$(ls -A "$TMP/out")" ] && [ ! -s "$TMP/stdout" ]; then
    ok "$d (${took}s)"
  else
    nok "$d: rc $rc (want $want), ${took}s (max $max)"; cat "$TMP/err"; ls -A "$TMP/out"
  fi
}

# ------------------------------------------------- nothing listening
make_pod deaf
DIP="$(pod_ip deaf)" || { nok "pod deaf has an IP"; finish; exit 1; }
forward deaf "$DIP"
poll 20 bash -c "'$LW_BIN' capture -n '$NS' pod/deaf --kind metrics -o /dev/null 2>&1 | grep -q 'error forwarding port.*refused'"
expect_fail "portforward, nothing listening: kwok's error-channel text is the error" 2 10 \
  "^leakwatch capture: pod $NS/deaf via portforward: error forwarding port $PORT to pod .*connection refused$" \
  pod/deaf --kind goroutine-debug1 --transport portforward
expect_fail "direct, nothing listening: connection refused" 2 10 \
  "^leakwatch capture: pod $NS/deaf via direct: GET http://$DIP:$PORT: .*(refused|Couldn't connect)" \
  pod/deaf --kind goroutine-debug1 --transport direct
expect_fail "auto (goroutine): the count probe's failure is the error" 2 10 \
  "^leakwatch capture: pod $NS/deaf via portforward: error forwarding port $PORT" \
  pod/deaf

# ------------------------------------------------- the misbehaving server
make_pod bad
BIP="$(pod_ip bad)" || { nok "pod bad has an IP"; finish; exit 1; }
"$LW_BUILD/e2e/capture_badserver" "$BIP:$PORT" >"$TMP/bad.log" 2>&1 &
E2E_PIDS+=($!)
forward bad "$BIP"
poll 30 curl -s "http://$BIP:$PORT/" || { nok "capture_badserver listens"; cat "$TMP/bad.log"; finish; exit 1; }
poll 30 bash -c "'$LW_BIN' capture -n '$NS' pod/bad --kind metrics -o /dev/null 2>&1 | grep -q 'HTTP 404'"

for tr in portforward direct; do
  expect_fail "$tr: a stalled endpoint times out (--timeout 3)" 2 8 \
    "^leakwatch capture: pod $NS/bad via $tr: (no data for [0-9.]+ s \\(stalled after 3 bytes\\)|timed out after [0-9.]+ s)" \
    pod/bad --transport "$tr" --kind goroutine-debug2 --path /stall/debug/pprof --timeout 3
  expect_fail "$tr: an endless body stops at --max-bytes 1Mi" 2 20 \
    "^leakwatch capture: pod $NS/bad via $tr: response (body )?exceeds the size limit of 1048576 bytes$" \
    pod/bad --transport "$tr" --kind goroutine-debug2 --path /forever/debug/pprof --max-bytes 1Mi
  expect_fail "$tr: a gzip bomb as protobuf stops at --max-decompressed 16Mi" 2 20 \
    "^leakwatch capture: pod $NS/bad via $tr: .*decompressed size exceeds 16777216 bytes" \
    pod/bad --transport "$tr" --kind goroutine-proto --path /bomb/debug/pprof --analyze --max-decompressed 16Mi
  # Without parsing, the bomb's raw bytes are just what the pod served.
  curl -sf "http://$BIP:$PORT/bomb/debug/pprof/goroutine" -o "$TMP/want"
  if lwc pod/bad --transport "$tr" --kind goroutine-proto --path /bomb/debug/pprof -o "$TMP/bomb.pb.gz" \
       >/dev/null 2>"$TMP/err" && cmp -s "$TMP/bomb.pb.gz" "$TMP/want"; then
    ok "$tr: without --analyze the bomb is stored as served (raw bytes)"
  else
    nok "$tr: without --analyze the bomb is stored as served"; cat "$TMP/err"
  fi
  expect_fail "$tr: the pod's 404 is reported with its body" 2 10 \
    "^leakwatch capture: pod $NS/bad via $tr: GET /debug/pprof/goroutine\\?debug=1 answered HTTP 404: not here!$" \
    pod/bad --transport "$tr" --kind goroutine-debug1
done

# ------------------------------------------------- pod deleted mid-capture
# The process behind the pod keeps stalling (kwok does not stop it), so only
# noticing the deletion ends the capture early: the silent stream makes the
# capturer look the pod up every 5 s.
for tr in portforward direct; do
  pod="doomed-$tr"
  make_pod "$pod"
  OIP="$(pod_ip "$pod")"
  "$LW_BUILD/e2e/capture_badserver" "$OIP:$PORT" >"$TMP/$pod.log" 2>&1 &
  E2E_PIDS+=($!)
  forward "$pod" "$OIP"
  poll 30 bash -c "'$LW_BIN' capture -n '$NS' pod/$pod --kind metrics -o /dev/null 2>&1 | grep -q 'HTTP 404'"
  rm -rf "$TMP/out"; mkdir -p "$TMP/out"
  t0=$SECONDS
  lwc "pod/$pod" --transport "$tr" --kind goroutine-debug2 --path /stall/debug/pprof --timeout 60 \
    -o "$TMP/out" >/dev/null 2>"$TMP/err" &
  cap=$!
  sleep 2
  k -n "$NS" delete pod "$pod" --grace-period=0 --force >/dev/null 2>&1
  wait "$cap"; rc=$?
  took=$((SECONDS - t0))
  if [ "$rc" = 2 ] && [ "$took" -le 15 ] && [ "$(wc -l <"$TMP/err")" = 1 ] &&
     grep -Eq "^leakwatch capture: pod $NS/$pod via $tr: the pod (was deleted|is being deleted)" "$TMP/err" &&
     [ -z "$(ls -A "$TMP/out")" ]; then
    ok "$tr: pod deleted mid-capture: stops within ${took}s saying so"
  else
    nok "$tr: pod deleted mid-capture: rc $rc, ${took}s"; cat "$TMP/err"
  fi
done

# ------------------------------------------------- RBAC
k -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: reader}]
EOF
TOKEN="$(k -n "$NS" create token reader --duration=10m 2>/dev/null)"
SERVER="$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
CA="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
cat >"$TMP/sa.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$SERVER", certificate-authority-data: "$CA"}
users:
- name: reader
  user: {token: "$TOKEN"}
contexts:
- name: reader
  context: {cluster: c, user: reader, namespace: "$NS"}
current-context: reader
EOF
check "the ServiceAccount token can read pods" \
  bash -c "\"$KUBECTL\" --kubeconfig \"$TMP/sa.kubeconfig\" -n \"$NS\" get pod bad >/dev/null"
expect_fail "RBAC without pods/portforward: the API server's Forbidden, exit 2" 2 10 \
  "^leakwatch capture: pod $NS/bad via portforward: API server refused the port-forward \\(HTTP 403\\): .*forbidden.*pods/portforward" \
  pod/bad --kind goroutine-debug1 --kubeconfig "$TMP/sa.kubeconfig"
expect_fail "RBAC without pods/proxy: Forbidden through the proxy too" 2 10 \
  "^leakwatch capture: pod $NS/bad via proxy: API server answered 403: .*forbidden.*pods/proxy" \
  pod/bad --kind goroutine-debug1 --transport proxy --kubeconfig "$TMP/sa.kubeconfig"

# ------------------------------------------------- no such pod, usage
expect_fail "a pod that does not exist" 2 10 \
  "^leakwatch capture: pod $NS/ghost: .*not found" pod/ghost
lwc pod/bad --timeout 0 >/dev/null 2>"$TMP/err"; rc=$?
check "--timeout 0: usage error (exit 1)" bash -c "[ $rc = 1 ] && grep -q -- '--timeout' '$TMP/err'"
lwc pod/bad --transport carrier-pigeon >/dev/null 2>"$TMP/err"; rc=$?
check "unknown transport: usage error (exit 1)" bash -c "[ $rc = 1 ] && grep -q 'carrier-pigeon' '$TMP/err'"

# ------------------------------------------------- leaks, under valgrind
# (Skipped for a sanitizer build: ASan already checks that one, and the two
# cannot run together.)
if valgrind_usable "$LW_BIN"; then
  VG=("${LW_VALGRIND[@]}")
  for args in "pod/deaf --kind goroutine-debug1 --transport portforward" \
              "pod/bad --transport portforward --kind goroutine-debug2 --path /forever/debug/pprof --max-bytes 256K" \
              "pod/bad --transport portforward --kind goroutine-proto --path /bomb/debug/pprof --analyze --max-decompressed 4M" \
              "pod/bad --transport direct --kind goroutine-debug2 --path /stall/debug/pprof --timeout 3"; do
    # shellcheck disable=SC2086
    "${VG[@]}" "$LW_BIN" capture -n "$NS" $args -o "$TMP" >/dev/null 2>"$TMP/vg"; rc=$?
    if [ "$rc" = 2 ] && ! grep -q '^==[0-9]*==' "$TMP/vg"; then
      ok "valgrind clean: capture $args"
    else
      nok "valgrind: capture $args (rc $rc)"; head -40 "$TMP/vg"
    fi
  done
fi

finish
