# reingest in a container, for cluster nodes (Kubernetes indexed jobs, Slurm with containers).
#   docker build -t reingest . && docker run -v $PWD/cache:/cache reingest run pipelines/sample.ts
# No registry is reachable on the build machines used so far; pass another base with --build-arg NODE_IMAGE=...
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production REINGEST_CACHE=/cache TZ=UTC LANG=C.UTF-8
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY cli ./cli
COPY runner ./runner
COPY cache ./cache
COPY stages ./stages
COPY pipelines ./pipelines
COPY sample ./sample
COPY tsconfig.json ./
VOLUME ["/cache"]
ENTRYPOINT ["node", "/app/bin/reingest.mjs"]
CMD ["--help"]
