#!/usr/bin/env bash
# Installs the Debian packages tlsrelay needs, in three lists:
#   --build    compiler, CMake, Ninja and the -dev libraries (enough to build the relay)
#   --runtime  the shared libraries the tlsrelay binary loads, the CA bundle and the DNSSEC
#              root trust anchor (what the Dockerfile's runtime stage installs)
#   --test     test peers, validators, tools and test/benchmark libraries
# Flags combine; without any, all three lists are installed (scripts/run.sh, scripts/test.sh, CI).
# Only packages that are missing are installed.
# Daemons (postfix, nsd, unbound, nginx, postgresql) are installed without being started:
# the test fixtures start private instances on loopback themselves.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libssl-dev libldns-dev libcurl4-openssl-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libcrypt-dev
  libsqlite3-dev libpq-dev zlib1g-dev libgmime-3.0-dev libopendkim-dev libh2o-dev
)

# The packages of the binary's NEEDED libraries (`readelf -d tlsrelay`, `dpkg -S`); what
# those need in turn, apt installs. nlohmann-json and CLI11 are header-only; libgobject-2.0
# (libglib2.0-0) comes with GMime's API. dns-root-data: /usr/share/dns/root.key, the default
# [dns] trust_anchor_file.
RUNTIME_PACKAGES=(
  libc6 libstdc++6 libgcc-s1
  libuv1 libssl3 libldns3 libcurl4 libtomlplusplus3 libcrypt1
  libsqlite3-0 libpq5 zlib1g libgmime-3.0-0 libglib2.0-0 libopendkim11 libh2o0.13
  ca-certificates dns-root-data
)

TEST_PACKAGES=(
  clang clang-format libclang-rt-14-dev git
  libgtest-dev libgmock-dev libbenchmark-dev
  postfix nsd unbound nginx-light postgresql swaks libnet-ssleay-perl libio-socket-inet6-perl testssl.sh openssl dnsutils ldnsutils
  python3 python3-dkim python3-nacl python3-jsonschema opendkim-tools iproute2 procps util-linux bc curl findutils faketime
  sasl2-bin libsasl2-modules
  chromium chromium-driver python3-selenium
)

usage() {
  echo "usage: $0 [--build] [--runtime] [--test]   (no flag: all three)" >&2
  exit 2
}

PACKAGES=()
for arg in "$@"; do
  case $arg in
    --build) PACKAGES+=("${BUILD_PACKAGES[@]}") ;;
    --runtime) PACKAGES+=("${RUNTIME_PACKAGES[@]}") ;;
    --test) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
    -h | --help) usage ;;
    *) echo "$0: unknown argument '$arg'" >&2; usage ;;
  esac
done
if [ $# -eq 0 ]; then
  PACKAGES=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Without systemd a package's maintainer script would start postfix/nsd/unbound
# on public default ports; policy-rc.d forbids that for the duration of the install.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
