#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages (apt), npm packages, then the build
# (BPF objects, native addon, TypeScript). `npm start`, `npm test` and `npm run bench` run it first.
# Usage: scripts/setup.sh [run|test|bench]   (what the packages are for, scripts/packages.txt; default run)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

case "$purpose" in
  run | test | bench) ;;
  *) echo "kotel setup: unknown purpose '$purpose': use run, test or bench" >&2; exit 2 ;;
esac
# scripts/packages.txt: one line per package, by purpose; test and bench add theirs to run's.
mapfile -t pkgs < <(grep -v '^#' scripts/packages.txt | while read -r for pkg _; do
  case "$for" in run | "$purpose") echo "$pkg" ;; esac
done | sort -u)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "kotel setup: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "kotel setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "kotel setup: npm install" >&2
  npm install --no-audit --no-fund --ignore-scripts >/dev/null
fi

bash scripts/build.sh

# the kernel matrix (test/integration/kernel-matrix.test.ts): Debian's kernels from the Debian archive, cached
if [ "$purpose" = test ]; then
  bash test/kernels/fetch.sh 6.1 6.1-rt 6.12 6.12-rt
fi
