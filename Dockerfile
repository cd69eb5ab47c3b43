# syntax=docker/dockerfile:1
# Confab: a release build in a Rust image, run as a non-root user in a small Debian image.
# The runtime image has no PostgreSQL: set DATABASE_URL (docker-compose.yml does).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: they change far less often than the code. Stub sources
# let cargo build every dependency from the manifests and the lock file alone.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/
COPY migration/Cargo.toml migration/
COPY bench/Cargo.toml bench/
RUN mkdir -p src entity/src migration/src bench/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && touch entity/src/lib.rs migration/src/lib.rs \
    && echo 'fn main() {}' > bench/src/main.rs \
    && cargo build --release --locked --bin confab \
    && rm -rf src entity/src migration/src bench/src
COPY . .
# Touch the sources so cargo rebuilds them rather than trusting the stubs' timestamps.
RUN touch src/main.rs src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && cargo build --release --locked --bin confab \
    && cp target/release/confab /confab

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/confab --create-home confab
COPY --from=build /confab /usr/local/bin/confab
USER confab
WORKDIR /var/lib/confab
ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=7200 \
    LOG_FORMAT=json \
    DATA_DIR=/var/lib/confab
EXPOSE 7200
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/confab", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/confab"]
CMD ["serve"]
