#!/usr/bin/env bash
# run.sh - the official OpenAI and Anthropic SDKs against sluice-mock (check.mjs).
#
# Environment (ctest sets both): SLUICE_MOCK_BIN, the mock to test;
# SLUICE_BUILD_DIR, where node_modules are cached (sdk-node/, reinstalled with
# `npm ci` only when package-lock.json changes).
# Exit: 0 pass, 1 fail (a failed install too), 77 when node or npm is missing.
set -euo pipefail

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "skip: node and npm are needed for the SDK check"
  exit 77
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

build="${SLUICE_BUILD_DIR:-$here/../../build}"
mock="${SLUICE_MOCK_BIN:-$build/tools/mock/sluice-mock}"
cache="$build/sdk-node"
if [[ ! -x "$mock" ]]; then
  echo "sluice-mock not found at $mock (build it first)" >&2
  exit 1
fi

# The stamp is written only after a complete install, so a broken one is retried.
mkdir -p "$cache"
if [[ ! -d "$cache/node_modules" ]] || ! cmp -s "$here/package-lock.json" "$cache/installed.lock"; then
  rm -f "$cache/installed.lock"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  echo "installing SDKs into $cache"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$cache/installed.lock"
fi
# ESM resolves packages next to the script, so it runs from the cache directory.
cp "$here/check.mjs" "$cache/check.mjs"

coproc MOCK { exec "$mock" --name sdk; }
mock_pid=$MOCK_PID
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT

line=""
if ! read -r -t 10 line <&"${MOCK[0]}" || [[ "$line" != *"listening on "* ]]; then
  echo "sluice-mock did not start: '$line'" >&2
  exit 1
fi
addr="${line##*listening on }"
echo "$line"

status=0
node "$cache/check.mjs" "http://$addr" || status=$?

# The mock must also shut down cleanly (leak-free under the sanitizers).
kill -TERM "$mock_pid"
mock_status=0
wait "$mock_pid" || mock_status=$?
trap - EXIT
if [[ $mock_status -ne 0 ]]; then
  echo "sluice-mock exited with status $mock_status" >&2
  status=1
fi
exit "$status"
