#!/usr/bin/env bash
# usage_micro.sh - instructions (callgrind) and time per scanned body for
# core/proxy/usage.c, built like the Release build (-O2). Not part of ctest.
#   bench/micro/usage_micro.sh                      # bench/body/chat_response.json
#   bench/micro/usage_micro.sh BODY_FILE [sse]      # another body
#   ANNOTATE=1 bench/micro/usage_micro.sh           # also callgrind_annotate inclusive costs
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BODY="${1:-$REPO/bench/body/chat_response.json}"
FMT="${2:-json}"
OUT="${OUT:-/tmp/sluice-usage-micro}"
mkdir -p "$OUT"
cc -std=c11 -O2 -g -DNDEBUG -D_GNU_SOURCE -I"$REPO/core" -I"$REPO/include" -o "$OUT/usage_micro" \
  "$REPO/bench/micro/usage_micro.c" "$REPO/core/proxy/usage.c" "$REPO"/core/json/*.c -w
ir() { valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$1.out" "$OUT/usage_micro" "$1" "$BODY" "$FMT" >/dev/null 2>&1
       awk '/^totals:/ {print $2}' "$OUT/cg.$1.out"; }
lo=$(ir 1000); hi=$(ir 3000)
echo ">> usage: $(( (hi - lo) / 2000 )) instructions (Ir) per body ($(wc -c < "$BODY") bytes, $FMT)"
if [ -n "${ANNOTATE:-}" ]; then
  callgrind_annotate --inclusive=yes --threshold=99 "$OUT/cg.3000.out" | grep -E '^ *[0-9,]+ ' | head -30 || true
fi
"$OUT/usage_micro" 2000000 "$BODY" "$FMT"
