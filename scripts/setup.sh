#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages (apt), npm packages, then the build
# (BPF objects, native addon, TypeScript). `npm start`, `npm test` and `npm run bench` run it first.
# Usage: scripts/setup.sh [run|test|bench]   (what the packages are for; default run)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

build_pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config g++ make python3 libibverbs-dev)
test_pkgs=(iproute2 nftables bpftrace util-linux ibverbs-utils ibverbs-providers python3-pyverbs)
bench_pkgs=(bpftrace linux-perf)
pkgs=("${build_pkgs[@]}")
[ "$purpose" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$purpose" = bench ] && pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")

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
