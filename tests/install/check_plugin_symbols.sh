#!/usr/bin/env bash
# check_plugin_symbols.sh BUILD_DIR SLUICE_BIN DLOPEN_CHECK - every bundled plugin
# (BUILD_DIR/plugins/*.so) stands on libc and its own system libraries alone:
#  - no NEEDED entry names sluice or a library of the build tree,
#  - `ldd -r` resolves every symbol without sluice in the process,
#  - no symbol it imports is one that only the sluice binary exports,
#  - it loads with every symbol bound at once (RTLD_NOW) in a process that is not
#    sluice, and its descriptor has the right magic and ABI major.
set -euo pipefail
build="$1" sluice="$2" checker="$3"
[ -x "$sluice" ] || { echo "no sluice binary at $sluice"; exit 1; }
shopt -s nullglob
plugins=("$build"/plugins/*.so)
if [ ${#plugins[@]} -eq 0 ]; then
  echo "no bundled plugins in $build/plugins yet"
  exit 77
fi
fail=0
bad() { echo "FAIL $1"; fail=1; }

# What the sluice binary exports (normally next to nothing: it is not -rdynamic).
sluice_exports=$(nm -D --defined-only "$sluice" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | sort -u)

for so in "${plugins[@]}"; do
  name=$(basename "$so")
  needed=$(objdump -p "$so" | awk '$1 == "NEEDED" {print $2}')
  for lib in $needed; do
    case "$lib" in
      *sluice*) bad "$name: NEEDED $lib" ;;
    esac
  done
  # Libraries resolved from the build tree would be part of sluice, not the system.
  if ldd "$so" | grep -F -- "$build" >/dev/null; then
    bad "$name: links a library of the build tree: $(ldd "$so" | grep -F -- "$build")"
  fi
  undef=$(ldd -r "$so" 2>&1 | grep -i 'undefined symbol' || true)
  [ -z "$undef" ] || bad "$name: unresolved without sluice: $undef"

  # Imports that no NEEDED library defines but sluice exports: a back door.
  provided=$(for lib in $(ldd "$so" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
               nm -D --defined-only "$lib" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//'
             done | sort -u)
  imports=$(nm -D --undefined-only "$so" | awk '$1 == "U" {print $2}' | sed 's/@.*//' | sort -u)
  only_sluice=$(comm -12 <(comm -23 <(echo "$imports") <(echo "$provided")) <(echo "$sluice_exports") | grep . || true)
  [ -z "$only_sluice" ] || bad "$name: imports symbols only sluice exports: $only_sluice"

  exports=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' || true)
  case "$exports" in
    *sluice_plugin_entry*) ;;
    *) bad "$name: does not export sluice_plugin_entry" ;;
  esac
done

LD_BIND_NOW=1 "$checker" "${plugins[@]}" || fail=1
[ $fail -eq 0 ] && echo "plugin symbols OK: ${#plugins[@]} plugin(s)"
exit $fail
