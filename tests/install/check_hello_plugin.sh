#!/usr/bin/env bash
# check_hello_plugin.sh BUILD_DIR SOURCE_DIR SLUICE_BIN MOCK_BIN - the plugin
# developer's path, end to end:
#  1. `cmake --install` into a private prefix;
#  2. build docs/examples/hello-filter with its Makefile, finding the headers
#     through PKG_CONFIG_PATH=<prefix>/lib/pkgconfig alone (nothing of the source
#     tree on the include path);
#  3. hello.so imports only libc symbols, needs only libc and exports only the
#     entry symbol;
#  4. the sluice of the build loads it by path (`sluice -t` and a real run in front
#     of sluice-mock): its header is on every response and it answers its path;
#  5. its configuration errors come out as FILE:LINE:COL.
set -euo pipefail
build="$1" src="$2" sluice="$3" mock="$4"
for b in "$sluice" "$mock"; do
  [ -x "$b" ] || { echo "not built: $b"; exit 1; }
done
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
command -v make >/dev/null || { echo "make is not installed"; exit 77; }

work=$(mktemp -d /tmp/sluice-hello-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do [ -f "$f" ] && sed "s|^|[$(basename "$f")] |" "$f"; done; exit 1; }

# ---- 1. install ----
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name sluice-plugin.pc | head -1)
[ -n "$pc" ] || fail "no sluice-plugin.pc under $prefix"
pcdir=$(dirname "$pc")

# ---- 2. build the example out of tree ----
cp -r "$src/docs/examples/hello-filter" "$work/hello"
rm -f "$work/hello/hello.so"
unset CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH
make -s -C "$work/hello" PKG_CONFIG_PATH="$pcdir" >"$work/make.log" 2>&1 || fail "make failed"
so="$work/hello/hello.so"
[ -f "$so" ] || fail "make built no hello.so"
# Where the headers came from: the prefix, never the source tree.
deps=$(cd "$work/hello" && cc -std=c11 $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags sluice-plugin) -M hello.c)
echo "$deps" | grep -q "$prefix.*sluice/plugin.h" || fail "sluice/plugin.h not taken from $prefix: $deps"
if echo "$deps" | grep -F -- "$src/include" >/dev/null; then
  fail "the build read headers from the source tree: $deps"
fi

# ---- 3. symbols ----
libc=$(cc -print-file-name=libc.so.6)
[ -f "$libc" ] || libc=$(ldd /bin/sh | awk '$1 == "libc.so.6" {print $3}')
libc_defs=$(nm -D --defined-only "$libc" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
imports=$(nm -D --undefined-only "$so" | awk '$1 == "U" {print $2}' | sed 's/@.*//' | sort -u)
not_libc=$(comm -23 <(echo "$imports") <(echo "$libc_defs") | grep . || true)
[ -z "$not_libc" ] || fail "hello.so imports symbols libc does not define: $not_libc"
needed=$(objdump -p "$so" | awk '$1 == "NEEDED" {print $2}' | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ] || fail "hello.so needs more than libc: $needed"
exports=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' | tr '\n' ' ')
[ "$exports" = "sluice_plugin_entry " ] || fail "hello.so exports more than its entry: $exports"

# ---- 4. sluice loads it ----
"$mock" --name hello-mock --port 0 >"$work/mock.log" 2>&1 &
pids+=($!)
mock_port=
for _ in $(seq 100); do
  mock_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/mock.log" | head -1)
  [ -n "$mock_port" ] && break
  sleep 0.05
done
[ -n "$mock_port" ] || fail "sluice-mock did not start"

write_conf() { # FILE PORT PLUGIN [extra config lines]
  cat >"$1" <<YAML
global:
  workers: 1
  grace: 1s
  log: {level: info, access: off}
frontends:
  - name: api
    bind: ["127.0.0.1:$2"]
    filters:
      - plugin: $3
        config:
          greeting: "hi from hello.so"
          path: /hello
$4
    routes:
      - match: {path_prefix: /}
        backend: mock
backends:
  - {name: mock, servers: [{name: m, url: "http://127.0.0.1:$mock_port"}]}
YAML
}

# sluice -t, by absolute path and by a path relative to the working directory.
write_conf "$work/abs.yaml" 18080 "$so" ""
out=$("$sluice" -t -c "$work/abs.yaml" 2>&1) || fail "sluice -t (absolute path): $out"
[ "$out" = "configuration OK" ] || fail "sluice -t said: $out"
write_conf "$work/rel.yaml" 18080 "./hello.so" ""
out=$(cd "$work/hello" && "$sluice" -t -c "$work/rel.yaml" 2>&1) || fail "sluice -t (relative path): $out"

# Located configuration errors: a bad greeting (line 11, col 21) and an unknown key
# (line 13, col 11).
write_conf "$work/bad.yaml" 18080 "$so" '          greting: typo'
sed -i 's/greeting: "hi from hello.so"/greeting: ""/' "$work/bad.yaml"
if out=$("$sluice" -t -c "$work/bad.yaml" 2>&1); then fail "a bad greeting passed sluice -t"; fi
echo "$out" | grep -q "^$work/bad.yaml:11:21: hello: 'greeting' must be" || fail "bad greeting: $out"
echo "$out" | grep -q "^$work/bad.yaml:13:11: .*greting" || fail "unknown key: $out"

# A real run. The port is picked at random and retried if it was taken.
port= started=
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  write_conf "$work/run.yaml" "$port" "$so" ""
  "$sluice" -c "$work/run.yaml" >"$work/sluice.log" 2>&1 &
  spid=$!
  for _ in $(seq 300); do
    if grep -q "sluice started" "$work/sluice.log"; then started=1; break; fi
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -n "$started" ]; then pids+=($spid); break; fi
  wait "$spid" 2>/dev/null || true
  grep -qi "in use" "$work/sluice.log" || fail "sluice did not start"
done
[ -n "$started" ] || fail "sluice did not start on a free port in 5 tries"
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/hello" && break
  sleep 0.05
done

# Answered by the plugin: its header and its JSON, nothing from the mock.
curl -sS -i --max-time 5 "http://127.0.0.1:$port/hello" >"$work/local.txt" || fail "curl /hello"
tr -d '\r' <"$work/local.txt" >"$work/local"
head -1 "$work/local" | grep -q '^HTTP/1.1 200' || fail "/hello: $(cat "$work/local")"
grep -qi '^x-hello: hi from hello.so$' "$work/local" || fail "/hello has no x-hello: $(cat "$work/local")"
grep -qi '^content-type: application/json' "$work/local" || fail "/hello is not JSON: $(cat "$work/local")"
grep -q '{"plugin":"hello","greeting":"hi from hello.so"}' "$work/local" || fail "/hello body: $(cat "$work/local")"
if grep -qi '^x-mock-server:' "$work/local"; then fail "/hello reached the mock"; fi

# Forwarded: the mock's answer with the plugin's header added.
curl -sS -i --max-time 5 "http://127.0.0.1:$port/v1/models" >"$work/up.txt" || fail "curl /v1/models"
tr -d '\r' <"$work/up.txt" >"$work/up"
head -1 "$work/up" | grep -q '^HTTP/1.1 200' || fail "/v1/models: $(cat "$work/up")"
grep -qi '^x-mock-server: hello-mock$' "$work/up" || fail "/v1/models did not reach the mock"
grep -qi '^x-hello: hi from hello.so$' "$work/up" || fail "/v1/models has no x-hello: $(cat "$work/up")"

# A POST to the plugin's path is not the plugin's: it goes upstream, with the header.
curl -sS -i --max-time 5 -X POST -d '{}' "http://127.0.0.1:$port/hello" | tr -d '\r' >"$work/post"
grep -qi '^x-mock-server: hello-mock$' "$work/post" || fail "POST /hello was answered locally"
grep -qi '^x-hello: hi from hello.so$' "$work/post" || fail "POST /hello has no x-hello"

echo "hello plugin OK: built from $prefix, loaded by $sluice"
