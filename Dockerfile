# Multi-stage build of the leakwatch controller image.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty | sed 's/^v//')" \
#     -t REGISTRY/leakwatch:VERSION .
#
# `make image` builds this same file with podman (hack/image.sh), so what
# the tests run is what users build.
#
# Stage 1 compiles with the Makefile developers use and gathers the runtime
# file system: the binary, exactly the shared libraries it links (from ldd:
# glibc's, as every other library is linked statically),
# the CA bundle, and a passwd entry for uid 65532.  Stage 2 is that and
# nothing else: no shell, no package manager, nothing writable but /tmp and
# the evidence directory (the manifests mount volumes on both), so it runs
# with a read-only root file system as non-root with all capabilities
# dropped.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config ca-certificates curl \
      libjansson-dev libyaml-dev libssl-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# libcurl and libmicrohttpd with only what leakwatch uses, from Debian's
# source packages (hack/vendor-libs.sh says why): a layer of its own, so
# a change to the sources does not rebuild them.
COPY hack/lib.sh hack/vendor-libs.sh hack/
RUN ./hack/vendor-libs.sh build
COPY . .
# The build context has no .git (see .dockerignore): the version comes in
# as an argument, and is what `leakwatch version` prints.
ARG VERSION=dev
RUN make -j"$(nproc)" SKIP_DEPS=1 VERSION="$VERSION" build/leakwatch
RUN set -eu; r=/rootfs; \
    mkdir -p "$r/usr/local/bin" "$r/etc/ssl/certs" "$r/tmp" \
             "$r/var/lib/leakwatch/evidence"; \
    cp build/leakwatch "$r/usr/local/bin/leakwatch"; \
    for lib in $(ldd build/leakwatch | \
                 awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do \
      cp -L --parents "$lib" "$r/"; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"; \
    echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >"$r/etc/passwd"; \
    echo 'nonroot:x:65532:' >"$r/etc/group"; \
    chmod 1777 "$r/tmp"; \
    chown -R 65532:65532 "$r/var/lib/leakwatch"; \
    chroot "$r" /usr/local/bin/leakwatch version

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="leakwatch" \
      org.opencontainers.image.description="Finds goroutine leaks in Go services on Kubernetes" \
      org.opencontainers.image.version="$VERSION"
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/leakwatch"]
CMD ["controller"]
