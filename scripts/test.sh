#!/usr/bin/env bash
# The test suite: unit tests (no privileges), then integration tests (root: real BPF programs on the
# running kernel, real OTLP over gRPC). Files run one at a time: integration tests share the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "kotel tests: the integration tests load BPF programs: run npm test as root" >&2
  exit 1
fi
exec node --test --test-concurrency=1 dist/test/unit/ dist/test/integration/
