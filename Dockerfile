# syntax=docker/dockerfile:1
# vw's image: every role (`all`, ingest, rules, sink, feed, referrals, notify) and the demo run from it.
#   docker build -t vw .
#   docker run --rm -e VW_HTTP_HOST=0.0.0.0 -p 127.0.0.1:8080:8080 vw demo

# Build: the TypeScript compiled to dist/ with the dev dependencies, which stay in this stage.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY simulators ./simulators
RUN npm run build

# Run: production dependencies only, the compiled JavaScript and the files vw reads at run time
# (rules, seeds, the console, the simulator scenarios), as the unprivileged `node` user.
FROM node:20-bookworm-slim AS run
ENV NODE_ENV=production \
    VW_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none of the production dependencies has one, and vw's own (the build) ran above.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/simulators ./dist/simulators
COPY bin ./bin
COPY rules ./rules
COPY seeds ./seeds
COPY dashboards/console ./dashboards/console
COPY dashboards/planner ./dashboards/planner
COPY simulators/scenarios ./simulators/scenarios
COPY README.md ./
# The data directory (secrets kept, the embedded bus and store): a volume, writable by `node` only.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
VOLUME ["/data"]
USER node
# 8080: console, /feed, /healthz, /metrics and the HTTP API; 1883: the embedded MQTT broker (demo, `all`).
EXPOSE 8080 1883
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VW_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/vw.js"]
CMD ["all"]
