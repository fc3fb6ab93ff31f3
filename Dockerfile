# syntax=docker/dockerfile:1
# The schemagate container image: a static binary on distroless, run as a non-root user, with its
# data under the /data volume. Build it from a checkout (the commit is stamped when .git is in
# the build context):
#
#   docker build -t schemagate .
#
# docs/operations/deployment.md ("Container image") says how to run it; tests/packaging builds the
# binary exactly as the build stage does and checks it is static and starts with these settings.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, as a layer of their own: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The one build command (CGO_ENABLED=0, -trimpath, VCS stamp); nothing else builds a release.
RUN --mount=type=cache,target=/root/.cache/go-build scripts/build-static.sh /out/schemagate
# The data directory, created here so the volume starts owned by the runtime user.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/schemagate /usr/local/bin/schemagate
COPY docs/operations/schemagate.yaml /etc/schemagate/schemagate.yaml
COPY --from=build --chown=65532:65532 /out/data /data
# nonroot (65532) of the distroless image: the gateway never needs root.
USER 65532:65532
# The SQLite database is /data/schemagate.db; relative paths (the governance document) land
# under /data too.
ENV SCHEMAGATE_SERVER_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
# HTTP (Confluent REST, /v1, /metrics, /healthz, /readyz) and gRPC.
EXPOSE 8081 9091
# 200 from /readyz, "ready" or "degraded" (in service), is healthy; there is no shell or curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/schemagate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/schemagate"]
CMD ["serve", "--config", "/etc/schemagate/schemagate.yaml"]
