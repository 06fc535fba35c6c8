#!/usr/bin/env bash
# Installs kotel as a systemd service running this checkout: renders deploy/systemd/kotel.service with its
# path, the node binary and the config file, writes it to /etc/systemd/system, puts the shipped config at
# /etc/kotel/kotel.yaml unless one is there, then daemon-reload and enable --now (run `npm start` or
# scripts/setup.sh first, so the build is there).
# Usage: deploy/systemd/install.sh [--config FILE] [--unit-dir DIR] [--root DIR] [--no-start]
#   --config FILE   the agent's config (default /etc/kotel/kotel.yaml, copied from config/kotel.yaml if absent)
#   --unit-dir DIR  where the unit goes (default /etc/systemd/system)
#   --root DIR      install into the file system at DIR (an image, a container) that has this checkout and
#                   node at the same paths: the unit and the config go below DIR; implies --no-start
#   --no-start      render and install only: print the systemctl commands instead of running them
set -euo pipefail
kotel=$(cd "$(dirname "$0")/../.." && pwd)
config=/etc/kotel/kotel.yaml
unit_dir=/etc/systemd/system
root=
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --unit-dir) unit_dir=${2:?--unit-dir needs a directory}; shift 2 ;;
    --root) root=${2:?--root needs a directory}; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "kotel install: unknown option '$1' (use --config FILE, --unit-dir DIR, --root DIR, --no-start)" >&2; exit 2 ;;
  esac
done

node=$(command -v node) || { echo "kotel install: node is not on PATH: install Node.js 20 first" >&2; exit 1; }
[ -f "$kotel/dist/agent/src/cli.js" ] || { echo "kotel install: $kotel is not built: run bash scripts/setup.sh first" >&2; exit 1; }
case "$config" in /*) ;; *) echo "kotel install: --config $config: give an absolute path" >&2; exit 2 ;; esac
# systemd splits ExecStart= at spaces and expands %: such paths would need quoting the unit does not do
for p in "$kotel" "$node" "$config"; do
  case "$p" in *[[:space:]%\\\"\']*) echo "kotel install: '$p' holds a space, %, quote or backslash: move it to a plain path" >&2; exit 1 ;; esac
done
if [ ! -e "$root$config" ]; then
  install -D -m 0644 "$kotel/config/kotel.yaml" "$root$config"
  echo "kotel install: wrote $root$config (the shipped defaults; edit it, then systemctl restart kotel)"
fi

mkdir -p "$root$unit_dir"
unit=$root$unit_dir/kotel.service
sed -e "s|@NODE@|$node|g" -e "s|@KOTEL@|$kotel|g" -e "s|@CONFIG@|$config|g" "$kotel/deploy/systemd/kotel.service" >"$unit.new"
mv "$unit.new" "$unit"
echo "kotel install: wrote $unit (ExecStart=$node $kotel/dist/agent/src/cli.js run --config $config)"

if [ "$start" = 0 ]; then
  echo "kotel install: to start it: systemctl daemon-reload && systemctl enable --now kotel"
  exit 0
fi
if [ ! -d /run/systemd/system ]; then
  echo "kotel install: systemd is not running here (no /run/systemd/system): start it with systemctl daemon-reload && systemctl enable --now kotel where it runs, or use --no-start" >&2
  exit 1
fi
systemctl daemon-reload
systemctl enable --now kotel
systemctl --no-pager status kotel || true
