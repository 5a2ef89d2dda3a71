#!/usr/bin/env bash
# http1_micro.sh - instructions (callgrind) and time per request+response parse pair
# for core/http1, built like the Release build (-O2). Not part of ctest.
#   bench/micro/http1_micro.sh            # Ir per pair, then ns per pair
#   ANNOTATE=1 bench/micro/http1_micro.sh # also callgrind_annotate self costs
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
LLHTTP="${LLHTTP_SOURCE_DIR:-/usr/share/llhttp}"
LLINC="${LLHTTP_INCLUDE_DIR:-/usr/share/include/llhttp}"
OUT="${OUT:-/tmp/sluice-http1-micro}"
mkdir -p "$OUT"
cc -std=c11 -O2 -g -DNDEBUG -I"$REPO/core" -I"$LLINC" -o "$OUT/http1_micro" \
  "$REPO/bench/micro/http1_micro.c" "$REPO"/core/http1/*.c \
  "$LLHTTP/api.c" "$LLHTTP/http.c" "$LLHTTP/llhttp.c" -w
ir() { valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$1.out" "$OUT/http1_micro" "$1" >/dev/null 2>&1
       awk '/^totals:/ {print $2}' "$OUT/cg.$1.out"; }
lo=$(ir 1000); hi=$(ir 3000)
echo ">> http1: $(( (hi - lo) / 2000 )) instructions (Ir) per request+response pair"
if [ -n "${ANNOTATE:-}" ]; then
  callgrind_annotate --threshold=99 "$OUT/cg.3000.out" | grep -E '^ *[0-9,]+ ' | head -30 || true
fi
"$OUT/http1_micro" 2000000
