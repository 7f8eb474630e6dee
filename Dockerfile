# tessera's container image. Two stages on Debian bookworm: the build stage installs what
# `scripts/setup --build` installs and builds the binary; the runtime stage is a slim bookworm
# with only the shared libraries the binary links, a non-root user, and `tessera serve`.
# scripts/container builds it offline-style from a debootstrapped base (BASE), with
# `podman build --pull=never --isolation=chroot`.
ARG BASE=localhost/tessera-base:bookworm

FROM ${BASE} AS build
WORKDIR /src
COPY . .
RUN scripts/setup --build \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build /build --target tessera -- -j"$(nproc)" \
 && strip --strip-debug -o /tessera /build/server/tessera

FROM ${BASE} AS runtime
# The runtime libraries of the binary, by Debian package name (their -dev packages are the
# build stage's); ca-certificates for TLS to PostgreSQL.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libpqxx-6.4 libpq5 \
      libssl3 libsodium23 libcpp-httplib0.11 libunistring2 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin tessera
COPY --from=build /tessera /usr/local/bin/tessera
USER 10001:10001
ENV TESSERA_GRPC_LISTEN=0.0.0.0:50051 \
    TESSERA_OAUTH_LISTEN=0.0.0.0:8443 \
    TESSERA_HTTP_LISTEN=0.0.0.0:9464
EXPOSE 50051 8443 9464
# tessera handles SIGTERM itself (it drains for --shutdown_grace and exits 0), so it can be PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
