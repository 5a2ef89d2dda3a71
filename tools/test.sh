#!/usr/bin/env bash
# test.sh - the whole test suite, as the README and CI run it.
# Installs what it needs (tools/install-deps.sh test), then builds and runs ctest in
# the Debug build and the sanitizer build (ASan + UBSan, leaks checked by LSan).
#   SLUICE_BUILD_TYPES="Debug"   limit the builds
#   CTEST_ARGS="-L unit"         extra ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh test

jobs=$(nproc 2>/dev/null || echo 2)
for type in ${SLUICE_BUILD_TYPES:-Debug Sanitize}; do
  dir="build/$(echo "$type" | tr '[:upper:]' '[:lower:]')"
  echo "=== $type build in $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # Tests start real processes on loopback; two at a time suits a 2-core machine.
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j2 ${CTEST_ARGS:-})
done
echo "=== all tests passed"
