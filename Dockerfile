# Multi-stage build of the leakwatch controller image.
# Stage 1 compiles with the same Makefile developers use; stage 2 carries
# only the binary and the shared libraries it links, and runs as non-root.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config git ca-certificates \
      libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev zlib1g-dev \
      libmicrohttpd-dev libcmocka-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" SKIP_DEPS=1 build/leakwatch

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libjansson4 libyaml-0-2 libssl3 zlib1g \
      libmicrohttpd12 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/leakwatch /usr/local/bin/leakwatch
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/leakwatch"]
CMD ["controller"]
