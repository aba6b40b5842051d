#!/usr/bin/env bash
# kubeevict_pdb.sh — pod eviction (pkg/kube/kube_evict) against the real
# local control plane, every answer told apart: blocked by a
# PodDisruptionBudget (429, also in dry-run), evicted (dry-run leaves the pod,
# a real one removes it), more than one budget (500), not found (404),
# forbidden (403, through an impersonating kubeconfig) and a failed uid
# precondition.
#
# Uses its own namespace and deletes it; leaves the cluster running.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/e2e/lib.sh"

NS="lw-kevict-$$"
APP="lwe-$$"

e2e_driver kubeevict_pod
E2E_K_ARGS=(--request-timeout=20s)
e2e_start "$NS"
evict() { "$DRIVER" --kubeconfig "${EVICT_KUBECONFIG:-$KUBECONFIG}" --namespace "$NS" "$@"; }

k create namespace "$NS" >/dev/null
{ e2e_pause_deployment web "$APP" 2
  cat <<EOF
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: ${APP}}
EOF
} | k -n "$NS" apply -f - >/dev/null
pdb_is() { [ "$(k -n "$NS" get pdb "$1" -o 'jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.disruptionsAllowed}')" = "$2" ]; }
check "2 pods healthy, PDB allows no disruption (2/2/0)" poll 120 pdb_is web 2/2/0
POD="$(k -n "$NS" get pods -l "app=$APP" -o 'jsonpath={.items[0].metadata.name}')"
UID_POD="$(k -n "$NS" get pod "$POD" -o 'jsonpath={.metadata.uid}')"

r="$(evict --pod "$POD")"; echo "       $r"
check "eviction blocked by the PDB" grep -q '^RESULT pdb-blocked status=429 .*disruption budget' <<<"$r"
r="$(evict --pod "$POD" --dry-run)"; echo "       $r"
check "dry-run eviction is blocked too" grep -q '^RESULT pdb-blocked status=429' <<<"$r"

r="$(evict --pod does-not-exist)"; echo "       $r"
check "missing pod: not-found 404" grep -q '^RESULT not-found status=404 .*not found' <<<"$r"

# Forbidden: the same credentials impersonating the namespace's default
# ServiceAccount, which has no RBAC for pods/eviction.
poll 30 k -n "$NS" get serviceaccount default
awk -v sa="system:serviceaccount:$NS:default" '
  { print }
  /^users:/ { in_users = 1 }
  in_users && /^  user:/ { print "    as: " sa }' "$KUBECONFIG" >"$TMP/as-sa.kubeconfig"
r="$(EVICT_KUBECONFIG="$TMP/as-sa.kubeconfig" evict --pod "$POD")"; echo "       $r"
check "impersonating an unprivileged account: forbidden 403" \
  grep -q '^RESULT forbidden status=403 .*forbidden' <<<"$r"

# A second budget over the same pods: the eviction API refuses to choose.
cat <<EOF | k -n "$NS" apply -f - >/dev/null
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web-2
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: ${APP}}
EOF
check "second PDB observed" poll 60 pdb_is web-2 2/2/1
r="$(evict --pod "$POD")"; echo "       $r"
check "two PDBs: multiple-pdbs 500" \
  grep -q '^RESULT multiple-pdbs status=500 .*more than one PodDisruptionBudget' <<<"$r"
k -n "$NS" delete pdb web-2 >/dev/null

# A stale uid is refused.  (On a pod no budget covers: the API checks and
# charges the budget before the precondition, so a refused eviction of a
# budgeted pod would use up its one allowed disruption for a while.)
cat <<EOF | k -n "$NS" apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: loner
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
EOF
r="$(evict --pod loner --uid 00000000-0000-0000-0000-000000000000)"; echo "       $r"
check "wrong uid precondition: conflict 409" grep -q '^RESULT conflict status=409 .*UID in the precondition' <<<"$r"
check "...and the pod is still there" quiet k -n "$NS" get pod loner

# Let one pod go: dry-run leaves it, a real one evicts it.
k -n "$NS" patch pdb web --type merge -p '{"spec":{"minAvailable":1}}' >/dev/null
check "PDB now allows one disruption (2/2/1)" poll 60 pdb_is web 2/2/1
r="$(evict --pod "$POD" --dry-run)"; echo "       $r"
check "dry-run: would be evicted" grep -q '^RESULT evicted status=20[01]' <<<"$r"
check "...and the pod is still there, same uid" \
  [ "$(k -n "$NS" get pod "$POD" -o 'jsonpath={.metadata.uid}')" = "$UID_POD" ]
check "...and the budget was not charged (2/2/1)" pdb_is web 2/2/1
r="$(evict --pod "$POD" --uid "$UID_POD")"; echo "       $r"
check "evicted (201)" grep -q '^RESULT evicted status=201' <<<"$r"
gone() { ! k -n "$NS" get pod "$POD" -o 'jsonpath={.metadata.uid}' 2>/dev/null | grep -q "$UID_POD"; }
check "the evicted pod goes away" poll 60 gone

finish
