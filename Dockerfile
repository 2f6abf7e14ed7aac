# syntax=docker/dockerfile:1
# EDA Playground: one static-ish binary on a distroless base, running as a non-root user.
#   docker build -t eda-playground .
#   docker run -p 8080:8080 -v eda-data:/data -v ./my-exercises:/exercises:ro eda-playground

# ---- build --------------------------------------------------------------------------------------
# The cache mounts keep the crates.io download and the target directory between builds, so a source
# change recompiles only this crate. The build command is the README's release build.
FROM rust:1-slim-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/eda-playground /out/eda-playground \
    && mkdir -p /out/data

# ---- run ----------------------------------------------------------------------------------------
# distroless/cc: glibc and libgcc, no shell, no package manager; the healthcheck is the binary itself.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/eda-playground /usr/local/bin/eda-playground
# An empty /data owned by the runtime user, so a fresh named volume is writable.
COPY --from=builder --chown=65532:65532 /out/data /data
ENV EDA_BIND=0.0.0.0:8080 \
    EDA_DATA=/data \
    EDA_EXERCISES=/exercises
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/eda-playground", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/eda-playground"]
CMD ["serve"]
