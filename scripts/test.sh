#!/usr/bin/env bash
# Runs every test: unit tests, integration tests against real peers on
# loopback, unit tests again under AddressSanitizer+UBSan, and each fuzz target
# for FUZZ_SECONDS on its corpus. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

bash scripts/install-deps.sh

echo "== clang-format"
# Collected into a variable first: piping into head under pipefail would end
# the script with SIGPIPE (141) instead of the message below.
format_report=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 || true)
unformatted=$(grep -c 'warning:' <<<"$format_report" || true)
if [ "$unformatted" != 0 ]; then
  grep 'warning:' <<<"$format_report" | sed -n '1,20p'
  echo "clang-format: $unformatted places differ from .clang-format (run clang-format -i)"
  exit 1
fi

echo "== build (RelWithDebInfo)"
bash scripts/build.sh

echo "== Release build with library layering enforced (what a packager builds)"
BUILD_DIR=build-release BUILD_TYPE=Release BUILD_TARGET=tlsrelay bash scripts/build.sh -DTLSRELAY_LAYER_CHECK=ON -DTLSRELAY_TESTS=OFF

echo "== unit + integration tests"
ctest --test-dir build --output-on-failure --timeout 900 -j2

echo "== unit tests under AddressSanitizer + UBSan"
BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DTLSRELAY_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -L unit -j2

echo "== fuzz targets, ${FUZZ_SECONDS}s each"
CC=clang CXX=clang++ BUILD_DIR=build-fuzz BUILD_TYPE=RelWithDebInfo bash scripts/build.sh -DTLSRELAY_FUZZ=ON
fuzz_passed=0
for target in build-fuzz/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "-- $name"
  "$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=0 "$work" 2>"$work.log" \
    || { tail -n 40 "$work.log"; echo "fuzz target $name failed"; exit 1; }
  tail -n 2 "$work.log"
  rm -rf "$work" "$work.log"
  fuzz_passed=$((fuzz_passed + 1))
done
echo "fuzz: $fuzz_passed passed, 0 failed"
