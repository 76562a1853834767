# syntax=docker/dockerfile:1
# wfmesh in a container: the single binary (npm run build:bin) on a slim Debian, as a non-root user.
#   docker build -t wfmesh .
#   docker run --rm wfmesh --help
#   docker run --rm -e NATS_URL=nats://nats:4222 -p 4020:4020 wfmesh node --mcp-host 0.0.0.0

# --- build: bundle the CLI and make the executable (needs the dev dependencies) ---
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build:bin && ./dist/wfmesh --version

# --- runtime: the binary alone; no Node, no node_modules ---
FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to NATS and to LLM endpoints; curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wfmesh \
 && useradd --system --uid 10001 --gid wfmesh --home-dir /var/lib/wfmesh --shell /usr/sbin/nologin wfmesh \
 && mkdir -p /var/lib/wfmesh/data \
 && chown -R wfmesh:wfmesh /var/lib/wfmesh
COPY --from=build /src/dist/wfmesh /usr/local/bin/wfmesh
USER wfmesh
WORKDIR /var/lib/wfmesh
ENV WFMESH_LOG_LEVEL=info
# The node's HTTP port: /mcp (unless --no-mcp), /healthz, /metrics.
EXPOSE 4020
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:4020/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/wfmesh"]
CMD ["node", "--mcp-host", "0.0.0.0", "--mcp-port", "4020"]
