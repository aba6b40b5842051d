#!/usr/bin/env bash
# kube_auth.sh — leakwatch's API client against the real local control plane:
# every way a kubeconfig can authenticate (the admin client certificate,
# a ServiceAccount token inline, in a tokenFile, from an exec plugin that
# must receive KUBERNETES_EXEC_INFO, impersonation, in-cluster service
# account files), merged KUBECONFIG paths with --context, tls-server-name,
# the 403 a narrow Role gets, 401, malformed kubeconfigs, an API server that
# is not there, a wrong CA, and a big LIST against max_body_bytes.
#
# Uses its own namespace (deleted at the end) and leaves the cluster up.
# Runs build/e2e/kube_probe (tests/e2e/kube_probe.c) and `leakwatch scan`.
# Not for: scan's listing itself (kube_scan.sh).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROBE="${LW_BUILD:-$LW_ROOT/build}/e2e/kube_probe"
NS="lw-kube-auth-$$"

e2e_start "$NS"
ADMIN_KC="$KUBECONFIG"
E2E_K_ARGS=(--kubeconfig "$ADMIN_KC" --request-timeout=30s)
check "kube_probe is built ($PROBE)" test -x "$PROBE"
check "leakwatch is built ($LW_BIN)" test -x "$LW_BIN"

probe() { $LW_WRAP "$PROBE" "$@"; }
# expect_out DESC WANT-SUBSTRING CMD...: output of CMD (stdout+stderr) has it
expect_out() {
  local d=$1 want=$2; shift 2
  local got
  got="$("$@" 2>&1)"
  if [[ "$got" == *"$want"* ]]; then ok "$d"; else nok "$d"; echo "       want: $want"; echo "       got:  $got"; fi
}

SERVER="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
CA_DATA="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
PORT="${SERVER##*:}"
echo "$CA_DATA" | base64 -d > "$TMP/ca.crt"

k create namespace "$NS" >/dev/null
k -n "$NS" create serviceaccount lw-reader >/dev/null
k -n "$NS" create role pod-reader --verb=get,list,watch --resource=pods >/dev/null
k -n "$NS" create rolebinding lw-reader --role=pod-reader \
  --serviceaccount="$NS:lw-reader" >/dev/null
SA_USER="system:serviceaccount:$NS:lw-reader"
TOKEN="$(k -n "$NS" create token lw-reader --duration=1h)"
printf '%s\n' "$TOKEN" > "$TMP/token"

# kubeconfig NAME USER-YAML [CLUSTER-EXTRA-YAML]: a kubeconfig for this
# cluster with the given `user:` body (indented 4), context "$NAME".
kubeconfig() {
  local name=$1 user=$2 extra=${3:-}
  cat > "$TMP/$name.kc" <<EOF
apiVersion: v1
kind: Config
current-context: $name
clusters:
- name: $name-cluster
  cluster:
    server: $SERVER
    certificate-authority: $TMP/ca.crt
$extra
users:
- name: $name-user
  user:
$user
contexts:
- name: $name
  context:
    cluster: $name-cluster
    user: $name-user
    namespace: $NS
EOF
}

# ---------------------------------------------------------------- identities

expect_out "client certificate (admin kubeconfig) authenticates" \
  "ok user=kwok-admin" probe --kubeconfig "$ADMIN_KC" whoami
check "leakwatch scan -A exits 0" quiet lw scan -A --kubeconfig "$ADMIN_KC"

kubeconfig token "    token: $TOKEN"
expect_out "inline token authenticates as the ServiceAccount" \
  "ok user=$SA_USER ns=$NS" probe --kubeconfig "$TMP/token.kc" whoami
expect_out "token: the Role allows listing pods in its namespace" \
  "ok items=0" probe --kubeconfig "$TMP/token.kc" list "/api/v1/namespaces/$NS/pods" 10

kubeconfig tokenfile "    tokenFile: token"   # relative to the kubeconfig
expect_out "tokenFile (relative path) authenticates" \
  "ok user=$SA_USER" probe --kubeconfig "$TMP/tokenfile.kc" whoami

cat > "$TMP/get-token.sh" <<EOF
#!/usr/bin/env bash
# An exec credential plugin: records what it was given, prints the token.
printf '%s' "\$KUBERNETES_EXEC_INFO" > "$TMP/exec-info.json"
printf '%s|%s' "\$LW_PLUGIN_MODE" "\$*" > "$TMP/exec-env.txt"
echo run >> "$TMP/exec-runs"
cat <<JSON
{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
 "status": {"token": "\$(cat "$TMP/token")",
            "expirationTimestamp": "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"}}
JSON
EOF
chmod +x "$TMP/get-token.sh"
kubeconfig exec "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./get-token.sh
      args: [--cluster, \"two words\"]
      env: [{name: LW_PLUGIN_MODE, value: e2e}]
      provideClusterInfo: true
      interactiveMode: Never"
expect_out "exec plugin authenticates" \
  "ok user=$SA_USER" probe --kubeconfig "$TMP/exec.kc" whoami
check "exec plugin got KUBERNETES_EXEC_INFO with interactive false" \
  quiet jq -e '.kind == "ExecCredential" and .apiVersion == "client.authentication.k8s.io/v1" and .spec.interactive == false' "$TMP/exec-info.json"
check "exec plugin got the cluster (provideClusterInfo)" \
  quiet jq -e --arg s "$SERVER" '.spec.cluster.server == $s and (.spec.cluster["certificate-authority-data"] | length > 100)' "$TMP/exec-info.json"
check "exec plugin got its env entry and argv (no shell splitting)" \
  grep -qx 'e2e|--cluster two words' "$TMP/exec-env.txt"
rm -f "$TMP/exec-runs"
check "exec plugin: leakwatch scan through it exits 0" \
  quiet lw scan --kubeconfig "$TMP/exec.kc"
check "exec plugin: credential cached within one process (1 run for list+owners)" \
  test "$(wc -l < "$TMP/exec-runs")" -eq 1

kubeconfig imp "    client-certificate-data: $(k config view --raw --minify -o jsonpath='{.users[0].user.client-certificate-data}')
    client-key-data: $(k config view --raw --minify -o jsonpath='{.users[0].user.client-key-data}')
    as: $SA_USER"
expect_out "impersonation (as:) is applied" \
  "ok user=$SA_USER" probe --kubeconfig "$TMP/imp.kc" whoami

# In-cluster: the service account files, the service host/port variables.
mkdir -p "$TMP/sa"
cp "$TMP/token" "$TMP/sa/token"; cp "$TMP/ca.crt" "$TMP/sa/ca.crt"
printf '%s' "$NS" > "$TMP/sa/namespace"
expect_out "in-cluster config (service account files) authenticates" \
  "ok user=$SA_USER ns=$NS" \
  env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
  "$PROBE" --incluster "$TMP/sa" whoami

# ------------------------------------------------------- merged KUBECONFIG

# The SA file defines context "sa"; the admin file comes first, so its
# current-context wins unless --context says otherwise.
kubeconfig sa "    tokenFile: $TMP/token"
expect_out "merged KUBECONFIG: first file's current-context wins" \
  "ok user=kwok-admin" env KUBECONFIG="$ADMIN_KC:$TMP/missing.kc:$TMP/sa.kc" "$PROBE" whoami
expect_out "merged KUBECONFIG: --context picks the second file's context" \
  "ok user=$SA_USER ns=$NS" env KUBECONFIG="$ADMIN_KC:$TMP/sa.kc" "$PROBE" --context sa whoami
KUBECONFIG="$ADMIN_KC:$TMP/sa.kc" check "merged KUBECONFIG: leakwatch scan --context sa exits 0" \
  quiet lw scan --context sa
expect_out "--kubeconfig overrides KUBECONFIG" \
  "ok user=$SA_USER" env KUBECONFIG="$ADMIN_KC" "$PROBE" --kubeconfig "$TMP/sa.kc" whoami

# ---------------------------------------------------------------- TLS names

kubeconfig tsn "    tokenFile: $TMP/token" "    tls-server-name: localhost"
expect_out "tls-server-name that the certificate has: verified and works" \
  "ok user=$SA_USER" probe --kubeconfig "$TMP/tsn.kc" whoami
kubeconfig tsnbad "    tokenFile: $TMP/token" "    tls-server-name: wrong.example"
expect_out "tls-server-name the certificate lacks: TLS error names the server" \
  "TLS with 127.0.0.1:$PORT:" probe --kubeconfig "$TMP/tsnbad.kc" whoami

kubeconfig insecure "    tokenFile: $TMP/token"
sed -i "s|    certificate-authority: $TMP/ca.crt|    insecure-skip-tls-verify: true|" "$TMP/insecure.kc"
expect_out "insecure-skip-tls-verify: no CA needed" \
  "ok user=$SA_USER" probe --kubeconfig "$TMP/insecure.kc" whoami
kubeconfig systemca "    tokenFile: $TMP/token"
sed -i "/    certificate-authority: /d" "$TMP/systemca.kc"
expect_out "no CA in the kubeconfig: verified against the system store, refused" \
  "TLS with 127.0.0.1:$PORT: SSL certificate problem" probe --kubeconfig "$TMP/systemca.kc" whoami

# ------------------------------------------------------------------ failures

out="$(lw scan -n kube-system --kubeconfig "$TMP/token.kc" 2>&1)"; rc=$?
check "403: exit status 2" test "$rc" -eq 2
check "403: one line" test "$(printf '%s\n' "$out" | wc -l)" -eq 1
expect_out "403: says 'is forbidden' and names the user" \
  "leakwatch scan: pods is forbidden: User \"$SA_USER\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\"" \
  printf '%s' "$out"
expect_out "403 through the probe: reason Forbidden" \
  "error status=403 reason=Forbidden: pods is forbidden: User \"$SA_USER\"" \
  probe --kubeconfig "$TMP/token.kc" list /api/v1/namespaces/kube-system/pods 10

kubeconfig badtoken "    token: not-a-valid-token"
out="$(lw scan --kubeconfig "$TMP/badtoken.kc" 2>&1)"; rc=$?
check "401: exit status 2" test "$rc" -eq 2
expect_out "401: names the server and the user" \
  "Unauthorized: the API server at 127.0.0.1:$PORT rejected the credentials of user \"badtoken-user\"" \
  printf '%s' "$out"

# Malformed kubeconfigs: exit 2, one line naming file and field.
printf 'clusters:\n- name: x\n  cluster: {server: [\n' > "$TMP/badyaml.kc"
kubeconfig noserver "    tokenFile: $TMP/token"
sed -i "s|    server: $SERVER|    insecure-skip-tls-verify: false|" "$TMP/noserver.kc"
kubeconfig noca "    tokenFile: $TMP/token"
sed -i "s|certificate-authority: $TMP/ca.crt|certificate-authority: $TMP/nope/ca.crt|" "$TMP/noca.kc"
kubeconfig unreadableca "    tokenFile: $TMP/token"
sed -i "s|certificate-authority: $TMP/ca.crt|certificate-authority: $TMP|" "$TMP/unreadableca.kc"
malformed() { # desc file want [extra args]
  local d=$1 f=$2 want=$3; shift 3
  local got rc
  got="$(lw scan --kubeconfig "$f" "$@" 2>&1)"; rc=$?
  if [ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$got" | wc -l)" -eq 1 ] &&
     [[ "$got" == "leakwatch scan: kubeconfig $f: $want" ]]; then
    ok "$d"
  else
    nok "$d (rc=$rc)"; echo "       want: leakwatch scan: kubeconfig $f: $want"; echo "       got:  $got"
  fi
}
malformed "bad YAML: line and column" "$TMP/badyaml.kc" \
  "line 4 column 1: did not find expected node content while parsing a flow node"
malformed "missing context (--context)" "$TMP/token.kc" \
  'context "nope" not found' --context nope
malformed "missing server" "$TMP/noserver.kc" 'cluster "noserver-cluster": server is not set'
malformed "CA file that does not exist" "$TMP/noca.kc" \
  "cluster \"noca-cluster\": certificate-authority $TMP/nope/ca.crt: No such file or directory"
malformed "CA path that is not a readable file" "$TMP/unreadableca.kc" \
  "cluster \"unreadableca-cluster\": certificate-authority $TMP: Is a directory"
out="$(lw scan --kubeconfig "$TMP/none.kc" 2>&1)"; rc=$?
check "missing kubeconfig file: exit 2 and names it" \
  test "$rc" -eq 2 -a "$out" = "leakwatch scan: kubeconfig $TMP/none.kc: No such file or directory"

# Wrong CA: verification fails fast (not retried), exit 2.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-ca -days 1 \
  -keyout "$TMP/other.key" -out "$TMP/other.crt" >/dev/null 2>&1
kubeconfig wrongca "    tokenFile: $TMP/token"
sed -i "s|certificate-authority: $TMP/ca.crt|certificate-authority: $TMP/other.crt|" "$TMP/wrongca.kc"
start=$SECONDS
out="$(lw scan --kubeconfig "$TMP/wrongca.kc" 2>&1)"; rc=$?
check "wrong CA: exit 2, TLS error, no retries" \
  test "$rc" -eq 2 -a $((SECONDS - start)) -lt 5
expect_out "wrong CA: message says TLS and the server" \
  "leakwatch scan: TLS with 127.0.0.1:$PORT: SSL certificate problem" printf '%s' "$out"

# API server down / wrong port: bounded retries with backoff, no busy loop.
closed_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
kubeconfig down "    tokenFile: $TMP/token"
sed -i "s|server: $SERVER|server: https://127.0.0.1:$closed_port|" "$TMP/down.kc"
/usr/bin/time -f '%e %U %S' -o "$TMP/time" "$LW_BIN" scan --kubeconfig "$TMP/down.kc" > "$TMP/down.out" 2>&1; rc=$?
# GNU time puts "Command exited with non-zero status" first: the last line.
read -r wall usr sys < <(tail -n 1 "$TMP/time")
check "API down: exit 2" test "$rc" -eq 2
expect_out "API down: one clear line after bounded retries" \
  "leakwatch scan: connect to 127.0.0.1:$closed_port: Connection refused (after 6 attempts)" cat "$TMP/down.out"
check "API down: gave up within 2..20 s (took ${wall}s)" \
  awk -v w="$wall" 'BEGIN { exit !(w >= 2 && w < 20) }'
check "API down: slept between attempts (cpu ${usr}+${sys}s)" \
  awk -v u="$usr" -v s="$sys" 'BEGIN { exit !(u + s < 0.5) }'

# ---------------------------------------------------------- max_body_bytes

# 24 ConfigMaps of ~100 KB: a 2.4 MB LIST.  One unpaged request is refused
# at a 1 MB cap; pages of 5 (~500 KB) fit under it.
head -c 100000 /dev/zero | tr '\0' x > "$TMP/blob"
for i in $(seq 1 24); do
  k -n "$NS" create configmap "blob-$i" --from-file=blob="$TMP/blob" >/dev/null
done
k -n "$NS" label configmap $(seq -f 'blob-%g' 1 24) lw=blob >/dev/null
BLOBS="/api/v1/namespaces/$NS/configmaps?labelSelector=lw%3Dblob"
expect_out "big LIST over max_body_bytes: refused with a clear error" \
  "error status=0 reason=-: GET $BLOBS: response body larger than the 1000000-byte limit (max_body_bytes)" \
  probe --kubeconfig "$ADMIN_KC" --max-body 1000000 list "$BLOBS" 0
expect_out "big LIST in pages of 5 fits under the cap" \
  "ok items=24" probe --kubeconfig "$ADMIN_KC" --max-body 1000000 list "$BLOBS" 5
expect_out "big LIST with the default cap in one request" \
  "ok items=24" probe --kubeconfig "$ADMIN_KC" list "$BLOBS" 0

# ------------------------------------------------------------------ valgrind

# (Skipped for sanitizer builds: ASan and valgrind do not mix.)
if [ -z "$LW_WRAP" ] && valgrind_usable "$PROBE" "$LW_BIN"; then
  VG=("${LW_VALGRIND[@]}")
  expect_out "valgrind: exec plugin + whoami is clean" "ok user=$SA_USER" \
    "${VG[@]}" "$PROBE" --kubeconfig "$TMP/exec.kc" whoami
  expect_out "valgrind: paged LIST is clean" "ok items=24" \
    "${VG[@]}" "$PROBE" --kubeconfig "$ADMIN_KC" list "$BLOBS" 5
  out="$("${VG[@]}" "$PROBE" --kubeconfig "$TMP/down.kc" --retries 2 get /version 2>&1)"; rc=$?
  check "valgrind: API down path is clean (rc=$rc)" test "$rc" -eq 2
  out="$("${VG[@]}" "$LW_BIN" scan -n kube-system --kubeconfig "$TMP/token.kc" 2>&1)"; rc=$?
  check "valgrind: scan 403 path is clean (rc=$rc)" test "$rc" -eq 2
fi

finish
