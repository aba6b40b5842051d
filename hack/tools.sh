#!/usr/bin/env bash
# tools.sh — builds, from Go modules, the third-party binaries that the local
# control plane (hack/cluster.sh), the e2e tests and the chart tests need, and
# tells callers where they are:
#
#   hack/tools.sh all                 build everything that is missing (idempotent)
#   hack/tools.sh k8s|etcd|kwok|helm...   build those components if missing
#   hack/tools.sh path NAME...        print the absolute path of each binary NAME
#                                     (one per line), building it if missing
#   hack/tools.sh versions            print the pinned versions
#   hack/tools.sh pin-k8s vX.Y.Z      maintainers: regenerate hack/k8s/go.mod
#
# NAME is one of: kube-apiserver kube-controller-manager kube-scheduler kubectl
# etcd kwok kwokctl helm.
#
# Binaries are cached outside the clone, keyed by version:
#   ${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}/bin/<component>-<version>/
# so a second run builds nothing.  Each component is built into a temporary
# directory that is renamed into place only when complete, under a per-component
# lock, so interrupted or concurrent runs never leave a half-built cache entry.
#
# Versions: Kubernetes comes from hack/k8s/go.mod, etcd from hack/etcd/go.mod,
# kwok and helm from the variables below.
#
# Not for: leakwatch's own C build, apt packages (hack/install-deps.sh), or
# starting anything (hack/cluster.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}"
BIN_CACHE="$CACHE/bin"

KWOK_VERSION="v0.8.0"
HELM_VERSION="v3.22.0"

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# log, die, usage
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- go toolchain

find_go() {
  if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then
    GO=/usr/local/go/bin/go
  else
    die "no Go toolchain found (need go >= 1.26 on PATH or in /usr/local/go)"
  fi
  local v
  v="$("$GO" env GOVERSION)"            # e.g. go1.26.8
  v="${v#go}"
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 26 ]; }; then
    die "Go $v is too old; Kubernetes 1.36 needs Go >= 1.26"
  fi
  # The wrapper modules are standalone: never let a go.work or a caller's
  # GOFLAGS (e.g. -mod=vendor) change how they resolve.
  export GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
  # The shared machine has few cores: keep builds polite.
  NICE=(nice -n 10)
}

need_tools() {
  # Building needs only Go plus the project's base packages (ca-certificates
  # for the module proxy); install-deps.sh is a fast no-op when all is there.
  if [ -x "$ROOT/hack/install-deps.sh" ]; then
    "$ROOT/hack/install-deps.sh"
  fi
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
}

# -------------------------------------------------------------------- versions

gomod_version() { # <go.mod> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

k8s_version()  { gomod_version "$ROOT/hack/k8s/go.mod" k8s.io/kubernetes; }
etcd_version() { gomod_version "$ROOT/hack/etcd/go.mod" go.etcd.io/etcd/server/v3; }

component_of() { # binary name -> component
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo k8s ;;
    etcd) echo etcd ;;
    kwok|kwokctl) echo kwok ;;
    helm) echo helm ;;
    *) return 1 ;;
  esac
}

component_version() {
  case "$1" in
    k8s) k8s_version ;;
    etcd) etcd_version ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
  esac
}

component_bins() {
  case "$1" in
    k8s) echo "${K8S_BINS[*]}" ;;
    etcd) echo etcd ;;
    kwok) echo kwok kwokctl ;;
    helm) echo helm ;;
  esac
}

component_dir() { echo "$BIN_CACHE/$1-$(component_version "$1")"; }

is_built() { # component
  local dir b
  dir="$(component_dir "$1")"
  for b in $(component_bins "$1"); do
    [ -x "$dir/$b" ] || return 1
  done
}

# --------------------------------------------------------------------- builders

# Each builder writes its binaries into $1 (an empty temp dir).

build_k8s() {
  local out="$1" ver minor
  ver="$(k8s_version)"
  [ -n "$ver" ] || die "cannot read the k8s.io/kubernetes version from hack/k8s/go.mod"
  minor="${ver#v1.}"; minor="${minor%%.*}"
  local date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld=(-s -w)
  local pkg kv
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for kv in "gitVersion=$ver" "gitMajor=1" "gitMinor=$minor" \
              "gitTreeState=clean" "buildDate=$date"; do
      ld+=(-X "$pkg.$kv")
    done
  done
  local pkgs=() b
  for b in "${K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "building Kubernetes $ver (${K8S_BINS[*]}); this takes a while on a cold cache"
  (cd "$ROOT/hack/k8s" && CGO_ENABLED=0 "${NICE[@]}" "$GO" build -trimpath \
      -tags selinux,notest,grpcnotrace -ldflags "${ld[*]}" -o "$out/" "${pkgs[@]}")
}

build_etcd() {
  local out="$1" ver
  ver="$(etcd_version)"
  [ -n "$ver" ] || die "cannot read the etcd version from hack/etcd/go.mod"
  log "building etcd $ver"
  (cd "$ROOT/hack/etcd" && CGO_ENABLED=0 "${NICE[@]}" "$GO" build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ver" -o "$out/etcd" .)
}

build_kwok() {
  local out="$1"
  log "building kwok and kwokctl $KWOK_VERSION"
  # go install pkg@version ignores any go.mod, so run it from a neutral dir.
  (cd "$out" && CGO_ENABLED=0 GOBIN="$out" "${NICE[@]}" "$GO" install -trimpath \
      -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
      "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION")
}

build_helm() {
  local out="$1" modfile cg major minor
  log "building helm $HELM_VERSION"
  # Helm stamps the Kubernetes version it was built against (used by
  # .Capabilities and lint) from its client-go requirement, like its Makefile.
  modfile="$(cd "$out" && "$GO" mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
             sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$modfile" ] || die "cannot download helm.sh/helm/v3@$HELM_VERSION"
  cg="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$modfile")"  # v0.37.0
  cg="${cg#v}"                        # 0.37.0 -> Kubernetes 1.37
  major=$(( ${cg%%.*} + 1 ))
  minor="${cg#*.}"; minor="${minor%%.*}"
  local ld=(-s -w
    -X "helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    -X "helm.sh/helm/v3/internal/version.gitTreeState=clean"
    -X "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major"
    -X "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
    -X "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major"
    -X "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor")
  (cd "$out" && CGO_ENABLED=0 GOBIN="$out" "${NICE[@]}" "$GO" install -trimpath \
      -ldflags "${ld[*]}" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
}

ensure() { # component
  local comp="$1" dir ver tmp
  is_built "$comp" && return 0
  find_go
  need_tools
  ver="$(component_version "$comp")"
  dir="$(component_dir "$comp")"
  mkdir -p "$BIN_CACHE"
  # One builder per component at a time; latecomers wait, then find it built.
  exec {lockfd}>"$BIN_CACHE/.$comp.lock"
  if ! flock -n "$lockfd"; then
    log "waiting for another build of $comp $ver to finish"
    flock "$lockfd"
  fi
  if is_built "$comp"; then
    exec {lockfd}>&-
    return 0
  fi
  rm -rf "$dir" "$BIN_CACHE/.tmp-$comp-"*
  tmp="$(mktemp -d "$BIN_CACHE/.tmp-$comp-$ver.XXXXXX")"
  local start=$SECONDS
  if ! "build_$comp" "$tmp"; then
    rm -rf "$tmp"
    exec {lockfd}>&-
    die "building $comp $ver failed (see the go output above)"
  fi
  local b
  for b in $(component_bins "$comp"); do
    [ -x "$tmp/$b" ] || { rm -rf "$tmp"; exec {lockfd}>&-; die "build of $comp produced no $b"; }
  done
  chmod 0755 "$tmp"
  mv -T "$tmp" "$dir"
  exec {lockfd}>&-
  log "built $comp $ver in $((SECONDS - start))s -> $dir"
}

# ---------------------------------------------------------------- maintenance

# Regenerates hack/k8s/go.mod for a k8s.io/kubernetes version: every staging
# module that k8s.io/kubernetes requires as v0.0.0 (it replaces them with
# ./staging/... in its own repo) is replaced with its published v0.Y.Z twin.
pin_k8s() {
  local ver="${1:-}"
  [[ "$ver" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "usage: hack/tools.sh pin-k8s v1.Y.Z"
  find_go
  local staging="v0.${ver#v1.}" modfile
  modfile="$(cd /tmp && "$GO" mod download -json "k8s.io/kubernetes@$ver" |
             sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$modfile" ] || die "cannot download k8s.io/kubernetes@$ver (is it on the proxy and in sum.golang.org?)"
  local gover godebug mods
  gover="$(awk '$1 == "go" { print $2; exit }' "$modfile")"
  godebug="$(awk '$1 == "godebug" { print; exit }' "$modfile")"
  # Staging modules: required at v0.0.0 *and* replaced by a ./staging path.
  mods="$(awk '
    $1 == "replace" && $2 == "(" { inrep = 1; next }
    inrep && $1 == ")" { inrep = 0; next }
    inrep && $3 ~ /^\.\/staging\// { staged[$1] = 1; next }
    $2 == "v0.0.0" { req[$1] = 1 }
    END { for (m in req) if (m in staged) print m }' "$modfile" | sort)"
  [ -n "$mods" ] || die "found no staging modules in $modfile"
  local f="$ROOT/hack/k8s/go.mod" b m
  {
    echo "// Build wrapper for kube-apiserver, kube-controller-manager, kube-scheduler"
    echo "// and kubectl, used by hack/cluster.sh.  Generated by"
    echo "// \`hack/tools.sh pin-k8s $ver\`: do not edit by hand."
    echo "module leakwatch/hack/k8s"
    echo
    echo "go $gover"
    [ -z "$godebug" ] || { echo; echo "$godebug"; }
    echo
    echo "tool ("
    for b in "${K8S_BINS[@]}"; do echo "	k8s.io/kubernetes/cmd/$b"; done
    echo ")"
    echo
    echo "require k8s.io/kubernetes $ver"
    echo
    echo "replace ("
    for m in $mods; do echo "	$m => $m $staging"; done
    echo ")"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
  rm -f "$ROOT/hack/k8s/go.sum"
  (cd "$ROOT/hack/k8s" && "$GO" mod tidy)
  log "hack/k8s pinned to k8s.io/kubernetes $ver (staging $staging)"
}

# ------------------------------------------------------------------------ main

cmd="${1:-}"
case "$cmd" in
  all)
    for c in k8s etcd kwok helm; do ensure "$c"; done ;;
  k8s|etcd|kwok|helm)
    for c in "$@"; do
      case "$c" in k8s|etcd|kwok|helm) ensure "$c" ;; *) die "unknown component '$c'" ;; esac
    done ;;
  path)
    shift
    [ $# -gt 0 ] || die "usage: hack/tools.sh path NAME..."
    for name in "$@"; do
      comp="$(component_of "$name")" || die "unknown binary '$name' (known: ${K8S_BINS[*]} etcd kwok kwokctl helm)"
      ensure "$comp"
      echo "$(component_dir "$comp")/$name"
    done ;;
  versions)
    for c in k8s etcd kwok helm; do echo "$c $(component_version "$c")"; done ;;
  pin-k8s)
    pin_k8s "${2:-}" ;;
  -h|--help|help|"")
    usage ;;
  *)
    echo "tools.sh: unknown command '$cmd'" >&2; usage ;;
esac
