# tests/e2e/lib.sh — what the end-to-end suites share: the local cluster,
# kubectl, polling, real Go backends behind kwok pods, and reading the Events
# leakwatch wrote.  Source it after tests/cli/lib.sh (the assertions).
#
#   e2e_init NAMESPACE      cluster up, KUBECTL/KUBECONFIG exported, a state
#                           dir in $E2E_STATE, cleanup on exit (namespace,
#                           backends, processes in E2E_PIDS)
#   k ARGS...               kubectl
#   wait_until SECS CMD...  poll CMD every second until it succeeds
#   e2e_backends_start      a real process behind every labelled pod
#   lw_event_messages OBJ_UID REASON   messages leakwatch wrote on that object
#
# Not for: assertions (tests/cli/lib.sh) or anything a single suite needs.
# shellcheck shell=bash  # sourced, never run on its own

E2E_PIDS=()

k() { "$KUBECTL" "$@"; }

wait_until() { # seconds, command...
  local t=$1; shift
  local deadline=$((SECONDS + t))
  while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 1; done
  return 1
}

e2e_cleanup() {
  local p
  for p in "${E2E_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$LW_ROOT/hack/backends.sh" stop "$E2E_STATE/backends" >/dev/null 2>&1 || true
  "$KUBECTL" delete namespace "$E2E_NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  if [ -n "${E2E_KEEP_STATE:-}" ]; then
    echo "state kept in $E2E_STATE"
  else
    rm -rf "$E2E_STATE"
  fi
}

e2e_init() { # namespace
  E2E_NS=$1
  E2E_STATE=$(mktemp -d "${TMPDIR:-/tmp}/lw-e2e-$1.XXXXXX")
  eval "$("$LW_ROOT/hack/cluster.sh" up)" || { nok "cluster up"; finish; exit 1; }
  KUBECTL=$("$LW_ROOT/hack/tools.sh" path kubectl)
  export KUBECTL KUBECONFIG
  trap e2e_cleanup EXIT
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
