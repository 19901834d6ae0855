#!/usr/bin/env bash
# Builds the smarthost image from ./Dockerfile and tests it (tests/container/test_container.sh),
# with Debian's podman and no Docker engine or registry:
#   1. installs podman, buildah, runc and debootstrap if missing;
#   2. writes a containers.conf for this kind of host (runc, cgroupfs, ulimits 1024) unless
#      CONTAINERS_CONF already names one;
#   3. makes the base image the Dockerfile's FROM names (docker.io/library/debian:bookworm-slim)
#      from a debootstrap root filesystem trimmed like Debian's official slim image —
#      reused when it exists (the root filesystem in /var/tmp/tlsrelay-rootfs, the imported image);
#   4. runs the test, which builds the image and starts containers from it.
# Usage: scripts/container-test.sh [--prepare | --changed]
#   --prepare: steps 1-3 only
#   --changed: exit 0 when the image's inputs differ from the last proven run
#              (tests/container/proven.sha256), 1 when they do not; .ci/run asks this.
# After a passing run the inputs' digest is written to tests/container/proven.sha256:
# commit it with the change it proves.
# Env:   TLSRELAY_ROOTFS (default /var/tmp/tlsrelay-rootfs), DEBIAN_MIRROR
#        (default http://deb.debian.org/debian), TLSRELAY_IMAGE (default localhost/tlsrelay:test).
# Needs root (debootstrap, podman, Postfix on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

ROOTFS=${TLSRELAY_ROOTFS:-/var/tmp/tlsrelay-rootfs}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=docker.io/library/debian:bookworm-slim

log() { echo "[container-test] $*" >&2; }

# Everything the image and this test are made from.
PROVEN=tests/container/proven.sha256
inputs_digest() {
  cat Dockerfile .dockerignore docker/* scripts/install-deps.sh scripts/build.sh scripts/container-test.sh \
    tests/container/*.sh | sha256sum | cut -d' ' -f1
}
if [ "${1:-}" = --changed ]; then
  [ "$(cat "$PROVEN" 2>/dev/null)" != "$(inputs_digest)" ]
  exit
fi

[ "$(id -u)" -eq 0 ] || { log "run as root"; exit 1; }

# 1. Tools.
tools=(podman buildah runc debootstrap fuse-overlayfs slirp4netns uidmap)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. containers.conf: crun refuses hybrid cgroup hosts (runc does not), setrlimit above the
# host's limits fails with EPERM, and without systemd/journald podman needs cgroupfs and a file
# events log.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF=/var/tmp/tlsrelay-containers.conf
  cat >"$CONTAINERS_CONF.new" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"
fi
log "CONTAINERS_CONF=$CONTAINERS_CONF"

# 3. The base image.
make_rootfs() {
  log "debootstrap --variant=minbase bookworm $ROOTFS $MIRROR"
  rm -rf "$ROOTFS" "$ROOTFS.done"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >/var/tmp/tlsrelay-debootstrap.log 2>&1 \
    || { tail -n 30 /var/tmp/tlsrelay-debootstrap.log >&2; log "debootstrap failed"; exit 1; }
  # What Debian's official bookworm-slim image has on top of minbase (debuerreotype's slimify
  # and its apt settings for containers): no documentation, manual pages or translations, no
  # apt caches or package lists, and the security and updates suites in the sources.
  cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CFG
  cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$ROOTFS/etc/apt/sources.list"
  cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$ROOTFS"/usr/share/{man,info,groff,linda,lintian}/* 2>/dev/null || true
  find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/lib/apt/lists/* \
    "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* 2>/dev/null || true
  : >"$ROOTFS/etc/hostname"
  touch "$ROOTFS.done"
}

if podman image exists "$BASE_IMAGE"; then
  log "base image $BASE_IMAGE exists: reused"
else
  if [ -f "$ROOTFS.done" ] && [ -x "$ROOTFS/bin/sh" ]; then
    log "root filesystem $ROOTFS exists: reused"
  else
    make_rootfs
  fi
  log "importing $ROOTFS as $BASE_IMAGE"
  tar -C "$ROOTFS" --numeric-owner -c . | podman import --quiet --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
fi

[ "${1:-}" = --prepare ] && exit 0

# 4. The test.
bash tests/container/test_container.sh
inputs_digest >"$PROVEN"
log "passed; the inputs' digest is in $PROVEN (commit it with the change it proves)"
