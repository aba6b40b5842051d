#!/usr/bin/env bash
# install-deps.sh — idempotently installs the Debian packages that building,
# testing, fuzzing, linting, benchmarking and imaging leakwatch need.
#
# It is called by the make targets that need it, so `make test` and
# `make demo` work on a fresh machine.  A stamp file keyed by the package
# list makes the second run a no-op that costs one `dpkg-query`.
# Not for: Go-built binaries (see hack/cluster.sh and hack/tools.sh).
set -euo pipefail

PKGS=(
  build-essential pkg-config git curl ca-certificates jq procps psmisc iproute2
  # The libraries leakwatch links statically; libcurl and libmicrohttpd
  # are built from Debian's sources by hack/vendor-libs.sh, which needs
  # dpkg-source (dpkg-dev, part of build-essential) and curl.
  libjansson-dev libyaml-dev libssl-dev zlib1g-dev libcmocka-dev
  clang llvm libclang-rt-14-dev cppcheck shellcheck valgrind time
  # make image (hack/image.sh) and the image e2e suite: build the Dockerfile
  # without a Docker engine, unpack and inspect the OCI archive.
  podman buildah skopeo umoci crun debootstrap
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
