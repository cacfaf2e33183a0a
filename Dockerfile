# syntax=docker/dockerfile:1
# One step's two programs, built from this repository: `docker build --build-arg STEP=07 .`
# docker-compose.yml builds it for step 07, whose programs send their spans over OTLP.

# The toolchain the workspace is tested with (rust-version in Cargo.toml is the oldest it takes).
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
# Which step's programs to build: 07 (OTLP) by default; any step builds (06 needs Google's
# credentials at run time, the others need no more than each other).
ARG STEP=07
WORKDIR /workspace
COPY . .
# The cache mounts keep the crates and the build between image builds on one machine.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/workspace/target \
    cargo build --locked --release -p "step-${STEP}-frontend" -p "step-${STEP}-backend" \
    && mkdir -p /out \
    && cp "target/release/step-${STEP}-frontend" /out/frontend \
    && cp "target/release/step-${STEP}-backend" /out/backend

# A small runtime image: glibc, CA certificates (for Google's endpoints), no shell, and a
# non-root user (uid 65532, "nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/frontend /out/backend /usr/local/bin/
USER nonroot
# The contract's container addresses: listen on every interface, the frontend on 8080 (the
# backend is given 0.0.0.0:8081 by docker-compose.yml).
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080 8081
# `frontend` or `backend`: the service's command chooses.
CMD ["frontend"]
