#!/usr/bin/env bash
# vendor-libs.sh — the libraries leakwatch links, and how: every one of
# them statically, from Debian's code, so the process maps glibc and
# nothing else.
#
#   hack/vendor-libs.sh build    fetch, check and build libcurl and
#                                libmicrohttpd into the cache (once)
#   hack/vendor-libs.sh prefix   where they are installed
#   hack/vendor-libs.sh cflags   compiler flags for every library linked
#   hack/vendor-libs.sh libs     linker flags for every library linked
#
# Why not Debian's shared libraries, as they come: libcurl4-openssl is
# built with every protocol and authentication curl knows, so loading it
# loads 27 more shared libraries (GnuTLS through librtmp, Kerberos, LDAP,
# SASL, libssh2, p11-kit, nettle, gmp...), and libmicrohttpd loads GnuTLS
# for an HTTPS the metrics endpoint never serves.  leakwatch speaks
# HTTP/1.1 and HTTPS through OpenSSL, with gzip, and nothing else.  Those
# libraries cost 4.2 MB of resident memory before the first pod (an idle
# controller went from 12.0 to 7.8 MB without them); linking OpenSSL,
# jansson, libyaml and zlib statically too saves another 1.4 MB (6.4 MB),
# as nothing needs libcrypto's exported symbol tables or its relocated
# data any more.  DESIGN.md ("Scale → Memory") has the figures.
#
# What is built: Debian bookworm's own source packages of curl and
# libmicrohttpd (the code and security patches of the distribution's
# binaries), pinned by version and SHA-256, unpacked by dpkg-source (which
# applies Debian's patches), configured with only HTTP and HTTPS
# (OpenSSL, zlib) and, for libmicrohttpd, without HTTPS; static archives
# only.  OpenSSL, jansson, libyaml and zlib are the static archives of
# Debian's -dev packages (hack/install-deps.sh).  A security update of any
# of them reaches leakwatch by rebuilding it (and its image), as it would
# for any statically linked program: bump the pins below for curl and
# libmicrohttpd.
#
# Cache, outside the clone: ${LEAKWATCH_CACHE:-~/.cache/leakwatch}/vendor/
# (downloads in src/, one install prefix per content of this file), built
# under a lock so concurrent makes build it once.
#
# Not for: the Debian packages themselves (hack/install-deps.sh).
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}/vendor"
SUITE=bookworm

# Source package, its pool folder, version, and the SHA-256 of each file.
CURL_PKG=curl CURL_POOL=c/curl CURL_VERSION=7.88.1-10+deb12u15
CURL_FILES=(
  "curl_7.88.1-10+deb12u15.dsc 2744f12e3aef161c0361743fa1b318296b122e566e47f381e4a63320fbcc23f4"
  "curl_7.88.1.orig.tar.gz cdb38b72e36bc5d33d5b8810f8018ece1baa29a8f215b4495e495ded82bbf3c7"
  "curl_7.88.1-10+deb12u15.debian.tar.xz 961b78bc48492c5693e4decb352ddd176f343260a8956f48b2887874048ef23b"
)
MHD_PKG=libmicrohttpd MHD_POOL=libm/libmicrohttpd MHD_VERSION=0.9.75-6
MHD_FILES=(
  "libmicrohttpd_0.9.75-6.dsc c0f8a9cd77c41285d2d48fc68bbee2e460a55042fcd5d3f6b9946c017d4b6846"
  "libmicrohttpd_0.9.75.orig.tar.xz 796e7e217a4802679fcac667a4e98501c53185dcf50ca0583870e84192620131"
  "libmicrohttpd_0.9.75-6.debian.tar.xz 566c247bfbf67e20858705ae695f58db747d50ed8512f2bc46a28bef9086e5af"
)

# Only what leakwatch uses (pkg/kube, pkg/capture: HTTP/1.1, TLS with
# client certificates and CA blobs, Basic auth, gzip, proxies, the
# CONNECT_ONLY upgrade for port-forward).  The CA bundle is the path the
# image ships (Dockerfile).
CURL_CONFIGURE=(
  --disable-shared --enable-static --with-pic
  --with-openssl --with-zlib
  --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path
  --without-libpsl --without-libidn2 --without-librtmp --without-libssh2
  --without-nghttp2 --without-brotli --without-zstd --without-gssapi
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb
  --disable-smtp --disable-gopher --disable-mqtt --disable-ftp --disable-file
  --disable-manual --disable-ntlm --disable-alt-svc --disable-hsts
  --disable-cookies --disable-doh --disable-mime --disable-netrc
  --disable-progress-meter
)
MHD_CONFIGURE=(
  --disable-shared --enable-static --with-pic
  --disable-https --disable-doc --disable-examples --disable-curl
  --disable-tools
)

# Every library leakwatch links, for pkg-config.
PC_PKGS=(libcurl libmicrohttpd jansson yaml-0.1 openssl zlib)

prefix() {
  local key
  key="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"
  echo "$CACHE/curl-$CURL_VERSION-mhd-$MHD_VERSION-$key"
}

# fetch POOL FILE SHA256: FILE into $CACHE/src, checked.
fetch() {
  local pool="$1" file="$2" sum="$3" dest="$CACHE/src/$2" base url
  if [ -f "$dest" ] && echo "$sum  $dest" | sha256sum -c --status; then
    return
  fi
  mkdir -p "$CACHE/src"
  for base in "$(host_mirror "$SUITE" || true)" http://deb.debian.org/debian; do
    [ -n "$base" ] || continue
    url="${base%/}/pool/main/$pool/$file"
    if curl -fsSL --retry 3 --connect-timeout 20 -o "$dest.part" "$url"; then
      if echo "$sum  $dest.part" | sha256sum -c --status; then
        mv "$dest.part" "$dest"
        return
      fi
      rm -f "$dest.part"
      die "$url: SHA-256 is not the pinned $sum"
    fi
  done
  rm -f "$dest.part"
  die "cannot download $file from Debian's pool/main/$pool; if the mirror has moved on to a newer version, update the pins in $HACK_SCRIPT"
}

# unpack PKG POOL VERSION FILES... -> prints the source tree's path.
unpack() {
  local pkg="$1" pool="$2" version="$3" spec work="$4"
  shift 4
  for spec in "$@"; do
    # shellcheck disable=SC2086  # "file sha256", split on purpose
    fetch "$pool" $spec
  done
  dpkg-source --no-check -x "$CACHE/src/${pkg}_$version.dsc" "$work/$pkg" >"$work/$pkg.unpack.log" 2>&1 ||
    { cat "$work/$pkg.unpack.log" >&2; die "dpkg-source could not unpack $pkg $version"; }
  echo "$work/$pkg"
}

# configure_make NAME SRC PREFIX SUBDIRS CONFIGURE-ARGS...: a static build
# of SUBDIRS (the library and its headers), installed into PREFIX.
configure_make() {
  local name="$1" src="$2" pfx="$3" subdirs="$4" d
  shift 4
  log "building $name (static, once; a minute or two)"
  (
    cd "$src"
    ./configure --prefix="$pfx" "$@" >"$src/../$name.configure.log" 2>&1 ||
      { tail -n 30 "$src/../$name.configure.log" >&2; exit 1; }
    for d in $subdirs; do
      make -C "$d" -j"$(nproc)" >"$src/../$name.make.log" 2>&1 ||
        { tail -n 30 "$src/../$name.make.log" >&2; exit 1; }
      make -C "$d" install >>"$src/../$name.make.log" 2>&1
    done
    make install-pkgconfigDATA >>"$src/../$name.make.log" 2>&1
  ) || die "building $name failed (logs above)"
}

build() {
  local pfx work src
  pfx="$(prefix)"
  [ -f "$pfx/.done" ] && return
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  [ -f "$pfx/.done" ] && return
  # A scratch tree of its own next to the cache (mktemp's template; the
  # X's become a unique suffix), removed on exit whatever happens.
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: work is local
  trap "rm -rf '$work'" EXIT
  rm -rf "$pfx"
  src="$(unpack "$CURL_PKG" "$CURL_POOL" "$CURL_VERSION" "$work" "${CURL_FILES[@]}")"
  configure_make curl "$src" "$pfx" "lib include" "${CURL_CONFIGURE[@]}"
  src="$(unpack "$MHD_PKG" "$MHD_POOL" "$MHD_VERSION" "$work" "${MHD_FILES[@]}")"
  configure_make libmicrohttpd "$src" "$pfx" "src/microhttpd src/include" "${MHD_CONFIGURE[@]}"
  touch "$pfx/.done"
  # Older builds of this file's earlier contents.
  find "$CACHE" -maxdepth 1 -name 'curl-*' ! -path "$pfx" -exec rm -rf {} +
}

pc() { PKG_CONFIG_PATH="$(prefix)/lib/pkgconfig" pkg-config "$@" "${PC_PKGS[@]}"; }

case "${1:-}" in
  build) build ;;
  prefix) prefix ;;
  cflags) pc --cflags ;;
  libs)
    # Static archives for all of them, glibc shared: -Bstatic holds for
    # every -l up to -Bdynamic.  pkg-config's -pthread and -ldl (glibc's)
    # are given once, shared, after it.
    out="-Wl,-Bstatic"
    for f in $(pc --static --libs); do
      case "$f" in
        -lpthread | -ldl | -pthread) ;;
        *) out="$out $f" ;;
      esac
    done
    echo "$out -Wl,-Bdynamic -lpthread -ldl -lm"
    ;;
  *) usage ;;
esac
