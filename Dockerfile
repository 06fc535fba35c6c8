# kotel image (README "Deployment"): docker build -t kotel .
#
# build    Debian 12 (bookworm) with Node.js 20: the official node image, since Debian 12's own nodejs is 18.
#          scripts/setup.sh installs the "run" packages of scripts/packages.txt (clang, libbpf-dev, ...) with
#          apt, the npm packages, and builds the BPF objects, the addon and the TypeScript (scripts/build.sh);
#          the dev dependencies are pruned after the build.
# runtime  Debian 12 slim with the runtime libraries only; Node.js 20 is the build stage's binary (one
#          self-contained file: it needs libc, libstdc++ and libgcc, which the slim base has).
#
# x86_64 only (bpf/include/x86_64/vmlinux.h). Runs as root: the capabilities it needs are given at `docker run`
# (README "Deployment": --cap-add BPF, PERFMON, ... or --privileged, with --pid=host and the read-only mounts).
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
# what .dockerignore lets through: the sources, the lock file and the build scripts, no build output
COPY . .
RUN bash scripts/setup.sh run && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM debian:bookworm-slim AS runtime
# libbpf1, libelf1, zlib1g: the addon's libraries; libibverbs1: the library the rdma family hooks by default
# (host processes' own copies are found through /proc/PID/maps); iproute2: `rdma`, for the kernel path's netlink seed
RUN apt-get update \
    && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g libibverbs1 iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /opt/kotel
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/agent ./dist/agent
COPY --from=build /src/native/build/Release/kotel_native.node ./native/build/Release/kotel_native.node
COPY --from=build /src/bpf/.output/*.bpf.o ./bpf/.output/
COPY --from=build /src/config ./config
# in a container: the Prometheus endpoint (and /healthz) reachable from outside, logs instead of the console report
ENV KOTEL_PROMETHEUS_HOST=0.0.0.0 \
    KOTEL_CONSOLE_ENABLED=false \
    NODE_ENV=production
USER root
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.KOTEL_PROMETHEUS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/kotel/dist/agent/src/cli.js"]
CMD ["run", "--config", "/opt/kotel/config/kotel.yaml"]
