# lib.sh — the steps hack/demo.sh and hack/demo-contain.sh share: build,
# cluster up, workloads, backends, the controller as a local process, and
# waiting for what it records.  Sourced, not run.
#
# The caller sets ROOT (the repo), STATE (its own folder under the cache),
# NS (its namespace), INTERVAL (the controller's) and DEMO (its name, for
# messages) before sourcing.  Not for: what a demo shows once its wait is
# over (each script says that itself).
# shellcheck shell=bash  # sourced, never run on its own

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

stop_controller() {
  if [ -f "$STATE/controller.pid" ]; then
    local pid
    pid=$(cat "$STATE/controller.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$STATE/controller.pid"
  fi
}

# Deps, leakwatch, the cluster; exports KUBECTL and KUBECONFIG.
demo_prepare() {
  "$ROOT/hack/install-deps.sh"
  say "building leakwatch"
  make -C "$ROOT" -s build/leakwatch >&2
  say "starting the local cluster (the first run builds Kubernetes from source)"
  eval "$("$ROOT/hack/cluster.sh" up)"
  KUBECTL=$("$ROOT/hack/tools.sh" path kubectl)
  export KUBECTL KUBECONFIG
  mkdir -p "$STATE"
  stop_controller
}

# demo_apply MESSAGE MANIFEST: applies it and waits for orders and catalog.
demo_apply() {
  say "$1"
  "$KUBECTL" apply -f "$2" >&2
  "$KUBECTL" -n "$NS" rollout status deploy/orders --timeout=120s >&2
  "$KUBECTL" -n "$NS" rollout status deploy/catalog --timeout=120s >&2
}

demo_backends() {
  say "starting a real Go process behind every pod (tests/targets)"
  "$ROOT/hack/backends.sh" start "$NS" "$STATE/backends"
}

# demo_start_controller MESSAGE METRICS_PORT [EXTRA_FLAGS...]
demo_start_controller() {
  local msg=$1 port=$2
  shift 2
  say "$msg"
  "$ROOT/build/leakwatch" controller --kubeconfig "$KUBECONFIG" \
    --namespaces "$NS" --interval "$INTERVAL" --lease-namespace "$NS" \
    --evidence-dir "$STATE/evidence" --metrics-addr "127.0.0.1:$port" \
    "$@" \
    --log-format text >"$STATE/controller.log" 2>&1 &
  echo $! >"$STATE/controller.pid"
}

# demo_wait MESSAGE PROBE MISSING: runs PROBE every 2 s for up to 5 minutes
# until it prints something, and leaves that in DEMO_FOUND.  Exits with
# the controller's log when the controller dies or nothing came ("DEMO:
# MISSING within 5 minutes").
demo_wait() {
  say "$1"
  local probe=$2 missing=$3 deadline=$((SECONDS + 300))
  DEMO_FOUND=""
  while [ $SECONDS -lt $deadline ]; do
    # The probe is a function name and its arguments: split on purpose.
    # shellcheck disable=SC2086
    DEMO_FOUND=$($probe)
    [ -n "$DEMO_FOUND" ] && break
    kill -0 "$(cat "$STATE/controller.pid")" 2>/dev/null || {
      tail -n 20 "$STATE/controller.log" >&2; echo "$DEMO: the controller exited" >&2; exit 1; }
    sleep 2
  done
  if [ -z "$DEMO_FOUND" ]; then
    tail -n 30 "$STATE/controller.log" >&2
    echo "$DEMO: $missing within 5 minutes (controller log above)" >&2
    exit 1
  fi
}

# Stops the controller and backends, deletes NS, stops the cluster.
demo_down() {
  stop_controller
  "$ROOT/hack/backends.sh" stop "$STATE/backends" 2>/dev/null || true
  if [ -x "$("$ROOT/hack/tools.sh" path kubectl 2>/dev/null || echo /nonexistent)" ] &&
     "$ROOT/hack/cluster.sh" status >/dev/null 2>&1; then
    KUBECONFIG=$("$ROOT/hack/cluster.sh" kubeconfig) \
      "$("$ROOT/hack/tools.sh" path kubectl)" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  "$ROOT/hack/cluster.sh" down
}

# demo_main ARG: a demo script's command line: "up" runs the script's own
# up(), "down" demo_down; anything else is a usage error.
demo_main() {
  case "${1:-}" in
    up) up ;;
    down) demo_down ;;
    *) echo "usage: $0 up|down" >&2; exit 1 ;;
  esac
}
