#!/usr/bin/env bash
# faults_evidence.sh — the controller's evidence directory on a full disk
# (a 64 KiB tmpfs filled to the last byte), then freed.  Real leaking Go
# backends behind kwok pods, containment opted in, the controller under the
# manifests' RBAC (impersonating the leakwatch ServiceAccount):
#   - disk full: every leaking pod still gets its GoroutineLeak Event, once,
#     and it says the evidence could not be saved and why;
#   - containment refuses to restart them ("evidence first": a restart
#     would destroy the only evidence) and evicts nothing;
#   - space freed: a pod that leaks afterwards gets its evidence saved and
#     named in its Event, and containment then restarts it (and only it);
#   - the controller stays Ready throughout.
# Needs root (mount -t tmpfs); skipped otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LEASE=lw-e2e-faults-evidence

e2e_init lw-e2e-faults-evidence
EV=$TMP/evidence
mkdir -p "$EV"
if ! mount -t tmpfs -o size=64k tmpfs "$EV" 2>"$TMP/mount.err"; then
  skip "a 64 KiB tmpfs for the evidence directory (mount: $(cat "$TMP/mount.err"))"
  finish; exit 0
fi
e2e_on_exit 'umount "$EV"'
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1'
e2e_controller_sa
E2E_K_ARGS=(-n "$E2E_NS" --request-timeout=20s)

e2e_targets_deployment "$E2E_NS" orders 2 chan-send leakwatch.dev/containment=restart \
  targets.leakwatch.dev/rate=4 memory=64Mi | k apply -f - >/dev/null
check "leaky deployment rolls out" k rollout status deploy/orders --timeout=120s
e2e_backends_start || nok "backends start"

# Full to the last byte: the filler grows until the file system refuses.
dd if=/dev/zero of="$EV/filler" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$EV/filler-tail" bs=1 >/dev/null 2>&1
check "the evidence directory is full" bash -c "! echo x >'$EV/probe' 2>/dev/null"
rm -f "$EV/probe"

e2e_controller "$TMP/ctl.log" --kubeconfig "$SA_KUBECONFIG" --namespaces "$E2E_NS" \
  --interval 3s --finding-min-span 10s --containment --lease-namespace leakwatch-system \
  --lease-name "$LEASE" --identity faults-evidence --evidence-dir "$EV"
check "the controller logs its metrics port" wait_line "$TMP/ctl.log" '"metrics_port":"[0-9]+"' 30
ready() { e2e_readyz "$TMP/ctl.log" >/dev/null; }
check "the controller becomes Ready" poll 60 ready

leak_msgs() { lw_event_messages "$1" GoroutineLeak; }
lc_msgs() { lw_event_messages "$1" LeakContainment; }
pod_uids() { k get pods -l app=orders -o 'jsonpath={range .items[*]}{.metadata.uid}{" "}{end}'; }
reported() { for u in "$@"; do [ -n "$(leak_msgs "$u")" ] || return 1; done; }
refused() { for u in "$@"; do lc_msgs "$u" | grep -F 'not restarting (evidence missing): ' >/dev/null || return 1; done; }
evicted() { lc_msgs "$1" | grep -F 'evicted: ' >/dev/null; }
none_evicted() { ! k get events --field-selector reason=LeakContainment -o 'jsonpath={.items[*].message}' | grep -F 'evicted: ' >/dev/null; }

# --- disk full ---------------------------------------------------------------
FIRST=$(pod_uids)
# shellcheck disable=SC2086  # one argument per uid
check "disk full: every leaking pod still gets its GoroutineLeak Event" wait_until 200 reported $FIRST
for u in $FIRST; do
  msg=$(leak_msgs "$u")
  check "disk full: pod $u has exactly one GoroutineLeak Event" test "$(grep -c . <<<"$msg")" -eq 1
  check "disk full: its Event says the evidence could not be saved, and why" \
    quiet grep -E '\. Evidence could not be saved: .*No space left on device' <<<"$msg"
  check "disk full: its Event names no evidence file" test -z "$(grep -F 'Evidence: ' <<<"$msg")"
done
# shellcheck disable=SC2086
check "disk full: containment refuses them, evidence first" wait_until 60 refused $FIRST
for u in $FIRST; do lc_msgs "$u" | head -1 | sed 's/^/  /'; done
check "disk full: the refusal says why no evidence was kept" \
  quiet bash -c "'$KUBECTL' -n '$E2E_NS' get events --field-selector reason=LeakContainment -o jsonpath='{.items[*].message}' | grep -E 'no suspect profile was kept \\(evidence .*No space left on device\\)'"
check "disk full: the refusal says a restart would destroy the only evidence" \
  quiet bash -c "'$KUBECTL' -n '$E2E_NS' get events --field-selector reason=LeakContainment -o jsonpath='{.items[*].message}' | grep -F 'a restart would destroy the only evidence'"
check "disk full: nothing was evicted" none_evicted
check "disk full: the leaking pods are the same ones" test "$(pod_uids)" = "$FIRST"
check "disk full: the controller logged the failed writes" quiet grep -F '"msg":"evidence not written"' "$TMP/ctl.log"
check "disk full: the controller is still Ready" ready

# --- space freed -------------------------------------------------------------
rm -f "$EV/filler" "$EV/filler-tail"
k scale deploy/orders --replicas=3 >/dev/null
check "a third leaking pod rolls out" k rollout status deploy/orders --timeout=120s
NEW=$(for u in $(pod_uids); do [[ " $FIRST " == *" $u "* ]] || echo "$u"; done)
check "the third pod is a new one" test -n "$NEW"
check "space freed: the new pod gets its GoroutineLeak Event" wait_until 150 reported "$NEW"
msg=$(leak_msgs "$NEW")
check "space freed: exactly one Event on the new pod" test "$(grep -c . <<<"$msg")" -eq 1
check "space freed: its Event names the evidence" quiet grep -F '. Evidence: ' <<<"$msg"
check "space freed: and does not say it was lost" test -z "$(grep -F 'could not be saved' <<<"$msg")"
ev=$(grep -o "$EV/[^ ]*_suspect\.[a-z.]*" <<<"$msg" | head -1)
check "space freed: the suspect profile it names is saved ($ev)" test -s "$ev"
check "space freed: containment now restarts the pod whose evidence is saved" \
  wait_until 120 evicted "$NEW"
lc_msgs "$NEW" | grep -F 'evicted: ' | head -1 | sed 's/^/  /'
for u in $FIRST; do
  check "pod $u: not restarted (its evidence is lost)" \
    test -z "$(lc_msgs "$u" | grep -F 'evicted: ')"
  check "pod $u: still exactly one GoroutineLeak Event" test "$(leak_msgs "$u" | grep -c .)" -eq 1
done
check "the controller is still Ready" ready
check "the controller is still running" kill -0 "$CTL"
check "no crash in the controller's log" quiet bash -c "! grep -iE 'AddressSanitizer|segmentation|runtime error' '$TMP/ctl.log'"
finish
