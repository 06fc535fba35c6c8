#!/usr/bin/env bash
# Builds the BPF objects (bpf/.output/*.bpf.o), the native addon (native/build/Release/kotel_native.node)
# and the TypeScript (dist/). Each step is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C bpf
if [ ! -f native/build/Makefile ]; then
  npx --no-install node-gyp configure --directory=native >/dev/null
fi
npx --no-install node-gyp build --directory=native >/dev/null
npx --no-install tsc -p tsconfig.json
