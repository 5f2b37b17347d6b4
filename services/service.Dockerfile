# syntax=docker/dockerfile:1.7
# Image of a Switchyard service: one file for user-service and order-service, which differ only in the build args
# (the workspace, its port, the description label). Build from the repository root (the npm workspace is the
# build context):
#   docker build -f services/service.Dockerfile --build-arg SERVICE=user-service --build-arg PORT=3001 \
#     --build-arg DESCRIPTION="..." -t switchyard/user-service .
# The build args of each service are in skaffold.yaml (build.artifacts[].docker.buildArgs); `npm run images` reads
# them from there, and k8s/test/dockerfiles.spec.ts checks each service's image contract with them. It sits beside
# the workspaces, in none of them, because no one service owns it. The topology operator keeps its own Dockerfile
# (services/topology-operator/Dockerfile says why).

# Pinned Node 24 (the repository's engines range is >=24 <25) on Debian bookworm slim: glibc, so the prebuilt
# @node-rs/argon2 and Prisma Wasm artifacts in package-lock.json apply as-is. Bump deliberately, never `latest`.
ARG NODE_VERSION=24.11.1

# ---------------------------------------------------------------------------------------------------------------
# build: the whole workspace's dependencies (dev included), Prisma client generation, TypeScript build.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Manifests first, so the `npm ci` layer is reused until a dependency changes. Every workspace's package.json is
# copied (not only this service's), so npm sees exactly the workspace tree package-lock.json describes.
COPY package.json package-lock.json .npmrc ./
COPY packages/auth/package.json packages/auth/
COPY packages/cli/package.json packages/cli/
COPY packages/contracts/package.json packages/contracts/
COPY packages/db-migrate/package.json packages/db-migrate/
COPY packages/messaging/package.json packages/messaging/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/testing/package.json packages/testing/
COPY services/user-service/package.json services/user-service/
COPY services/order-service/package.json services/order-service/
COPY services/topology-operator/package.json services/topology-operator/
COPY e2e/package.json e2e/
# --ignore-scripts: no install script is needed to build. It keeps @prisma/engines from downloading a schema-engine
# binary (prisma generate does not run it; scripts/prisma-generate.mjs says so) and @scarf/scarf from phoning home.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts

# Sources: only what a service's `tsc -b` graph reads (see each tsconfig.json's references). Everything up to here
# is the same for every service, so the services share these layers in the build cache.
COPY tsconfig.json ./
COPY scripts/prisma-generate.mjs scripts/
COPY packages/telemetry packages/telemetry
COPY packages/contracts packages/contracts
COPY packages/db-migrate packages/db-migrate
COPY packages/service-kit packages/service-kit
COPY packages/auth packages/auth
COPY packages/messaging packages/messaging
# The service's workspace directory under services/: user-service or order-service. No default, so a build that
# forgets it fails at once (at `COPY services//prisma`, whose cache key BuildKit computes first) instead of
# building some service.
ARG SERVICE
COPY services/${SERVICE} services/${SERVICE}

# = what `npm run build` does for this service: generate the Prisma client into src/generated/, then build the
# service and the packages it references with TypeScript 7.
RUN cd services/${SERVICE} && node ../../scripts/prisma-generate.mjs \
 && cd /app && node node_modules/tsc7/bin/tsc -b services/${SERVICE}

# ---------------------------------------------------------------------------------------------------------------
# runtime: production dependencies of this one workspace, the compiled dist/ of the service and its packages,
# the Prisma schema and migrations. No compiler, no sources, no dev dependencies.
#
# The Prisma CLI (`prisma`, a devDependency) is not needed at runtime and is not in this image: the generated
# client uses the query compiler with @prisma/adapter-pg (no engine binary), and migrations run through our own
# Wasm-based `switchyard-migrate` (@switchyard/db-migrate, Prisma's schema engine compiled to Wasm).
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# The service (as in the build stage) and the port it listens on by default: 3001 for user-service, 3002 for
# order-service (each service's src/config.ts and its chart's `port`). No default either: the npm ci step below
# stops a build without PORT with a message.
ARG SERVICE
ARG PORT

WORKDIR /app
# Read-only root filesystem: the only writable place is /tmp (an emptyDir in the charts). HOME and npm's cache
# and logs point there, so `npx switchyard-migrate` in the migration Job writes nothing else.
ENV NODE_ENV=production \
    HOME=/tmp \
    NPM_CONFIG_CACHE=/tmp/.npm \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    PORT=${PORT}

COPY package.json package-lock.json .npmrc ./
COPY packages/auth/package.json packages/auth/
COPY packages/cli/package.json packages/cli/
COPY packages/contracts/package.json packages/contracts/
COPY packages/db-migrate/package.json packages/db-migrate/
COPY packages/messaging/package.json packages/messaging/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/testing/package.json packages/testing/
COPY services/user-service/package.json services/user-service/
COPY services/order-service/package.json services/order-service/
COPY services/topology-operator/package.json services/topology-operator/
COPY e2e/package.json e2e/
# The migration CLI's bin script must exist before `npm ci`: npm silently skips linking a bin whose target is missing,
# and `npx switchyard-migrate` would then look for it on the registry instead of node_modules/.bin. (The `switchyard`
# command, @switchyard/cli, is an operator's tool run from a checkout; no service depends on it.)
COPY packages/db-migrate/bin packages/db-migrate/bin
# Production dependencies of this workspace only: --workspace limits the tree to the service and the workspaces it
# depends on, --omit=dev drops every devDependency (jest, eslint, prisma, tsc7, @swc/*...). Scripts are ignored as
# in the build stage (native modules come as prebuilt optional packages, nothing needs a postinstall).
# Then what --omit=dev cannot drop: the test-only workspace @switchyard/testing (messaging and telemetry list it as a
# devDependency, but a workspace is never marked dev in the lockfile) with fast-check, which only it depends on; and
# TypeScript sources some packages ship (zod/src, rxjs/src...), which Node never runs from node_modules.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    : "${PORT:?build with --build-arg PORT=<the port the service listens on>}" \
 && NPM_CONFIG_CACHE=/root/.npm npm ci --omit=dev --workspace @switchyard/${SERVICE} --ignore-scripts \
 && rm -rf node_modules/@switchyard/testing node_modules/fast-check \
 && find . -path '*/node_modules/*' -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsx' \) \
      ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' -delete

COPY --from=build /app/packages/telemetry/dist packages/telemetry/dist
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/db-migrate/dist packages/db-migrate/dist
COPY --from=build /app/packages/service-kit/dist packages/service-kit/dist
COPY --from=build /app/packages/auth/dist packages/auth/dist
COPY --from=build /app/packages/messaging/dist packages/messaging/dist
COPY --from=build /app/services/${SERVICE}/dist services/${SERVICE}/dist
# schema.prisma + migrations/: read at start-up by the startup probe (pending migrations) and by the migration Job:
#   npx switchyard-migrate deploy --schema prisma/schema.prisma
COPY services/${SERVICE}/prisma services/${SERVICE}/prisma

# Labels last: they are metadata, not layers, and VERSION and REVISION change with every commit, so declaring them
# here keeps the layers above (npm ci above all) cached across commits.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=https://github.com/switchyard/switchyard
# What the service does, in one line (skaffold.yaml has each service's).
ARG DESCRIPTION="Switchyard service (NestJS, Prisma 7, RabbitMQ)"
LABEL org.opencontainers.image.title="switchyard/${SERVICE}" \
      org.opencontainers.image.description="${DESCRIPTION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="Switchyard"

# Everything above is owned by root and world-readable; the app runs as an unprivileged numeric user (no entry in
# /etc/passwd needed, and runAsNonRoot can verify a numeric USER).
USER 10001:10001
WORKDIR /app/services/${SERVICE}
EXPOSE ${PORT}
# Node runs as PID 1 (exec form, no shell, no tini): the service installs its own SIGTERM handler (readiness 503,
# drain HTTP and consumers, flush the outbox, exit 0), and it spawns no child processes that would need reaping.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "@switchyard/telemetry/register", "dist/main.js"]
