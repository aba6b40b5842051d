#!/usr/bin/env bash
# image.sh — builds the controller image from the repository's Dockerfile,
# unchanged, on a machine without a Docker engine or a registry, and writes
# it as an OCI archive:
#
#   hack/image.sh build     build/leakwatch-image-<version>.oci.tar (prints its path)
#   hack/image.sh path      the archive path for the current version (no build)
#   hack/image.sh tag       the image tag for the current version
#   hack/image.sh base      only make and import the base image
#
# How: the Dockerfile's FROM image (debian:bookworm-slim) is made locally
# with debootstrap (minbase, trimmed the way the slim image is) and imported
# into podman's local storage under exactly that name; then
# `podman build --pull=never --isolation chroot` builds the same Dockerfile a
# Docker user builds.  A base image that is already in local storage and was
# not made here (e.g. pulled from a registry) is used as it is.
#
# Caches, outside the clone (${LEAKWATCH_CACHE:-~/.cache/leakwatch}/image):
# the base rootfs tarball, keyed by suite, variant and ISO week (so security
# updates arrive weekly and a second build costs nothing); podman keeps the
# build's layer cache in its own storage.
#
# Version: `git describe --tags --always --dirty` with a leading "v" dropped,
# so a release tag v0.1.0 gives the image tag 0.1.0, which is the chart's
# appVersion that manifests/ and the chart pin.  Never "latest".
#
# Not for: running the image (tests/e2e/image.sh unpacks it and runs it under
# chroot), pushing it anywhere (see README "Install in a cluster").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}"
IMG_CACHE="$CACHE/image"
SUITE=bookworm
BASE_NAME=docker.io/library/debian:bookworm-slim
IMAGE_REPO="${LEAKWATCH_IMAGE_REPO:-ghcr.io/leakwatch/leakwatch}"
BUILD_DIR="${BUILD:-build}"
# Marks a base image made by this script, with the cache key it came from.
BASE_LABEL=dev.leakwatch.base

# log, die, usage
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version() {
  local v
  v="$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)"
  echo "${v#v}"
}

archive_path() {
  case "$BUILD_DIR" in
    /*) echo "$BUILD_DIR/leakwatch-image-$(version).oci.tar" ;;
    *) echo "$ROOT/$BUILD_DIR/leakwatch-image-$(version).oci.tar" ;;
  esac
}

need_root() {
  # debootstrap, podman's chroot isolation and the image's file ownership
  # all need real root; CI and the development machines run as root.
  [ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and podman --isolation chroot need it)"
}

base_key() { echo "debian-$SUITE-slim-minbase-$(date -u +%G-w%V)"; }

# Makes the base rootfs tarball for the key, unless cached.
make_base_tar() {
  local key="$1" tar="$IMG_CACHE/$1.tar" tmp mirror
  [ -s "$tar" ] && { echo "$tar"; return; }
  mkdir -p "$IMG_CACHE"
  exec {lockfd}>"$IMG_CACHE/.base.lock"
  flock "$lockfd"
  if [ -s "$tar" ]; then exec {lockfd}>&-; echo "$tar"; return; fi
  rm -rf "$IMG_CACHE"/.tmp-base-*
  tmp="$(mktemp -d "$IMG_CACHE/.tmp-base-XXXXXX")"
  mirror="$(host_mirror "$SUITE" || true)"
  log "debootstrap $SUITE (minbase) ${mirror:+from $mirror }-> $key; a minute or two, once a week"
  local start=$SECONDS
  if ! debootstrap --variant=minbase --components=main "$SUITE" "$tmp/rootfs" \
        ${mirror:+"$mirror"} >"$tmp/debootstrap.log" 2>&1; then
    tail -n 20 "$tmp/debootstrap.log" >&2
    exec {lockfd}>&-
    die "debootstrap failed (log above)"
  fi
  slim_rootfs "$tmp/rootfs" "$mirror"
  tar -C "$tmp/rootfs" --numeric-owner -cf "$tmp/base.tar" .
  mv "$tmp/base.tar" "$tar"
  rm -rf "$tmp"
  # Last week's base is superseded: keep only this one.
  find "$IMG_CACHE" -maxdepth 1 -name "debian-$SUITE-*.tar" ! -name "$key.tar" -delete
  exec {lockfd}>&-
  log "base rootfs ready in $((SECONDS - start))s ($(du -h "$tar" | cut -f1))"
  echo "$tar"
}

# What the slim image does on top of minbase: no docs, man pages or
# locales now or from later installs, no apt lists or caches, and apt
# sources for the suite and its updates.
slim_rootfs() {
  local r="$1" mirror="$2"
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d" "$r/etc/apt/apt.conf.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  cat >"$r/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Acquire::Languages "none";
EOF
  if [ -n "$mirror" ]; then
    local sec
    sec="$(grep -rhs -A3 '^URIs:.*-security' /etc/apt/sources.list.d/*.sources | awk '/^URIs:/ { print $2; exit }')"
    {
      echo "deb $mirror $SUITE main"
      echo "deb $mirror $SUITE-updates main"
      [ -z "$sec" ] || echo "deb $sec $SUITE-security main"
    } >"$r/etc/apt/sources.list"
  fi
  find "$r/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"* "$r/usr/share/locale/"* \
         "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb \
         "$r/var/lib/apt/lists/"* "$r/var/log/"*.log "$r/var/log/apt/"* \
         "$r/tmp/"* "$r/debootstrap"
}

# Imports the base under the Dockerfile's FROM name, unless an image of that
# name is already there (ours for this key, or one pulled from a registry).
ensure_base() {
  local key have
  key="$(base_key)"
  if podman image exists "$BASE_NAME"; then
    have="$(podman image inspect --format "{{ index .Labels \"$BASE_LABEL\" }}" "$BASE_NAME" 2>/dev/null || true)"
    if [ -z "$have" ] || [ "$have" = "<no value>" ]; then
      log "using $BASE_NAME already in local storage (not made here)"
      return 0
    fi
    [ "$have" = "$key" ] && return 0
  fi
  local tar
  tar="$(make_base_tar "$key")"
  log "importing $tar as $BASE_NAME"
  podman import --quiet --change "LABEL $BASE_LABEL=$key" \
    --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tar" "$BASE_NAME" >/dev/null
}

cmd_build() {
  need_root
  "$ROOT/hack/install-deps.sh"
  local start=$SECONDS ver out tag
  ver="$(version)"
  tag="$IMAGE_REPO:$ver"
  out="$(archive_path)"
  ensure_base
  log "building $tag from Dockerfile (podman --isolation chroot --pull=never)"
  podman build --isolation chroot --pull=never --layers \
    --build-arg "VERSION=$ver" -t "$tag" -f "$ROOT/Dockerfile" "$ROOT" >&2
  mkdir -p "$(dirname "$out")"
  rm -f "$out.tmp"
  podman save --format oci-archive -o "$out.tmp" "$tag"
  mv "$out.tmp" "$out"
  log "wrote $out ($(du -h "$out" | cut -f1); image $(podman image inspect --format '{{.Size}}' "$tag") bytes unpacked) in $((SECONDS - start))s"
  echo "$out"
}

case "${1:-}" in
  build) cmd_build ;;
  base) need_root; "$ROOT/hack/install-deps.sh"; ensure_base ;;
  path) archive_path ;;
  tag) echo "$IMAGE_REPO:$(version)" ;;
  -h|--help|help|"") usage ;;
  *) echo "image.sh: unknown command '$1'" >&2; usage ;;
esac
