#!/usr/bin/env bash
# One command for a newcomer: install dependencies, build, and run the relay on
# the embedded default configuration (listens on 127.0.0.1:2525, spool in ./spool).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what serving needs: tests and benchmarks are built by scripts/test.sh.
BUILD_TARGET=tlsrelay bash scripts/build.sh
exec ./build/tlsrelay serve "$@"
