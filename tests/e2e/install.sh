#!/usr/bin/env bash
# install.sh — what README "Install in a cluster" and the kubectl plugin
# promise, on the local cluster:
#   - one version: manifests/ and the chart's default image are pinned to the
#     chart's appVersion (and a release tag v<appVersion> builds that tag);
#     nothing says :latest;
#   - `helm lint --strict` passes;
#   - every manifest, and the chart rendered with defaults and with options,
#     passes `kubectl apply --dry-run=server --validate=strict` against the
#     v1.36 apiserver: the server's own OpenAPI schema and validation, with
#     unknown or duplicate fields refused.  A typo and a wrong type are
#     shown to be refused, so the check is live;
#   - `make install PREFIX=...` puts leakwatch and kubectl-leakwatch on PATH,
#     and real kubectl runs `kubectl leakwatch scan -A` and
#     `kubectl leakwatch capture deployment/orders` through it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
NS=lw-e2e-install
SYS=leakwatch-system

e2e_scratch "$NS"
STATE=$TMP
e2e_on_exit '"$ROOT/hack/backends.sh" stop "$STATE/backends" >/dev/null 2>&1'

e2e_cluster_up
HELM=$("$ROOT/hack/tools.sh" path helm) || { nok "helm (hack/tools.sh helm)"; finish; exit 1; }
CHART=$ROOT/charts/leakwatch

# --- one version ---------------------------------------------------------------
APP=$(awk -F'"' '$1 == "appVersion: " { print $2 }' "$CHART/Chart.yaml")
check "Chart.yaml has an appVersion ($APP)" test -n "$APP"
MANIFEST_IMAGE=$(awk '$1 == "image:" { print $2 }' "$ROOT/manifests/30-deployment.yaml")
check "manifests/30-deployment.yaml pins the image to appVersion ($MANIFEST_IMAGE)" \
  test "${MANIFEST_IMAGE##*:}" = "$APP"
"$HELM" template lw "$CHART" -n "$SYS" >"$STATE/chart.yaml" 2>"$STATE/helm.err" ||
  { cat "$STATE/helm.err"; nok "helm template"; }
CHART_IMAGE=$(awk '$1 == "image:" { gsub(/"/, "", $2); print $2 }' "$STATE/chart.yaml")
check "the chart's default image is the manifests' ($CHART_IMAGE)" \
  test "$CHART_IMAGE" = "$MANIFEST_IMAGE"
check "hack/image.sh names the same repository" \
  test "$("$ROOT/hack/image.sh" tag | sed 's/:[^:]*$//')" = "${MANIFEST_IMAGE%:*}"
check "nothing pins :latest" \
  bash -c "! grep -rn 'image:.*:latest' '$ROOT/manifests' '$STATE/chart.yaml'"
check "--set image.tag overrides the tag" \
  bash -c "'$HELM' template lw '$CHART' --set image.repository=registry.example/lw --set image.tag=1.2.3-dev | grep -q 'image: \"registry.example/lw:1.2.3-dev\"'"
# On a release commit, what make image builds is what the manifests pin.
if rel=$(git -C "$ROOT" describe --tags --exact-match --match 'v*' 2>/dev/null); then
  check "release tag $rel is v<appVersion>" test "$rel" = "v$APP"
  check "make image tags a release build $APP" test "$("$ROOT/hack/image.sh" tag)" = "${MANIFEST_IMAGE%:*}:$APP"
fi

# --- lint and schema ------------------------------------------------------------
check "helm lint --strict" "$HELM" lint --strict "$CHART"
check "the apiserver is Kubernetes 1.36" \
  bash -c "'$KUBECTL' version -o json | jq -e '.serverVersion.major == \"1\" and (.serverVersion.minor | startswith(\"36\"))' >/dev/null"
# Server-side dry-run cannot place objects in a namespace that does not
# exist yet, so the namespace is created for real first.
k apply -f "$ROOT/manifests/00-namespace.yaml" >/dev/null
strict() { k apply --dry-run=server --validate=strict -o name "$@" >/dev/null; }
for f in "$ROOT"/manifests/*.yaml; do
  check "$(basename "$f"): server-side dry-run, strict schema validation" strict -f "$f"
done
check "chart (defaults): server-side dry-run, strict" strict -f "$STATE/chart.yaml"
"$HELM" template lw "$CHART" -n "$SYS" --set leaderElection.enabled=false \
  --set replicas=1 --set 'nodeSelector.kubernetes\.io/os=linux' \
  --set 'tolerations[0].key=dedicated' --set 'tolerations[0].operator=Exists' \
  --set controller.namespaces=shop >"$STATE/chart-opts.yaml"
check "chart (options): server-side dry-run, strict" strict -f "$STATE/chart-opts.yaml"
# Negative controls: the same Deployment with a misspelt field, and with a
# wrong type, must be refused.
sed 's/readOnlyRootFilesystem: true/readOnlyRootFileSystem: true/' \
  "$ROOT/manifests/30-deployment.yaml" >"$STATE/typo.yaml"
check "a misspelt field is refused" bash -c "! '$KUBECTL' apply --dry-run=server --validate=strict -f '$STATE/typo.yaml' >'$STATE/typo.out' 2>&1"
check "... and the error names it" grep -q readOnlyRootFileSystem "$STATE/typo.out"
sed 's/replicas: 2/replicas: two/' "$ROOT/manifests/30-deployment.yaml" >"$STATE/type.yaml"
check "a wrong type is refused" bash -c "! '$KUBECTL' apply --dry-run=server --validate=strict -f '$STATE/type.yaml' >/dev/null 2>&1"

# --- the kubectl plugin -----------------------------------------------------------
BUILD_DIR=${LW_BUILD:-$ROOT/build}
check "make install PREFIX=..." \
  make -s -C "$ROOT" BUILD="$BUILD_DIR" PREFIX="$STATE/prefix" install
check "leakwatch is installed" test -x "$STATE/prefix/bin/leakwatch"
check "kubectl-leakwatch is installed beside it" test -x "$STATE/prefix/bin/kubectl-leakwatch"
export PATH="$STATE/prefix/bin:$PATH"
check "kubectl plugin list finds it" \
  bash -c "'$KUBECTL' plugin list 2>/dev/null | grep -q '$STATE/prefix/bin/kubectl-leakwatch'"
check "kubectl leakwatch version" bash -c "'$KUBECTL' leakwatch version | grep -q '^leakwatch '"

k create namespace "$NS" >/dev/null
e2e_targets_deployment "$NS" orders 2 chan-send targets.leakwatch.dev/rate=20 | k apply -f - >/dev/null
check "deployment rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
"$ROOT/hack/backends.sh" start "$NS" "$STATE/backends" || nok "backends start"
pods=$(k -n "$NS" get pods -l app=orders -o 'jsonpath={.items[*].metadata.name}')

k leakwatch scan -A >"$STATE/scan.out" 2>&1; rc=$?
check "kubectl leakwatch scan -A exits 0 (got $rc)" test "$rc" -eq 0
for p in $pods; do
  check "scan -A lists $p with its endpoint" grep -qE "$p.*:6060" "$STATE/scan.out"
done
[ "$_fail" -eq 0 ] || cat "$STATE/scan.out"

serving() { local p ip; for p in $pods; do
  ip=$(k -n "$NS" get pod "$p" -o 'jsonpath={.status.podIP}')
  curl -sf -o /dev/null "http://$ip:6060/debug/pprof/goroutine?debug=1" || return 1; done; }
check "the pods' processes serve pprof" wait_until 60 serving
mkdir -p "$STATE/cap"
k leakwatch capture deployment/orders -n "$NS" -o "$STATE/cap" >"$STATE/capture.out" 2>&1; rc=$?
check "kubectl leakwatch capture deployment/orders exits 0 (got $rc)" test "$rc" -eq 0
for p in $pods; do
  f=$(find "$STATE/cap" -name "$p-*" | head -n 1)
  check "a profile of $p was captured" test -s "$f"
  [ -z "$f" ] || check "leakwatch reads $p's capture" bash -c "leakwatch inspect '$f' >/dev/null"
done
[ "$_fail" -eq 0 ] || cat "$STATE/capture.out"
finish
