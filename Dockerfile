# syntax=docker/dockerfile:1
# Vanguard: multi-stage build. Stage 1 builds the release site (WASM, JS,
# CSS, precompressed) and server with cargo-leptos; stage 2 is a slim Debian
# with the binary, the site and a non-root user.
#
# Tool versions are the ones measured together (see scripts/setup.sh):
# cargo-leptos 0.3.10, wasm-bindgen-cli 0.2.130 (= the crate in Cargo.lock),
# wasm-opt 132 from npm binaryen (Debian's binaryen 108 breaks hydration).

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads \
 && cargo install wasm-bindgen-cli --version 0.2.130 \
 && npm install --global binaryen@132.0.0
WORKDIR /src
COPY . .
ENV CARGO_TARGET_DIR=/src/target
RUN cargo leptos build --release --precompress --cargo-locked

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin vanguard \
 && mkdir -p /app/data \
 && chown vanguard:vanguard /app/data
WORKDIR /app
COPY --from=build /src/target/release/server /app/server
COPY --from=build /src/target/site /app/site

# PORT is what Railway sets; with LEPTOS_SITE_ADDR unset the server listens on
# 0.0.0.0:$PORT. Production refuses to start without VANGUARD_MASTER_KEY and
# VANGUARD_JWT_SECRET (inject them as secrets) and expects DATABASE_URL.
ENV LEPTOS_SITE_ROOT=/app/site \
    VANGUARD_DATA_DIR=/app/data \
    VANGUARD_ENV=production \
    VANGUARD_DRAIN_DELAY_MS=5000 \
    VANGUARD_SHUTDOWN_TIMEOUT_MS=20000 \
    PORT=3000
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
# The binary probes its own /health/ready: no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/server", "healthcheck"]
CMD ["/app/server", "serve"]
