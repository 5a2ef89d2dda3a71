#!/usr/bin/env bash
# bench.sh - sluice side by side with HAProxy and nginx, in one run, on the same upstream.
#
#   ./bench/bench.sh            everything: throughput + latency, callgrind, memory
#   ./bench/bench.sh quick      short runs (smoke check of the harness)
# Results go to bench/raw/<kind>-<time>/ (not committed); docs/benchmarks.md has the
# numbers of the last full run and how to read them.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"

"$REPO/tools/install-deps.sh" bench
cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$REPO/build" -j"$(nproc)" --target sluice sluice-mock auth ratelimit circuit_breaker failover >/dev/null

if [ "${1:-}" = quick ]; then
  export DURATION=3 REPEATS=1 WARMUP=2 LAT_DURATION=3 PRE_WARM=1 N_LOW=500 N_HIGH=2500
fi
"$HERE/run.sh"
"$HERE/instructions.sh"
python3 "$HERE/rss.py" --sluice "$REPO/build/core/sluice" --demo "$REPO/conf/demo.yaml" \
  --bench "$HERE/conf/sluice.yaml" --connections "${RSS_CONNECTIONS:-10000}"
