#!/usr/bin/env bash
# image.sh — the controller IMAGE end to end, run the way
# manifests/30-deployment.yaml runs it:
#   - `make image` (hack/image.sh) builds the Dockerfile into an OCI archive
#     named for the version, never :latest;
#   - the image holds the binary, exactly the libraries it links, CA
#     certificates, and no shell; it runs as 65532;
#   - the archive is unpacked with umoci and the entrypoint runs under chroot
#     (this machine cannot run containers: crun is refused setrlimit), with
#     the root file system bind-mounted read-only, as uid/gid 65532 with
#     every capability dropped and no_new_privs (setpriv), tmpfs for /tmp and
#     the evidence volume, the ConfigMap of manifests/20-config.yaml at
#     /etc/leakwatch, and in-cluster configuration only:
#     KUBERNETES_SERVICE_HOST/PORT and a service-account token, ca.crt and
#     namespace under /var/run/secrets/kubernetes.io/serviceaccount/, laid out
#     the way the kubelet writes a projected volume (..data symlink swap);
#   - the token is one `kubectl create token` issues for the manifests'
#     ServiceAccount, so the manifests' RBAC alone authorises every call;
#   - the containerised controller writes the GoroutineLeak Event for a pod
#     backed by a real tests/targets process, and `kubectl describe` shows it;
#   - token rotation: the mounted token is replaced mid-run, then the old one
#     is revoked (it is bound to a Secret, which is deleted); the controller
#     keeps its lease and records a new finding, and no API call fails.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
source "$ROOT/tests/e2e/lib.sh"
NS=lw-e2e-image
SYS=leakwatch-system
SA=leakwatch
LEASE=leakwatch-e2e-image
POD_NAME=leakwatch-image-0

# The controller's mounts live in its private mount namespace, which dies
# with it: once it is killed nothing is mounted under $STATE.
e2e_scratch "$NS"
STATE=$TMP
E2E_STOP_SIGNAL=KILL
e2e_on_exit '"$ROOT/hack/backends.sh" stop "$STATE/backends" >/dev/null 2>&1'
e2e_on_exit '[ -z "$KUBECTL" ] || k -n "$SYS" delete lease "$LEASE" --ignore-not-found >/dev/null 2>&1'
e2e_on_exit '[ -z "$KUBECTL" ] || k -n "$SYS" delete secret -l e2e.leakwatch.dev/suite=image --ignore-not-found >/dev/null 2>&1'

if [ "$(id -u)" -ne 0 ]; then
  nok "needs root (umoci unpack, mount namespaces, chroot)"; finish; exit 1
fi

# --- the image -----------------------------------------------------------------
BUILD_DIR=${LW_BUILD:-$ROOT/build}
if ! ARCHIVE=$(BUILD="$BUILD_DIR" "$ROOT/hack/image.sh" build 2>"$STATE/image-build.log"); then
  tail -n 30 "$STATE/image-build.log"
  nok "make image"; finish; exit 1
fi
ok "make image wrote $ARCHIVE"
TAG=$("$ROOT/hack/image.sh" tag)
VERSION=${TAG##*:}
check "archive is named for the version ($VERSION)" \
  test "$(basename "$ARCHIVE")" = "leakwatch-image-$VERSION.oci.tar"
check "the tag is not latest" test "$VERSION" != latest

mkdir -p "$STATE/oci"
tar -xf "$ARCHIVE" -C "$STATE/oci"
REF=$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$STATE/oci/index.json")
check "the archive's reference is $TAG (got $REF)" test "$REF" = "$TAG"
if ! umoci unpack --image "$STATE/oci:$REF" "$STATE/bundle" >"$STATE/umoci.log" 2>&1; then
  cat "$STATE/umoci.log"; nok "umoci unpack"; finish; exit 1
fi
ok "umoci unpacked the image"
RFS=$STATE/bundle/rootfs
CFG=$STATE/bundle/config.json
check "image user is 65532:65532" \
  test "$(jq -r '"\(.process.user.uid):\(.process.user.gid)"' "$CFG")" = 65532:65532
check "entrypoint is leakwatch controller" \
  test "$(jq -c .process.args "$CFG")" = '["/usr/local/bin/leakwatch","controller"]'
check "image version label is $VERSION" \
  test "$(jq -r '.annotations["org.opencontainers.image.version"]' "$CFG")" = "$VERSION"
shells=$(find "$RFS" \( -name sh -o -name bash -o -name dash -o -name busybox \) -printf '%P ' 2>/dev/null)
check "no shell in the image${shells:+ (found $shells)}" test -z "$shells"
check "CA certificates are in the image" test -s "$RFS/etc/ssl/certs/ca-certificates.crt"
# The image's own loader lists what the binary needs; the image must hold
# exactly that set of shared objects, nothing more.
needed=$(chroot "$RFS" /lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/leakwatch |
         awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
         xargs -n1 basename | sort -u)
present=$(find "$RFS" -name '*.so*' \( -type f -o -type l \) -printf '%f\n' | sort -u)
check "the image holds exactly the libraries the binary links ($(wc -w <<<"$needed"))" \
  test "$needed" = "$present"
[ "$needed" = "$present" ] || diff <(echo "$needed") <(echo "$present")
check "the binary in the image reports version $VERSION" \
  bash -c "chroot '$RFS' /usr/local/bin/leakwatch version | grep -qF 'leakwatch $VERSION '"
echo "image: $(du -sh "$RFS" | cut -f1) unpacked, archive $(du -h "$ARCHIVE" | cut -f1)"
# README's route into a kind node: a docker archive that kind loads.
check "skopeo turns the archive into a docker archive for kind load" \
  skopeo copy -q "oci-archive:$ARCHIVE" "docker-archive:$STATE/kind.tar:leakwatch:$VERSION"
check "... tagged leakwatch:$VERSION" \
  bash -c "tar -xOf '$STATE/kind.tar' manifest.json | jq -e '.[0].RepoTags == [\"docker.io/library/leakwatch:$VERSION\"]' >/dev/null"
rm -f "$STATE/kind.tar"

# --- the cluster, the manifests' ServiceAccount and RBAC ------------------------
e2e_cluster_up
k apply -f "$ROOT/manifests/00-namespace.yaml" -f "$ROOT/manifests/10-rbac.yaml" \
  -f "$ROOT/manifests/20-config.yaml" >/dev/null || nok "apply manifests"

# The apiserver as a pod sees it: host, port, and the CA that signed its
# serving certificate (ca.crt of the projected volume).
SERVER=$(k config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
HOSTPORT=${SERVER#https://}; API_HOST=${HOSTPORT%:*}; API_PORT=${HOSTPORT##*:}
CA_DATA=$(k config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')
CA_FILE=$(k config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority}')
if [ -n "$CA_DATA" ]; then base64 -d <<<"$CA_DATA" >"$STATE/ca.crt"; else cp "$CA_FILE" "$STATE/ca.crt"; fi

# A token bound to a Secret dies with it: deleting the Secret revokes it.
new_token() { # secret-name -> token on stdout
  k -n "$SYS" create secret generic "$1" >/dev/null &&
    k -n "$SYS" label secret "$1" e2e.leakwatch.dev/suite=image >/dev/null &&
    k -n "$SYS" create token "$SA" --duration=1h --bound-object-kind=Secret \
      --bound-object-name="$1"
}
TOKEN1=$(new_token lw-e2e-image-token-1) || nok "create token 1"
api_as() { # token path -> HTTP status, verifying the serving cert for API_HOST
  curl -s -o /dev/null -w '%{http_code}' --cacert "$STATE/ca.crt" \
    -H "Authorization: Bearer $1" "https://$API_HOST:$API_PORT$2"
}
check "the serving certificate is valid for $API_HOST and the token authenticates" \
  test "$(api_as "$TOKEN1" /api)" = 200
check "the token is the manifests' ServiceAccount" bash -c \
  "'$KUBECTL' --server='$SERVER' --certificate-authority='$STATE/ca.crt' --token='$TOKEN1' \
     --kubeconfig=/dev/null auth whoami -o jsonpath='{.status.userInfo.username}' |
   grep -qx system:serviceaccount:$SYS:$SA"

# The projected volume, as the kubelet's atomic writer lays it out: files
# are symlinks into ..data, which is swapped in one rename on update.
SAV=$STATE/serviceaccount
mkdir -p "$SAV"
sa_write() { # token
  local d
  d="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
  mkdir "$SAV/$d"
  printf '%s' "$1" >"$SAV/$d/token"
  cp "$STATE/ca.crt" "$SAV/$d/ca.crt"
  printf '%s' "$SYS" >"$SAV/$d/namespace"
  chmod 0644 "$SAV/$d"/*
  ln -sfn "$d" "$SAV/..data_tmp" && mv -T "$SAV/..data_tmp" "$SAV/..data"
  local f
  for f in token ca.crt namespace; do [ -L "$SAV/$f" ] || ln -s "..data/$f" "$SAV/$f"; done
  find "$SAV" -maxdepth 1 -name '..20*' ! -name "$d" -exec rm -rf {} +
}
sa_write "$TOKEN1"

# The ConfigMap, as mounted at /etc/leakwatch.
mkdir -p "$STATE/config"
k -n "$SYS" get configmap leakwatch -o 'jsonpath={.data.config\.yaml}' >"$STATE/config/config.yaml"
check "the manifests' ConfigMap is mounted" test -s "$STATE/config/config.yaml"

# --- a leaking workload backed by real processes ------------------------------
k create namespace "$NS" >/dev/null
deploy() { # replicas
  e2e_targets_deployment "$NS" orders "$1" chan-send targets.leakwatch.dev/rate=4 | k apply -f - >/dev/null
}
deploy 2
check "leaky deployment rolls out" k -n "$NS" rollout status deploy/orders --timeout=120s
"$ROOT/hack/backends.sh" start "$NS" "$STATE/backends" || nok "backends start"

# --- run the image ------------------------------------------------------------
# Mount points a container runtime would create in the bundle before it
# makes the root read-only.
mkdir -p "$RFS/proc" "$RFS/dev" "$RFS/etc/leakwatch" \
         "$RFS/var/run/secrets/kubernetes.io/serviceaccount" "$RFS/run/e2e-setpriv"
# setpriv is not in the image (nothing but leakwatch is): it comes in on a
# volume of its own with its one library, run by the image's loader.
SETPRIV_LIBS=$(ldd /usr/bin/setpriv | awk '$3 ~ /^\// && $1 !~ /^libc\.so/ { print $3 }')
ROOTMNT=$STATE/root
mkdir -p "$ROOTMNT"
METRICS_PORT=$(e2e_free_port)

cat >"$STATE/run.sh" <<EOF
set -eu
R=$ROOTMNT
mount --bind '$RFS' "\$R"
mount -o remount,bind,ro "\$R"
mount -t proc proc "\$R/proc"
mount -t tmpfs -o mode=0755,size=64k,nosuid tmpfs "\$R/dev"
for n in null zero random urandom; do touch "\$R/dev/\$n"; mount --bind "/dev/\$n" "\$R/dev/\$n"; done
mount -t tmpfs -o mode=1777,size=16m,nosuid,nodev tmpfs "\$R/tmp"
mount -t tmpfs -o uid=65532,gid=65532,mode=0755,size=64m,nosuid,nodev tmpfs "\$R/var/lib/leakwatch"
mount --bind '$STATE/config' "\$R/etc/leakwatch"
mount -o remount,bind,ro "\$R/etc/leakwatch"
mount --bind '$SAV' "\$R/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "\$R/var/run/secrets/kubernetes.io/serviceaccount"
mount -t tmpfs -o mode=0755,size=4m tmpfs "\$R/run/e2e-setpriv"
cp /usr/bin/setpriv $SETPRIV_LIBS "\$R/run/e2e-setpriv/"
mount -o remount,ro "\$R/run/e2e-setpriv"
exec chroot "\$R" /lib64/ld-linux-x86-64.so.2 --library-path /run/e2e-setpriv \\
  /run/e2e-setpriv/setpriv --reuid=65532 --regid=65532 --clear-groups \\
    --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- \\
  /usr/local/bin/leakwatch "\$@"
EOF
# Only what the pod spec gives: the Deployment's env, the service env.
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent \
  KUBERNETES_SERVICE_HOST="$API_HOST" KUBERNETES_SERVICE_PORT="$API_PORT" \
  POD_NAME="$POD_NAME" POD_NAMESPACE="$SYS" \
  unshare --mount --propagation private bash "$STATE/run.sh" \
    controller --config=/etc/leakwatch/config.yaml \
    --namespaces "$NS" --interval 3s --identity "$POD_NAME" --lease-name "$LEASE" \
    --metrics-addr "127.0.0.1:$METRICS_PORT" --log-level debug \
    >"$STATE/controller.log" 2>&1 &
CTL_PID=$!
E2E_PIDS+=("$CTL_PID")

running_image() { [ "$(cat "/proc/$CTL_PID/comm" 2>/dev/null)" = leakwatch ]; }
check "the image's controller is running" wait_until 20 running_image
status() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$CTL_PID/status"; }
check "runs as uid 65532 (got $(status Uid))" test "$(status Uid)" = "65532 65532 65532 65532"
check "runs as gid 65532, no groups" bash -c "[ '$(status Gid)' = '65532 65532 65532 65532' ] && [ -z '$(status Groups)' ]"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
  check "$cap is empty" test "$(status "$cap")" = 0000000000000000
done
check "no_new_privs is set" test "$(status NoNewPrivs)" = 1
check "its root is the image, mounted read-only" \
  bash -c "awk '\$5 == \"/\" { print \$6 }' /proc/$CTL_PID/mountinfo | grep -qE '(^|,)ro(,|\$)'"
# Its file system as it sees it, in its own mount namespace: chroot(1)
# changes directory into the new root and leakwatch never changes it, so
# the process's working directory is that root.
CTL_FS=/proc/$CTL_PID/cwd
check "even root cannot write to that root" \
  bash -c "! touch '$CTL_FS/probe' 2>/dev/null"
check "no kubeconfig is visible: in-cluster configuration only" \
  test -z "$(tr '\0' '\n' <"/proc/$CTL_PID/environ" | grep -E '^KUBECONFIG=')"

metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics"; }
check "/healthz answers" wait_until 20 bash -c "curl -sf http://127.0.0.1:$METRICS_PORT/healthz >/dev/null"
holder() { k -n "$SYS" get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
check "it takes the lease in $SYS as $POD_NAME" wait_until 30 bash -c "[ \"\$('$KUBECTL' -n $SYS get lease $LEASE -o 'jsonpath={.spec.holderIdentity}')\" = $POD_NAME ]"

events_for() { # pod -> messages of leakwatch's GoroutineLeak Events
  k -n "$NS" get events --field-selector "involvedObject.name=$1,reason=GoroutineLeak" \
    -o 'jsonpath={range .items[?(@.source.component=="leakwatch")]}{.message}{"\n"}{end}' 2>/dev/null
}
all_reported() { local p; for p in $1; do [ -n "$(events_for "$p")" ] || return 1; done; }
pods=$(k -n "$NS" get pods -l app=orders -o 'jsonpath={.items[*].metadata.name}')
check "the containerised controller writes GoroutineLeak Events" wait_until 240 all_reported "$pods"
for p in $pods; do
  check "$p: pattern chan-send in the Event" grep -q "pattern chan-send" <<<"$(events_for "$p")"
  check "$p: kubectl describe shows it" \
    bash -c "'$KUBECTL' -n '$NS' describe pod '$p' | grep -A3 GoroutineLeak | grep -q 'pattern chan-send'"
done
check "evidence written to the evidence volume" \
  bash -c "find '$CTL_FS/var/lib/leakwatch' -name '*.pb.gz' | grep -q ."

# --- token rotation -------------------------------------------------------------
api_total() { # code -> sum of leakwatch_api_requests_total with that code
  metric | awk -v c="code=\"$1\"" 'index($0, "leakwatch_api_requests_total{") == 1 && index($0, c) { s += $NF } END { print s + 0 }'
}
TOKEN2=$(new_token lw-e2e-image-token-2) || nok "create token 2"
sa_write "$TOKEN2"
check "the mounted token now is the new one" \
  test "$(cat "$SAV/token")" = "$TOKEN2"
sleep 2
k -n "$SYS" delete secret lw-e2e-image-token-1 >/dev/null
check "the old token is revoked" wait_until 20 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$STATE/ca.crt' -H 'Authorization: Bearer $TOKEN1' https://$API_HOST:$API_PORT/api)\" = 401 ]"
check "the new token works" test "$(api_as "$TOKEN2" /api)" = 200
renew_before=$(k -n "$SYS" get lease "$LEASE" -o 'jsonpath={.spec.renewTime}')
# A third leaking pod after the revocation: writing its Event needs the API.
deploy 3
check "scaled to 3" k -n "$NS" rollout status deploy/orders --timeout=120s
new_pod=""
for p in $(k -n "$NS" get pods -l app=orders -o 'jsonpath={.items[*].metadata.name}'); do
  [[ " $pods " == *" $p "* ]] || new_pod=$p
done
check "a GoroutineLeak Event for the pod created after the revocation ($new_pod)" \
  wait_until 240 all_reported "$new_pod"
check "the controller kept its lease through the rotation" test "$(holder)" = "$POD_NAME"
check "the lease is still being renewed" \
  test "$(k -n "$SYS" get lease "$LEASE" -o 'jsonpath={.spec.renewTime}')" != "$renew_before"
n401=$(api_total 401); n403=$(api_total 403)
echo "API responses after rotation: $n401 x 401, $n403 x 403"
# A 401 is retried once with the re-read token; a request that failed for
# good would be logged as a warning with the API's "Unauthorized".
check "no API call failed for the revoked token" \
  bash -c "! grep -iE 'unauthorized|forbidden' '$STATE/controller.log' | grep -E '\"level\":\"(warn|error)\"'"
check "no 403: the manifests' RBAC covers every call" test "$n403" -eq 0

# --- metrics against DESIGN.md ----------------------------------------------------
# Every series the containerised controller serves: its metric (histogram
# suffixes folded) and label names must be a row of DESIGN.md's table.
metric >"$STATE/metrics.txt"
doc_metrics() {
  sed -n '/<!-- metrics:begin -->/,/<!-- metrics:end -->/p' "$ROOT/DESIGN.md" | grep '^| `' |
    awk -F'|' '{ n = $2; gsub(/[` ]/, "", n); l = $4; gsub(/[` ]/, "", l); print n "|" l }'
}
doc_metrics | sort >"$STATE/doc-metrics"
awk '!/^#/ && NF {
    s = $1; n = s; sub(/\{.*/, "", n); l = ""
    if (match(s, /\{.*\}/)) {
      m = split(substr(s, RSTART + 1, RLENGTH - 2), kv, /",/)
      for (i = 1; i <= m; i++) { k = kv[i]; sub(/=.*/, "", k); if (k != "le") l = l (l == "" ? "" : ",") k }
    }
    print n "|" l }' "$STATE/metrics.txt" | sort -u >"$STATE/served"
sed -E 's/_(bucket|sum|count)\|/|/' "$STATE/served" | sort -u >"$STATE/served-folded"
undocumented=$(grep -vxF -f "$STATE/doc-metrics" "$STATE/served-folded" | tr '\n' ' ')
check "the controller served $(wc -l <"$STATE/served-folded") metric families" \
  test "$(wc -l <"$STATE/served-folded")" -ge 8
check "every served metric and its labels are in DESIGN.md${undocumented:+ (not: $undocumented)}" \
  test -z "$undocumented"
sed -n '/<!-- patterns:begin -->/,/<!-- patterns:end -->/p' "$ROOT/DESIGN.md" | grep '^| `' |
  awk -F' \\| ' '{ n = $1; sub(/^\| /, "", n); gsub(/`/, "", n); print n }' | sort >"$STATE/doc-patterns"
sed -n 's/^leakwatch_findings{pattern="\([^"]*\)"}.*/\1/p' "$STATE/metrics.txt" | sort >"$STATE/served-patterns"
check "leakwatch_findings has one series per pattern of DESIGN.md" \
  cmp -s "$STATE/doc-patterns" "$STATE/served-patterns"

# --- graceful stop ------------------------------------------------------------------
kill -TERM "$CTL_PID"
check "SIGTERM stops it" wait_until 20 bash -c "! kill -0 $CTL_PID 2>/dev/null"
wait "$CTL_PID"; rc=$?
CTL_PID=""
check "exit status 0 after SIGTERM (got $rc)" test "$rc" -eq 0
check "the lease is released" test -z "$(holder)"
if [ "$_fail" -ne 0 ]; then tail -n 40 "$STATE/controller.log"; fi
finish
