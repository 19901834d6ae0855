#!/usr/bin/env bash
# Runs .ci/run on a fresh Debian 12 (debootstrap --variant=minbase bookworm),
# as CI's machine would, to prove that scripts/install-deps.sh installs
# everything the tests use. The chroot gets a clean clone of HEAD. Packages are
# installed with the network; the run itself is in its own network namespace
# (unshare -n) so its loopback daemons never meet this machine's.
# Usage (root): scripts/ci-in-fresh-chroot.sh [ROOTFS=/var/tmp/tlsrelay-fresh]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-/var/tmp/tlsrelay-fresh}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
rm -rf "$ROOT/src"
git clone --quiet --no-hardlinks "$PWD" "$ROOT/src"

# `/` must be a mount point for the tests' own `unshare -m`.
unshare -m bash -euo pipefail -c '
  root=$1
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t sysfs sys "$root/sys"
  mount -t tmpfs tmpfs "$root/tmp"
  echo "== installing dependencies in the fresh root (with network)"
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash -c "cd /src && bash scripts/install-deps.sh"
  echo "== .ci/run in the fresh root (own network namespace)"
  unshare -n bash -c "
    /usr/sbin/ip link set lo up 2>/dev/null || /sbin/ip link set lo up
    exec chroot \"$root\" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash -c \"cd /src && TLSRELAY_CONTAINER_TEST=0 .ci/run\"
  "
' _ "$ROOT"
