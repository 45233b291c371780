# One image for the five TypeScript services; SERVICE picks the entry point at run time.
#   docker build -f deploy/docker/service.Dockerfile -t medtune/service:dev .
# (Not built in CI: this development machine has a docker client but no daemon.)
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly (no build step), so the dev dependencies stay.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY libs ./libs
COPY apps ./apps
COPY deploy/local/health.mjs ./deploy/local/health.mjs
ENV NODE_ENV=production TSX_TSCONFIG_PATH=/app/tsconfig.json
# Not root: node's own unprivileged user (uid 1000) from the base image.
USER node
# SERVICE is one of dataset-service, training-service, tracking-service, evaluation-service, registry-service.
CMD ["sh", "-c", "exec node --enable-source-maps --import /app/node_modules/tsx/dist/loader.mjs /app/apps/${SERVICE}/src/main.ts"]
