# The `obiente` image: one program, every role (ROLES chooses; docs/architecture.md, "Roles"). Used by
# deploy/stack.yml; docs/stack.md explains building, pushing and running it.
#
#   docker build -t registry.example.com/obiente:0.1.0 .
#
# Build arguments:
#   NODE_IMAGE   the Node.js 20 base (default the official Debian slim image). Offline, any
#                image with node, npm and a POSIX sh works, e.g. obiente-test/node:latest.
#   DEPS         `npm` (default): `npm ci` from package-lock.json. `context`: use the
#                node_modules the build context already holds (made by `npm ci` for this
#                lockfile on the same platform, devDependencies included: the build needs
#                them), for builds without a registry; the .dockerignore keeps node_modules
#                out, so such a context is made by hand (test/helpers/image.ts does it).
#   INSTALL_GIT  `true` (default): apt-get installs git, which the controller's builder runs to
#                clone repositories. `false` for bases without apt (the image then cannot build
#                deployments from git, only serve the API and the agent).
#   INSTALL_IPTABLES  `true` by default (`false` when INSTALL_GIT is): apt-get installs iptables,
#                which the agent's isolation helper runs (NETWORK_ISOLATION_EXEC=engine,
#                docs/security-network.md). Without it, set NETWORK_ISOLATION_IMAGE to an image
#                that has it.
# No `# syntax=` line: the legacy builder and BuildKit both take this file without pulling a
# frontend image.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, the program (dist/), the dashboard (web/dist), then pruning ----
# The build tools (esbuild, Vite) are devDependencies. What the compiled program loads from
# node_modules at run time (the dependencies: PGlite) is what `npm prune --omit=dev`
# leaves; the runtime stage takes that, dist/ and web/dist, and nothing else.
FROM ${NODE_IMAGE} AS build
ARG DEPS=npm
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the install scripts in the tree are optional native add-ons (ssh2,
# cpu-features, which have pure-JS fallbacks) and checks; the builds the image needs (npm's
# `prepare`) run below once the sources are there.
RUN if [ "$DEPS" = npm ]; then \
      npm ci --ignore-scripts --no-audit --no-fund; \
    elif [ "$DEPS" != context ]; then \
      echo "DEPS must be npm or context, not '$DEPS'" >&2; exit 1; \
    fi
COPY . .
RUN test -d node_modules/esbuild || { echo "no node_modules/esbuild: DEPS=context needs the devDependencies too (npm ci, not --omit=dev)" >&2; exit 1; } \
 && npm run build --silent \
 && npm run build:web --silent -- --logLevel warn \
 && test -f dist/main.js && test -f web/dist/index.html \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE}
ARG INSTALL_GIT=true
ARG INSTALL_IPTABLES
# git (and ssh for git@ URLs) for the builder's clones, iptables for the isolation helper;
# nothing else is installed.
RUN packages=""; \
    if [ "$INSTALL_GIT" = true ]; then packages="git openssh-client ca-certificates"; fi; \
    if [ "${INSTALL_IPTABLES:-$INSTALL_GIT}" = true ]; then packages="$packages iptables"; fi; \
    if [ -n "$packages" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $packages \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /var/lib/obiente \
 && chown 1000:1000 /var/lib/obiente
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# The defaults of a container: listen on every interface of the container (not only loopback),
# keep DATA_DIR (PGlite and the generated master key, only used without DATABASE_URL and
# SECRETS_MASTER_KEY) in a volume-friendly place.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/var/lib/obiente
# uid 1000 is the `node` user of the official images; a numeric id works on any base. The agent
# and the controller talk to the node's Docker socket, owned by root:docker (mode 660): run
# them with the node's docker group as their group (deploy/stack.yml: `user: "1000:DOCKER_GID"`).
USER 1000:1000
VOLUME ["/var/lib/obiente"]
EXPOSE 3000 3001 9464
# One check for every role, of liveness: /health/live where the api role runs (not /health, which
# fails while PostgreSQL or Redis fail over: a restart cures neither), else the process's metrics listener
# on METRICS_PORT, which every process serves (asked at 127.0.0.1: METRICS_HOST 127.0.0.1, the
# default, or 0.0.0.0); a 401 (METRICS_TOKEN set) still says the process answers.
# Lenient on purpose: a restart is for a process that hangs, not for a node whose CPU is starved
# (the check starts a Node.js of its own, which took over 5 s on a loaded node and had every API
# replica restarted at once). A process is restarted after about 75 s without answering.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 \
  CMD ["node", "-e", "const e=process.env;const r=(e.ROLES??'api').split(',').map(s=>s.trim());const p=r.includes('api')?`${e.PORT||3000}/health/live`:`${e.METRICS_PORT||e.AGENT_METRICS_PORT||9464}/metrics`;fetch(`http://127.0.0.1:${p}`,{signal:AbortSignal.timeout(9000)}).then(x=>process.exit(x.ok||x.status===401?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/obiente.js"]
CMD ["up"]
