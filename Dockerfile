# syntax=docker/dockerfile:1
# The credential broker image: compiled with dev dependencies, run with production ones only, as a non-root user.
# The same image runs the Flow Service emulator (node dist/src/bin/emulator.js) and the migrations
# (node dist/src/bin/migrate.js; the broker also applies them at boot).

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer stays cached until the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# tsc -p tsconfig.build.json: dist/src (entry dist/src/bin/server.js) and dist/migrations. The client/ workspace is
# not part of the image (npm ci skips a workspace whose folder is absent).
RUN npm run build:broker

FROM ${NODE_IMAGE} AS runtime
# NODE_ENV=production puts the broker in production mode: it refuses to boot (exit 78, naming the variable) without
# DATABASE_URL, a secret store (Vault, or SECRET_STORE=local with BROKER_SECRET_KEY) and FLOW_SERVICE_URL + IMS_*.
# BROKER_MODE=dev is the only way to the embedded fallbacks in a container.
# A young generation of 2 MB semi-spaces instead of 16 keeps the peak resident size of a 100 000-connection sweep
# near 120 MB instead of 250 at the same speed (npm run bench -- poller runs the broker with these options); the
# old space is capped for a 512 MiB container. Override NODE_OPTIONS to size it otherwise.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256" \
    PORT=8080 \
    HOST=0.0.0.0 \
    BROKER_DATA_DIR=/app/.data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Dev mode only (BROKER_MODE=dev): the embedded database and the local key file live here, private to the node user.
RUN mkdir -p -m 0700 /app/.data && chown node:node /app/.data
# The node user (uid 1000) ships with the official image.
USER node
EXPOSE 8080
# Slim images have no curl: node's own fetch asks the liveness route.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/bin/server.js"]
