#!/usr/bin/env bash
# check_install.sh BUILD_DIR - `cmake --install` puts the binaries, the public headers
# and sluice-plugin.pc in place, and a program builds from the installed headers
# through pkg-config alone.
set -euo pipefail
build="$1"
prefix="$build/test-install"
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/sluice bin/sluice-mock include/sluice/version.h; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
pc=$(find "$prefix" -name sluice-plugin.pc | head -1)
[ -n "$pc" ] || { echo "missing after install: sluice-plugin.pc"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
cflags=$(pkg-config --cflags sluice-plugin)
case "$cflags" in *test-install*) ;; *) echo "cflags do not point into the install prefix: $cflags"; exit 1;; esac
src="$prefix/abi_check.c"
cat > "$src" <<'C'
#include <sluice/version.h>
#if SL_ABI_VERSION_MAJOR != 1
#error unexpected ABI major
#endif
int abi_major(void);
int abi_major(void) { return SL_ABI_VERSION_MAJOR; }
C
cc -std=c11 -Wall -Werror $cflags -c "$src" -o "$prefix/abi_check.o"
"$prefix/bin/sluice" -v | grep -q '^sluice ' || { echo "installed sluice -v failed"; exit 1; }
echo "install OK: $prefix"
