#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages sluice needs, when missing.
# Idempotent and non-interactive. Usage: tools/install-deps.sh [build|test|bench|all]
#   build: compiler, cmake and the libraries sluice links (default)
#   test:  build + what the test suite runs (curl library, redis, node for SDK checks)
#   bench: test + haproxy, nginx, wrk, h2load, valgrind
set -euo pipefail

what="${1:-build}"
build_pkgs=(build-essential cmake pkg-config libev-dev libnghttp2-dev libwolfssl-dev
            libyaml-dev node-llhttp libhiredis-dev)
test_pkgs=(libcurl4-openssl-dev curl redis-server nodejs npm valgrind)
bench_pkgs=(haproxy nginx wrk nghttp2-client valgrind python3)

pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench|all) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  # node and npm may come from outside Debian (nvm, nodesource); accept them as found.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all $what packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once if they are missing or older than a day.
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*_InRelease' -mtime -1 2>/dev/null | head -1)" ]; then
  $sudo apt-get update -q
fi
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
