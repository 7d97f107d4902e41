# keygate container image. Build:   docker build -t keygate .
# Run (config mounted read-only at the documented path, root filesystem read-only):
#   docker run --rm --read-only -p 8080:8080 \
#     -v "$PWD/keygate.yaml:/etc/keygate/keygate.yaml:ro" keygate
#
# The image runs compiled JavaScript (dist/, built here by tsc from src/, and the console's
# bundle in dist/console/), the lockfile's production dependencies and the Node runtime; no
# TypeScript sources, no dev dependencies.
#
# Behind a private registry mirror or a TLS-inspecting proxy, the npm ci step takes:
#   --build-arg NPM_REGISTRY=https://npm.example.internal/   registry mirror (lockfile URLs are
#        rewritten to it by npm); no credentials in it: build args stay in the build stage's history
#   --build-arg NPM_EXTRA_CA="$(cat corp-root-ca.pem)"       PEM of an extra CA to trust
# Neither reaches the final image (they live in the build stage only).
#
# Reproducible inputs: the base is pinned to an exact Node release (the same one scripts/env.sh
# pins for development), dependencies come from package-lock.json via `npm ci`. For a
# byte-for-byte pin, add the digest your registry reports for this tag:
#   docker buildx imagetools inspect node:24.21.0-alpine   →   NODE_IMAGE=node:24.21.0-alpine@sha256:…
# Every production dependency is plain JavaScript (no install scripts, no native addons), so
# musl (Alpine) is safe and saves ~50 MB over the Debian slim variant.
ARG NODE_IMAGE=node:24.21.0-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ARG NPM_REGISTRY=""
ARG NPM_EXTRA_CA=""
COPY package.json package-lock.json ./
# All dependencies first (tsc and @types/node are dev dependencies), then build, then drop the
# dev ones: one download. --ignore-scripts: no dependency needs one, none runs at build time.
RUN if [ -n "$NPM_EXTRA_CA" ]; then printf '%s\n' "$NPM_EXTRA_CA" > /tmp/extra-ca.pem && export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && if [ -n "$NPM_REGISTRY" ]; then export npm_config_registry="$NPM_REGISTRY"; fi \
 && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web console (issue 15): bundled by esbuild (a dev dependency, pruned below) into
# dist/console/, which the admin listener serves at /console/. Nothing is fetched at run time.
COPY console ./console
COPY scripts/build-console.ts ./scripts/build-console.ts
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node scripts/build-console.ts \
 && chmod 0755 dist/cli/bin.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm cache clean --force

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="keygate" \
      org.opencontainers.image.description="API-key gateway: a streaming reverse proxy that authenticates callers by key and injects their identity" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    KEYGATE_CONFIG=/etc/keygate/keygate.yaml
WORKDIR /app
# Owned by root and not writable by the runtime user: the process cannot alter its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
COPY config ./config
# The vendored Envoy ext_authz protos (with their licenses): the gRPC check service loads them
# at runtime from /app/proto.
COPY proto ./proto
# `keygate` on PATH, as the npm package installs it: `docker exec <c> keygate keys list`.
RUN ln -s /app/dist/cli/bin.js /usr/local/bin/keygate
# Numeric UID/GID (the base image's `node` user) so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# 8080 proxy listener, 9090 admin listener (health, readiness, metrics, /v1). Both come from
# the mounted config; the admin listener binds 127.0.0.1 unless the config says otherwise.
EXPOSE 8080 9090
# Liveness on the admin listener, from inside the container (so a loopback-only admin port
# works). No curl/wget dependency: Node's fetch. Override the URL when the admin port moves.
ENV KEYGATE_HEALTHCHECK_URL=http://127.0.0.1:9090/healthz
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.KEYGATE_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# PID 1 is node itself, no init shim: keygate installs SIGTERM/SIGINT (drain, then exit 0)
# and SIGHUP (reload) handlers, and the kernel delivers handled signals to PID 1. It starts no
# child processes, so there are no zombies to reap. (`docker run --init` adds tini if wanted.)
# Nothing is written to disk (logs are JSON lines on stdout): --read-only works as is.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/bin.js"]
CMD ["serve"]
