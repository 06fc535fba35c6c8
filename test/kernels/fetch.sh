#!/usr/bin/env bash
# test/kernels/fetch.sh KERNEL...
#
# Fetch a Debian 12 kernel for the guest runner (test/kernels/guest.ts) and build its initramfs.
# KERNEL is one of: 6.1, 6.1-rt, 6.12, 6.12-rt. For each one:
#   - resolve the newest matching linux-image-*-amd64-unsigned package with apt-cache
#     (6.1: linux-image-6.1.0-NN[-rt]-amd64-unsigned; 6.12: linux-image-6.12.NN+deb12[-rt]-amd64-unsigned),
#   - apt-get download it, dpkg-deb -x it into $KOTEL_KERNEL_CACHE/<KERNEL>/root
#     (default cache /var/cache/kotel/kernels), depmod -b it,
#   - build <cache>/<KERNEL>/initramfs.cpio.gz: busybox-static, and the modules that mount the guest's root
#     (virtio_pci, 9pnet_virtio, 9p, overlay) with their modules.dep dependencies, loaded in order.
# Idempotent: once <cache>/<KERNEL>/kernel.env exists and its files are there, it does nothing and prints nothing.
# Needs root (apt-get update, cache under /var/cache) and the Debian packages
#   apt dpkg kmod busybox-static cpio gzip  (xz-utils / zstd only if a kernel ships compressed modules).
# Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage.
set -euo pipefail

CACHE=${KOTEL_KERNEL_CACHE:-/var/cache/kotel/kernels}
# the modules the initramfs loads to mount the root share; their dependencies come from modules.dep
ROOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

die() {
  echo "fetch.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: fetch.sh KERNEL...   (KERNEL: 6.1 6.1-rt 6.12 6.12-rt; cache: \$KOTEL_KERNEL_CACHE, default /var/cache/kotel/kernels)" >&2
  exit 2
}

# need TOOL PACKAGE: fail with one line naming the Debian package when a tool is missing
need() {
  command -v "$1" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1 ||
    die "missing tool '$1': install the Debian package $2 (apt-get install $2)"
}

# package-name pattern (an anchored ERE for apt-cache search --names-only) of a KERNEL
pattern_of() {
  case "$1" in
    6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
    6.1-rt) echo '^linux-image-6\.1\.0-[0-9]+-rt-amd64-unsigned$' ;;
    6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
    6.12-rt) echo '^linux-image-6\.12\.[0-9]+\+deb12-rt-amd64-unsigned$' ;;
    *) return 1 ;;
  esac
}

UPDATED=0
# PKG := newest package matching a pattern that has a download candidate; runs apt-get update once (per call
# of fetch.sh) if none is known
PKG=
resolve_package() {
  local pat=$1 names name cand attempt
  PKG=
  for attempt in 1 2; do
    names=$(apt-cache search --names-only "$pat" 2>/dev/null | awk '{print $1}' | sort -rV)
    for name in $names; do
      cand=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
      if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
        PKG=$name
        return 0
      fi
    done
    [ "$attempt" = 1 ] && [ "$UPDATED" = 0 ] || break
    UPDATED=1
    apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (run it by hand to see why)"
  done
  return 1
}

# module name as the kernel spells it: dashes and underscores are the same
norm() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }

# awk program: the normalised name of a module path (kernel/fs/9p/9p.ko -> 9p; dashes are underscores)
AWK_NORM='function norm(p,  n) { n = p; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); return n }'

# is_builtin MODDIR NAME: built into the kernel (modules.builtin), nothing to load
is_builtin() {
  [ -f "$1/modules.builtin" ] || return 1
  awk -v m="$2" "$AWK_NORM"' norm($0) == m { found = 1; exit } END { exit !found }' "$1/modules.builtin"
}

# path (relative to MODDIR) of module NAME from modules.dep
module_path() {
  awk -v m="$2" -F: "$AWK_NORM"' norm($1) == m { print $1; found = 1; exit } END { exit !found }' "$1/modules.dep"
}

# deps_of MODDIR RELPATH: the modules.dep dependencies of a module
deps_of() {
  awk -v m="$2" -F': *' '$1 == m { print $2; exit }' "$1/modules.dep" | tr ' ' '\n' | sed '/^$/d'
}

# load order (dependencies first) of modules, by relative path; appends to the ORDER array
declare -a ORDER
declare -A SEEN
visit() {
  local moddir=$1 rel=$2 d
  [ -n "${SEEN[$rel]:-}" ] && return 0
  SEEN[$rel]=1
  for d in $(deps_of "$moddir" "$rel"); do visit "$moddir" "$d"; done
  ORDER+=("$rel")
}

# copy a module into the initramfs staging dir, uncompressed (busybox insmod then needs no decompressor)
copy_module() {
  local src=$1 dst=$2
  case "$src" in
    *.ko) cp "$src" "$dst" ;;
    *.ko.xz) need xz xz-utils; xz -dc "$src" >"$dst" ;;
    *.ko.zst) need zstd zstd; zstd -qdc "$src" >"$dst" ;;
    *.ko.gz) gzip -dc "$src" >"$dst" ;;
    *) die "unknown module format: $src" ;;
  esac
}

build_initramfs() {
  local kdir=$1 kver=$2 out=$3 moddir stage m rel busybox
  moddir=$kdir/root/lib/modules/$kver
  stage=$(mktemp -d "$kdir/initramfs.XXXXXX")
  mkdir -p "$stage"/{bin,dev,proc,sys,newroot,modules}
  busybox=$(command -v busybox || true)
  [ -n "$busybox" ] || die "missing tool 'busybox': install the Debian package busybox-static"
  # a dynamically linked busybox (package busybox) cannot run in the initramfs
  if LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked: install the Debian package busybox-static"
  fi
  cp "$busybox" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  mknod -m 600 "$stage/dev/console" c 5 1
  mknod -m 666 "$stage/dev/null" c 1 3

  ORDER=()
  SEEN=()
  for m in "${ROOT_MODULES[@]}"; do
    if is_builtin "$moddir" "$m"; then continue; fi
    rel=$(module_path "$moddir" "$m") || die "module $m is neither in modules.dep nor in modules.builtin of $kver"
    visit "$moddir" "$rel"
  done
  : >"$stage/modules/order"
  for rel in "${ORDER[@]}"; do
    m=$(norm "$rel")
    copy_module "$moddir/$rel" "$stage/modules/$m.ko"
    echo "$m" >>"$stage/modules/order"
  done

  cat >"$stage/init" <<'EOF'
#!/bin/sh
# kotel guest initramfs (built by test/kernels/fetch.sh): load the modules, mount the host's / (9p, read-only)
# under a tmpfs overlay, bind the kernel's modules over /lib/modules, mount the results share, and hand over
# to the stage-2 script the host wrote there (kotel.stage2= on the kernel command line).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev 2>/dev/null
fail() {
  echo "kotel-initramfs: $*"
  echo o >/proc/sysrq-trigger
  while :; do sleep 1; done
}
for m in $(cat /modules/order); do
  insmod /modules/$m.ko || fail "insmod $m failed"
done
arg() { for w in $(cat /proc/cmdline); do case $w in "$1="*) echo "${w#*=}";; esac; done; }
MODULES=$(arg kotel.modules)
STAGE2=$(arg kotel.stage2)
MSIZE=$(arg kotel.msize)
[ -n "$MSIZE" ] || MSIZE=512000
mkdir -p /lower /rw
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=$MSIZE,cache=loose kotelroot /lower ||
  fail "cannot mount the root share (9p tag kotelroot)"
mount -t tmpfs -o mode=755 tmpfs /rw || fail "cannot mount the tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "cannot mount the overlay"
mkdir -p /newroot/kotel-guest /newroot/lib/modules
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE kotelresults /newroot/kotel-guest ||
  fail "cannot mount the results share (9p tag kotelresults)"
if [ -n "$MODULES" ]; then
  mount --bind "/lower$MODULES" /newroot/lib/modules || fail "cannot bind $MODULES over /lib/modules"
fi
[ -n "$STAGE2" ] && [ -f "/newroot$STAGE2" ] || fail "no stage-2 script ($STAGE2)"
umount /dev 2>/dev/null
umount /proc
exec switch_root /newroot /bin/sh "$STAGE2"
EOF
  chmod 755 "$stage/init"
  (cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -9) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
}

fetch_one() {
  local kernel=$1 kdir pat pkg dl deb kver vmlinuz
  kdir=$CACHE/$kernel
  # cached: nothing to do, nothing to print
  if [ -f "$kdir/kernel.env" ]; then
    # shellcheck disable=SC1091
    (. "$kdir/kernel.env" && [ -f "$VMLINUZ" ] && [ -f "$INITRAMFS" ] && [ -f "$MODULES/$KVER/modules.dep" ]) &&
      return 0
  fi
  pat=$(pattern_of "$kernel") || usage
  need apt-cache apt
  need apt-get apt
  need dpkg-deb dpkg
  need depmod kmod
  need cpio cpio
  need gzip gzip
  need busybox busybox-static
  [ "$(id -u)" = 0 ] || die "run as root (apt-get and the cache $CACHE need it)"
  resolve_package "$pat" || die "no Debian package matches $pat (kernel $kernel): check apt sources (bookworm, bookworm-security)"
  pkg=$PKG
  mkdir -p "$kdir"
  dl=$(mktemp -d "$kdir/download.XXXXXX")
  (cd "$dl" && apt-get -qq -o APT::Sandbox::User=root download "$pkg" >/dev/null 2>&1) ||
    { rm -rf "$dl"; die "apt-get download $pkg failed (kernel $kernel)"; }
  deb=$(ls "$dl"/*.deb)
  rm -rf "$kdir/root" "$kdir/root.tmp"
  dpkg-deb -x "$deb" "$kdir/root.tmp" || { rm -rf "$dl"; die "dpkg-deb -x $deb failed"; }
  rm -rf "$dl"
  mv "$kdir/root.tmp" "$kdir/root"
  kver=$(ls "$kdir/root/lib/modules" | head -n1)
  [ -n "$kver" ] || die "$pkg has no lib/modules/<version>"
  vmlinuz=$kdir/root/boot/vmlinuz-$kver
  [ -f "$vmlinuz" ] || die "$pkg has no boot/vmlinuz-$kver"
  PATH="$PATH:/usr/sbin:/sbin" depmod -b "$kdir/root" "$kver" || die "depmod -b $kdir/root $kver failed"
  build_initramfs "$kdir" "$kver" "$kdir/initramfs.cpio.gz"
  cat >"$kdir/kernel.env.tmp" <<EOF
KERNEL=$kernel
PACKAGE=$pkg
KVER=$kver
VMLINUZ=$vmlinuz
INITRAMFS=$kdir/initramfs.cpio.gz
MODULES=$kdir/root/lib/modules
EOF
  mv "$kdir/kernel.env.tmp" "$kdir/kernel.env"
}

[ $# -ge 1 ] || usage
for k in "$@"; do
  pattern_of "$k" >/dev/null || { echo "fetch.sh: unknown kernel $k (known: 6.1 6.1-rt 6.12 6.12-rt)" >&2; exit 2; }
done
for k in "$@"; do
  fetch_one "$k"
done
