# The tlsrelay smarthost image: `tlsrelay serve` as PID 1, as the unprivileged user
# tlsrelay, configured by TLSRELAY_* variables or a mounted /etc/tlsrelay/relay.toml.
#   docker build -t tlsrelay .
#   podman build --format docker -t tlsrelay .     (docker format keeps the HEALTHCHECK)
# How to run it: docs/container.md.

# ---- builder: compiler and -dev packages, a Release build of the relay alone ----
FROM debian:bookworm-slim AS builder
WORKDIR /src
# The package list first, so editing the sources does not reinstall the toolchain.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN BUILD_DIR=/build BUILD_TYPE=Release BUILD_TARGET=tlsrelay bash scripts/build.sh -DTLSRELAY_TESTS=OFF \
 && strip --strip-unneeded /build/tlsrelay

# ---- runtime: the shared libraries, the CA bundle, the binary ----
FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
COPY --from=builder /build/tlsrelay /usr/local/bin/tlsrelay
COPY docker/entrypoint.sh /usr/local/bin/tlsrelay-entrypoint
# libcap2-bin is installed only to give the binary the one capability it needs (binding
# ports below 1024 as a non-root user) and purged in the same layer.
RUN set -eu; \
    bash /tmp/install-deps.sh --runtime; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends libcap2-bin >/dev/null; \
    setcap cap_net_bind_service=+ep /usr/local/bin/tlsrelay; \
    apt-get purge -y -qq --auto-remove libcap2-bin >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /tmp/install-deps.sh; \
    chmod 0755 /usr/local/bin/tlsrelay-entrypoint; \
    groupadd --system --gid 2525 tlsrelay; \
    useradd --system --uid 2525 --gid tlsrelay --home-dir /var/lib/tlsrelay --no-create-home \
      --shell /usr/sbin/nologin tlsrelay; \
    install -d -o tlsrelay -g tlsrelay -m 0750 /etc/tlsrelay /etc/tlsrelay/policy.d /var/spool/tlsrelay; \
    install -d -o tlsrelay -g tlsrelay -m 0700 /var/lib/tlsrelay; \
    tlsrelay --help >/dev/null

# /etc/tlsrelay: relay.toml, policy.d/, tls/ (certificate and key), users, DKIM keys.
# /var/spool/tlsrelay: the queue, accounting CSVs, MTA-STS cache, TLS report store, control socket.
# /var/lib/tlsrelay: secret files `config from-env` writes (smarthost.auth, admin.token).
VOLUME ["/etc/tlsrelay", "/var/spool/tlsrelay", "/var/lib/tlsrelay"]

# SMTP (STARTTLS), SMTPS (implicit TLS), submission, the admin endpoint. What the relay
# listens on is TLSRELAY_LISTEN / TLSRELAY_ADMIN_LISTEN (default 0.0.0.0:25 and 127.0.0.1:8025).
EXPOSE 25 465 587 8025

USER tlsrelay:tlsrelay
WORKDIR /var/lib/tlsrelay

# The daemon answers over its control socket in the spool; exit 1 when it does not.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["tlsrelay", "--config", "/etc/tlsrelay/relay.toml", "status", "--timeout", "5"]

# SIGTERM drains: listeners close, open sessions get up to 10 s, the spool stays consistent.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tlsrelay-entrypoint"]
CMD ["serve"]
