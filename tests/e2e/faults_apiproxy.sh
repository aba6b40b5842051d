#!/usr/bin/env bash
# faults_apiproxy.sh — the controller through an apiserver that pushes back:
# every call it makes goes through tests/e2e/fault_proxy, which answers
# every fifth request 429 Too Many Requests with Retry-After: 1 and cuts
# every watch 5 s after it opened.  Real Go backends behind kwok pods (a
# leaking Deployment, a steady one), the controller under the manifests'
# RBAC (impersonating the leakwatch ServiceAccount, through the proxy):
#   - the proxy really injected both faults (its own counts);
#   - every leaking pod gets exactly one GoroutineLeak Event (one object,
#     count 1), also a pod created while watches were being cut;
#   - the steady pods get none;
#   - a pod that accepts the connection and then sends one byte a second
#     (tests/e2e/capture_badserver /trickle/): its captures time out, it
#     gets no finding, and the other pods are found all the same;
#   - the controller counts the 429s it was answered (metrics), logs the
#     cut watches, and stays Ready (/readyz) throughout.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
LEASE=lw-e2e-faults-proxy

e2e_driver fault_proxy
e2e_init lw-e2e-faults-proxy
e2e_on_exit '"$KUBECTL" -n leakwatch-system delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1'
k apply -f "$ROOT/manifests/00-namespace.yaml" -f "$ROOT/manifests/10-rbac.yaml" >/dev/null
E2E_K_ARGS=(-n "$E2E_NS" --request-timeout=20s)

deploy() { # name behaviour replicas
  e2e_targets_deployment "$E2E_NS" "$1" "$3" "$2" targets.leakwatch.dev/rate=4 | k apply -f - >/dev/null
}
deploy orders chan-send 2
deploy catalog steady-pool 2
# No behaviour label: no Go backend; capture_badserver answers on its IP.
cat <<YAML | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: trickle
  namespace: $E2E_NS
  annotations: {leakwatch.dev/scrape: "true", leakwatch.dev/port: "6060", leakwatch.dev/path: /trickle}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: app, image: x}]
YAML
check "leaky deployment rolls out" k rollout status deploy/orders --timeout=120s
check "steady deployment rolls out" k rollout status deploy/catalog --timeout=120s
check "the trickling pod runs" wait_until 60 bash -c "[ -n \"\$('$KUBECTL' -n '$E2E_NS' get pod trickle -o jsonpath='{.status.podIP}')\" ]"
"${LW_BUILD:-$ROOT/build}/e2e/capture_badserver" "$(k get pod trickle -o 'jsonpath={.status.podIP}'):6060" >"$TMP/trickle.log" 2>&1 &
E2E_PIDS+=($!)
check "capture_badserver listens on the trickling pod's IP" wait_line "$TMP/trickle.log" '^listening on ' 30
# The captures go through the apiserver's port-forward (kwok routes it).
cat <<YAML | k apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: trickle, namespace: $E2E_NS}
spec:
  forwards:
    - ports: [6060]
      target: {port: 6060, address: "$(k get pod trickle -o 'jsonpath={.status.podIP}')"}
YAML
e2e_backends_start || nok "backends start"

# --- the proxy, with the cluster's own credentials upstream -------------------
kc_field() { k config view --raw --minify -o "jsonpath={$1}"; }
kc_field '.clusters[0].cluster.certificate-authority-data' | base64 -d >"$TMP/ca.pem"
kc_field '.users[0].user.client-certificate-data' | base64 -d >"$TMP/cert.pem"
kc_field '.users[0].user.client-key-data' | base64 -d >"$TMP/key.pem"
"$DRIVER" --upstream "$(kc_field '.clusters[0].cluster.server')" \
  --ca "$TMP/ca.pem" --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
  --every-nth-429 5 --close-watch-after 5 >"$TMP/proxy.out" 2>&1 &
E2E_PIDS+=($!)
check "the fault proxy listens" wait_line "$TMP/proxy.out" '^listening on 127\.0\.0\.1:[0-9]+$' 10
PROXY=$(sed -n 's/^listening on //p' "$TMP/proxy.out")
stats() { curl -s --max-time 5 "http://$PROXY/__fault/stats"; }
stat() { stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# Plain HTTP to the proxy; the proxy authenticates, the controller's RBAC
# is the ServiceAccount's through impersonation.
cat >"$TMP/proxy.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: "http://$PROXY"}}]
users: [{name: leakwatch, user: {as: "system:serviceaccount:leakwatch-system:leakwatch"}}]
contexts: [{name: proxy, context: {cluster: proxy, user: leakwatch}}]
current-context: proxy
YAML

e2e_controller "$TMP/ctl.log" --kubeconfig "$TMP/proxy.kubeconfig" --namespaces "$E2E_NS" \
  --interval 3s --finding-min-span 10s --capture-timeout 5s --lease-namespace leakwatch-system --lease-name "$LEASE" \
  --identity faults-proxy --evidence-dir "$TMP/evidence"
check "the controller logs its metrics port" wait_line "$TMP/ctl.log" '"metrics_port":"[0-9]+"' 30
MPORT=$(e2e_metrics_port "$TMP/ctl.log")
ready() { e2e_readyz "$TMP/ctl.log" >/dev/null; }
check "the controller becomes Ready through the proxy" poll 60 ready

leak_counts() { lw_event_counts "$1" GoroutineLeak; }
pod_uids() { k get pods -l "app=$1" -o 'jsonpath={range .items[*]}{.metadata.uid}{" "}{end}'; }
reported() { for u in "$@"; do [ -n "$(leak_counts "$u")" ] || return 1; done; }

LEAKY=$(pod_uids orders)
# shellcheck disable=SC2086  # one argument per uid
check "every leaking pod gets a GoroutineLeak Event" wait_until 200 reported $LEAKY
check "...while the proxy cut watches" test "$(stat watches_closed)" -gt 0

# A pod created now is only seen through a watch that the proxy keeps cutting.
k scale deploy/orders --replicas=3 >/dev/null
check "a third leaking pod rolls out" k rollout status deploy/orders --timeout=120s
NEW=$(for u in $(pod_uids orders); do [[ " $LEAKY " == *" $u "* ]] || echo "$u"; done)
check "the third pod is a new one" test -n "$NEW"
check "the pod that came while watches were cut gets its Event too" wait_until 150 reported "$NEW"

# More rounds under fire: no finding may be written twice.
sleep 20
for u in $LEAKY $NEW; do
  counts=$(leak_counts "$u" | tr '\n' ' ')
  check "pod $u: exactly one GoroutineLeak Event, count 1 (got: $counts)" test "$counts" = "1 "
done
for u in $(pod_uids catalog); do
  check "steady pod $u: no GoroutineLeak Event" test -z "$(leak_counts "$u")"
done

check "the trickling pod: no GoroutineLeak Event" test -z "$(leak_counts "$(k get pod trickle -o 'jsonpath={.metadata.uid}')")"
check "the trickling pod: its captures time out" \
  quiet grep -iE "\"pod\":\"trickle\".*tim(ed |e)out" "$TMP/ctl.log"
s=$(stats)
echo "  proxy: $s"
check "the proxy injected 429s" test "$(stat injected_429)" -gt 0
check "the proxy cut watches more than once" test "$(stat watches_closed)" -gt 1
m=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics")
grep '^leakwatch_api_requests_total{.*code="429"}' <<<"$m" | sed 's/^/  /'
check "the controller counted the 429s it was answered" \
  quiet grep -E '^leakwatch_api_requests_total\{.*code="429"\} [1-9]' <<<"$m"
check "its log shows the watches cut" quiet grep -F '"msg":"watch connection lost: ' "$TMP/ctl.log"
check "the controller is still Ready" ready
check "the controller is still running" kill -0 "$CTL"
check "no crash in the controller's log" bash -c "! grep -iE 'AddressSanitizer|segmentation|runtime error' '$TMP/ctl.log'"
finish
