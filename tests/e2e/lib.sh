# tests/e2e/lib.sh — what the end-to-end suites share: the local cluster,
# kubectl, polling, cleanup on exit, the workloads they deploy (real Go
# backends behind kwok pods, pods that run nothing), the controller run
# under the manifests' RBAC, and reading the Events leakwatch wrote.  Source
# it after tests/cli/lib.sh (the assertions).
#
#   e2e_start [NAMESPACE...]  scratch dir $TMP, cluster up ($KUBECTL,
#                           $KUBECONFIG), e2e_stop on exit; the namespaces
#                           (created by the suite) are deleted then.  Its two
#                           halves: e2e_scratch [NAMESPACE...], e2e_cluster_up
#   e2e_init NAMESPACE      the same for a suite of backends: a fresh
#                           namespace ($E2E_NS), state in $E2E_STATE (=$TMP),
#                           backends stopped on exit
#   E2E_KEEP_STATE=1        keeps $TMP for a look after the run
#   e2e_on_exit CMD...      one more step for e2e_stop: after E2E_PIDS are
#                           stopped, before the namespaces go
#   E2E_PIDS                processes e2e_stop stops (E2E_STOP_SIGNAL, TERM
#                           unless the suite says, then waited for)
#   E2E_K_ARGS              arguments every k call adds (a request timeout,
#                           a namespace, an admin kubeconfig)
#   k ARGS...               kubectl
#   poll SECS CMD...        run CMD quietly until it succeeds
#   wait_until SECS CMD...  CMD every second until it succeeds, output kept
#   wait_line FILE REGEX SECS   until a line of FILE matches REGEX
#   e2e_driver NAME         $DRIVER: the C driver build/e2e/NAME, or the end
#   kubeconfig_as FILE USER a kubeconfig that impersonates USER
#   e2e_backends_start      a real process behind every labelled pod
#   lw_event_messages OBJ_UID REASON   messages leakwatch wrote on that object
#   lw_event_counts OBJ_UID REASON     the count of each such Event object
#   e2e_controller_sa       the manifests' RBAC, and $SA_KUBECONFIG that
#                           impersonates the controller's ServiceAccount
#   e2e_targets_deployment NS NAME REPLICAS BEHAVIOR [KEY=VALUE...]
#                           the YAML of a Deployment of opted-in kwok pods
#                           that hack/backends.sh backs with real processes
#   e2e_controller LOG ARGS...  `leakwatch controller ARGS` in the
#                           background ($CTL), JSON debug log in LOG
#   e2e_metrics_port LOG, e2e_readyz LOG   that controller's port, /readyz
#   e2e_free_port           a local TCP port nothing listens on
#   e2e_port_pod NS NAME PORT   an opted-in kwok pod the suite serves itself
#   e2e_pod_ip NS NAME      that pod's (loopback) IP, once it has one
#   e2e_pause_deployment NAME APP REPLICAS [PORT]   the YAML of a Deployment
#                           of pods that run nothing
#   e2e_pause_pod NAME      the YAML of one bare such pod
#
# Not for: assertions (tests/cli/lib.sh) or anything a single suite needs.
# shellcheck shell=bash  # sourced, never run on its own

E2E_PIDS=()
E2E_NAMESPACES=()
E2E_K_ARGS=()
E2E_ON_EXIT=()
E2E_STOP_SIGNAL=TERM
KUBECTL=${KUBECTL:-}

k() { "$KUBECTL" "${E2E_K_ARGS[@]}" "$@"; }

# poll SECS CMD...: CMD (quiet) until it succeeds; 1 when SECS pass first.
poll() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

wait_until() { # seconds, command...
  local t=$1; shift
  local deadline=$((SECONDS + t))
  while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 1; done
  return 1
}

wait_line() { # file regex seconds
  local deadline=$((SECONDS + $3))
  until grep -E -- "$2" "$1" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# e2e_driver NAME: DRIVER is the suite's C driver (tests/e2e/NAME.c), built
# now if the build tree lacks it; without one the suite ends, failed.
e2e_driver() {
  DRIVER=${LW_BUILD:-$LW_ROOT/build}/e2e/$1
  if [ ! -x "$DRIVER" ]; then
    make -C "$LW_ROOT" "build/e2e/$1" >/dev/null 2>&1 && DRIVER=$LW_ROOT/build/e2e/$1
  fi
  if [ ! -x "$DRIVER" ]; then
    nok "driver $DRIVER is built"
    finish; exit 1
  fi
}

# e2e_cluster_up: the local cluster (hack/cluster.sh) and its kubectl, or a
# failed check and the end of the suite.
e2e_cluster_up() {
  local out
  if ! out=$("$LW_ROOT/hack/cluster.sh" up); then
    nok "hack/cluster.sh up"
    finish; exit 1
  fi
  eval "$out"
  KUBECTL=$("$LW_ROOT/hack/tools.sh" path kubectl)
  export KUBECTL KUBECONFIG
}

e2e_on_exit() { E2E_ON_EXIT+=("$*"); }

e2e_stop() {
  local step p
  # Also under set -e: a process already gone must not end the cleanup.
  for p in "${E2E_PIDS[@]}"; do kill -"$E2E_STOP_SIGNAL" "$p" 2>/dev/null || true; done
  for p in "${E2E_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for step in "${E2E_ON_EXIT[@]}"; do eval "$step" || true; done
  if [ -n "$KUBECTL" ] && [ ${#E2E_NAMESPACES[@]} -gt 0 ]; then
    "$KUBECTL" delete namespace "${E2E_NAMESPACES[@]}" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  fi
  if [ "${_fail:-0}" -gt 0 ]; then e2e_failure_report; fi
  if [ -n "${E2E_KEEP_STATE:-}" ]; then
    echo "state kept in $TMP"
  else
    rm -rf "$TMP"
  fi
}

# After a failed check: the logs of the run are copied next to the suite's
# own (build/test-logs/<suite>-state/), and what the controller decided
# (its "msg" field, one line per decision, capture noise left out) is
# printed at the end of the output, where a CI summary that keeps only the
# tail still shows it.
e2e_failure_report() {
  local dest f
  dest="${LW_BUILD:-$LW_ROOT/build}/test-logs/$(basename "$0" .sh)-state"
  rm -rf "$dest"; mkdir -p "$dest"
  for f in "$TMP"/*.log "$TMP"/*.out; do
    [ -f "$f" ] && cp "$f" "$dest/"
  done
  for f in "$TMP"/*.log; do
    if [ ! -f "$f" ] || ! grep -q '"msg":' "$f"; then continue; fi
    echo "  -- what $(basename "$f") decided (kept in $dest):"
    jq -Rr 'fromjson? | select(.msg | test("^(capture|sample|peer capture)") | not)
            | [.ts[11:19], .level, .msg, .namespace, .pod, .workload, .why,
               .function, .message] | map(select(. != null) | tostring | .[0:200])
            | join(" | ")' "$f" | tail -n 30 | sed 's/^/  /'
  done
}

# e2e_scratch [NAMESPACE...]: $TMP, and e2e_stop on exit (it deletes the
# namespaces); for a suite with work to do before it needs the cluster.
e2e_scratch() {
  E2E_NAMESPACES=("$@")
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-e2e-$(basename "$0" .sh).XXXXXX")
  trap e2e_stop EXIT
}

e2e_start() { # namespace...
  e2e_scratch "$@"
  e2e_cluster_up
}

# kubeconfig_as FILE USER: a copy of $KUBECONFIG whose current user
# impersonates USER (a ServiceAccount's system:serviceaccount:NS:NAME), so
# that what runs with it is authorised by that user's RBAC alone.
# (Written with awk: `kubectl config set users.NAME.as` refuses the path.)
kubeconfig_as() {
  local user
  user=$("$KUBECTL" config view --minify -o 'jsonpath={.contexts[0].context.user}')
  awk -v u="$user" -v as="$2" '
    $0 ~ "^- name: "u"$" { inuser = 1 }
    { print }
    inuser && $0 ~ "^  user:" { print "    as: " as; inuser = 0 }
  ' "$KUBECONFIG" >"$1"
}

e2e_init() { # namespace
  E2E_NS=$1
  e2e_scratch "$E2E_NS"
  E2E_STATE=$TMP
  E2E_STOP_SIGNAL=KILL
  e2e_on_exit '"$LW_ROOT/hack/backends.sh" stop "$E2E_STATE/backends" >/dev/null 2>&1'
  e2e_cluster_up
  k delete namespace "$E2E_NS" --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1 || true
  k create namespace "$E2E_NS" >/dev/null
}

e2e_backends_start() {
  "$LW_ROOT/hack/backends.sh" start "$E2E_NS" "$E2E_STATE/backends"
}

# Messages of the Events leakwatch wrote on one object, one per line.
lw_event_messages() { # uid reason
  k -n "$E2E_NS" get events --field-selector "involvedObject.uid=$1,reason=$2" \
    -o 'jsonpath={range .items[?(@.source.component=="leakwatch")]}{.message}{"\n"}{end}' 2>/dev/null
}

uid_of() { # kind/name
  k -n "$E2E_NS" get "$1" -o 'jsonpath={.metadata.uid}' 2>/dev/null
}

# The count of each GoroutineLeak (or other REASON) Event object leakwatch
# wrote on one object, one per line: "1" alone is one Event, written once.
lw_event_counts() { # uid reason
  k -n "$E2E_NS" get events --field-selector "involvedObject.uid=$1,reason=$2" \
    -o 'jsonpath={range .items[?(@.source.component=="leakwatch")]}{.count}{"\n"}{end}' 2>/dev/null
}

# e2e_controller_sa: the manifests' namespace and RBAC applied, and
# SA_KUBECONFIG ($TMP/sa.kubeconfig) impersonating the controller's
# ServiceAccount, so that a controller run with it is authorised by the
# manifests' RBAC alone.  (Plain kubectl: the manifests name their own
# namespace, whatever E2E_K_ARGS say.)
e2e_controller_sa() {
  "$KUBECTL" apply -f "$LW_ROOT/manifests/00-namespace.yaml" -f "$LW_ROOT/manifests/10-rbac.yaml" >/dev/null
  SA_KUBECONFIG=$TMP/sa.kubeconfig
  kubeconfig_as "$SA_KUBECONFIG" system:serviceaccount:leakwatch-system:leakwatch
}

# e2e_targets_deployment NS NAME REPLICAS BEHAVIOR [KEY=VALUE...]: prints
# the YAML of a Deployment of kwok pods labelled app=NAME, opted in to
# leakwatch (leakwatch.dev/scrape), whose pprof port is 6060 and which
# hack/backends.sh backs with a tests/targets process running BEHAVIOR.
# A KEY with a "/" is one more pod annotation (targets.leakwatch.dev/rate=4,
# leakwatch.dev/containment=restart, ...); binary=catalog runs
# tests/targets/catalog instead (its annotation and image);
# memory=QUANTITY sets the container's memory limit; finalizer=NAME puts a
# finalizer on every pod; image=REF names the container's image (kwok runs
# none: it is what a revision is told apart by).
e2e_targets_deployment() {
  local ns=$1 name=$2 replicas=$3 behavior=$4 kv annotations="" limits="" finalizers=""
  local image=leakwatch.dev/targets:e2e
  shift 4
  for kv in "$@"; do
    case "${kv%%=*}" in
      binary)
        image=leakwatch.dev/${kv#*=}:e2e
        annotations+=$'\n'"        targets.leakwatch.dev/binary: \"${kv#*=}\"" ;;
      */*) annotations+=$'\n'"        ${kv%%=*}: \"${kv#*=}\"" ;;
      memory) limits=$'\n'"          resources: {limits: {memory: ${kv#*=}}}" ;;
      image) image=${kv#*=} ;;
      finalizer) finalizers=$'\n'"      finalizers: [${kv#*=}]" ;;
      *) echo "e2e_targets_deployment: unknown option $kv" >&2; return 1 ;;
    esac
  done
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name, namespace: $ns}
spec:
  replicas: $replicas
  selector: {matchLabels: {app: $name}}
  template:
    metadata:
      labels: {app: $name, targets.leakwatch.dev/behavior: $behavior}
      annotations:
        leakwatch.dev/scrape: "true"$annotations$finalizers
    spec:
      nodeSelector: {type: kwok}
      containers:
        - name: app
          image: $image
          ports: [{name: pprof, containerPort: 6060}]$limits
YAML
}

# e2e_controller LOG ARGS...: `leakwatch controller ARGS` in the
# background, its metrics on a free local port (logged as metrics_port) and
# its JSON debug log in LOG.  CTL is its pid, also in E2E_PIDS so that it is
# stopped on exit; call it without a subshell, or neither holds.
e2e_controller() {
  local log=$1
  shift
  "$LW_BIN" controller "$@" --metrics-addr 127.0.0.1:0 \
    --log-format json --log-level debug >"$log" 2>&1 &
  CTL=$!
  E2E_PIDS+=("$CTL")
}

# e2e_metrics_port LOG: the metrics port the controller of LOG logged
# (empty until it has).
e2e_metrics_port() {
  grep -o '"metrics_port":"[0-9]*"' "$1" | head -1 | grep -o '[0-9][0-9]*'
}

# e2e_readyz LOG: what that controller's /readyz answers ("ok: leader",
# "ok: standby"); fails while it is not Ready.
e2e_readyz() {
  curl -sf --max-time 5 "http://127.0.0.1:$(e2e_metrics_port "$1")/readyz"
}

# e2e_free_port: a TCP port from 20000 up that nothing here listens on.
# Other suites run processes on 127.1.x.y:6060 (pod IPs of other clusters
# collide), so a suite that serves pods itself takes a port of its own.
e2e_free_port() {
  local port=$((20000 + RANDOM % 20000))
  while ss -Hltn "sport = :$port" 2>/dev/null | grep . >/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# e2e_port_pod NS NAME PORT: an opted-in kwok pod whose pprof port is PORT,
# with no backend behind it: the suite serves on the pod's IP itself.
e2e_port_pod() {
  k -n "$1" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $2
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "$3"}
spec:
  containers:
  - name: app
    image: example.invalid/app
    ports: [{name: pprof, containerPort: $3}]
EOF
}

# e2e_pod_ip NS NAME: waits (30 s at most) for the pod's IP and prints it;
# fails unless it is a loopback address, where a process of the suite can
# listen as the pod.
e2e_pod_ip() {
  local ip
  poll 30 test -n "$(k -n "$1" get pod "$2" -o jsonpath='{.status.podIP}' 2>/dev/null)" || return 1
  ip="$(k -n "$1" get pod "$2" -o jsonpath='{.status.podIP}')"
  case "$ip" in 127.*) echo "$ip" ;; *) echo "pod $2 has non-loopback IP $ip" >&2; return 1 ;; esac
}

# e2e_pause_deployment NAME APP REPLICAS [PORT]: prints the YAML of a
# Deployment NAME (no namespace: the caller's apply names it) of REPLICAS
# pods labelled app=APP that run nothing (the pause image), for suites that
# need pods to exist and not what serves in them; PORT, when given, is the
# container port they declare.
e2e_pause_deployment() {
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replicas: $3
  selector:
    matchLabels: {app: $2}
  template:
    metadata:
      labels: {app: $2}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10${4:+
        ports:
        - containerPort: $4}
YAML
}

# e2e_pause_pod NAME: prints the YAML of a bare pod NAME (no namespace, no
# labels) that runs nothing, for suites that need an object to exist.
e2e_pause_pod() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
YAML
}
