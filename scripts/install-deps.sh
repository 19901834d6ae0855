#!/usr/bin/env bash
# Installs every Debian package tlsrelay needs to build, test and benchmark.
# Daemons (postfix, nsd, unbound, nginx, postgresql) are installed without being started:
# the test fixtures start private instances on loopback themselves.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev git
  libuv1-dev libssl-dev libldns-dev ldnsutils libcurl4-openssl-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libcrypt-dev
  libsqlite3-dev libpq-dev zlib1g-dev libgmime-3.0-dev libopendkim-dev libh2o-dev libgtest-dev libgmock-dev libbenchmark-dev
  postfix nsd unbound nginx-light postgresql swaks libnet-ssleay-perl libio-socket-inet6-perl testssl.sh openssl dnsutils
  python3 python3-dkim python3-nacl python3-jsonschema opendkim-tools iproute2 procps util-linux ca-certificates bc dns-root-data curl findutils faketime
  sasl2-bin libsasl2-modules
)

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
