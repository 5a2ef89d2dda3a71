# lib.sh - shared helpers for setup.sh / run.sh / instructions.sh (source it, do not run it).
# All traffic is 127.0.0.1 only. Every process started here is tracked by PID and stopped by PID.

HERE="${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
REPO="$(cd "$HERE/.." && pwd)"
CONF="$HERE/conf"
BODY_DIR="$HERE/body"
STATE="${STATE:-/tmp/sluice-bench}"                 # runtime scratch (prefix dirs, logs, pid files)
# Bundled plugins for the sluice-filters target (its configuration names this directory).
export SLUICE_PLUGIN_DIR="${SLUICE_PLUGIN_DIR:-$REPO/build/plugins}"

UPSTREAM_PORT="${UPSTREAM_PORT:-18081}"
UPSTREAM_CPU="${UPSTREAM_CPU:-0}"     # upstream stub + load generator share CPU 0
CLIENT_CPU="${CLIENT_CPU:-0}"
PROXY_CPU="${PROXY_CPU:-1}"           # proxy under test alone on CPU 1

CHAT_PATH="/v1/chat/completions"
REQ_BODY="$BODY_DIR/chat_request.json"
RESP_BODY="$BODY_DIR/chat_response.json"

# Headers sent to EVERY target (identical requests everywhere). The x-portkey-* ones are kept
# from the peers' harness (../shared/bench-peers) so the request is byte for byte the one its
# published numbers used; every proxy here just forwards them.
BENCH_HEADERS=(
  "Content-Type: application/json"
  "Authorization: Bearer sk-bench-0000000000000000"
  "x-portkey-provider: openai"
  "x-portkey-custom-host: http://127.0.0.1:${UPSTREAM_PORT}/v1"
)

# ---------------------------------------------------------------- target registry
T_NAMES=(); declare -A T_PORT T_CMD T_CG
target() {  # target NAME PORT LOAD_CMD CALLGRIND_CMD
  T_NAMES+=("$1"); T_PORT[$1]="$2"; T_CMD[$1]="$3"; T_CG[$1]="${4:-}"
}
# shellcheck source=targets.conf
. "$HERE/targets.conf"
if [ -n "${EXTRA_TARGETS_FILE:-}" ]; then . "$EXTRA_TARGETS_FILE"; fi

# selected targets: $ONLY="haproxy sluice" restricts (direct is always measured by run.sh)
selected_targets() {
  local n
  for n in "${T_NAMES[@]}"; do
    if [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $n "* ]]; then echo "$n"; fi
  done
}

# ---------------------------------------------------------------- process helpers
mkdir -p "$STATE"
STARTED_PIDS=()

port_listening() {  # no connection is made (ss only), so nothing is charged to the server
  [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

wait_port() {  # wait_port PORT TIMEOUT_S PID
  local port=$1 t=$2 pid=$3 i
  for ((i = 0; i < t * 10; i++)); do
    port_listening "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "process $pid died before listening on :$port" >&2; return 1; }
    sleep 0.1
  done
  echo "timeout waiting for :$port" >&2; return 1
}

# start_bg NAME CPU LOGFILE CMD...   -> sets START_PID; CMD is a string re-parsed by bash
start_bg() {
  local name=$1 cpu=$2 log=$3; shift 3
  mkdir -p "$STATE/$name/logs" "$STATE/$name/tmp"
  if [ "$cpu" = "-" ]; then
    setsid bash -c "exec $*" >"$log" 2>&1 < /dev/null &
  else
    setsid bash -c "exec taskset -c $cpu $*" >"$log" 2>&1 < /dev/null &
  fi
  START_PID=$!
  STARTED_PIDS+=("$START_PID")
  echo "$START_PID" > "$STATE/$name.pid"
}

stop_pid() {  # stop_pid PID [TIMEOUT_S] : SIGTERM, wait, then SIGKILL. Returns 1 if it had to KILL.
  local pid=$1 t=${2:-15} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  echo "pid $pid ignored SIGTERM for ${t}s, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 1
}

stop_all_started() {
  local p
  for p in "${STARTED_PIDS[@]}"; do stop_pid "$p" 15 || true; done
  STARTED_PIDS=()
}

descendants() {  # PID and all its descendants
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do descendants "$c"; done
}

cpu_ticks() {  # utime+stime (clock ticks) summed over PID and its descendants (threads included)
  local total=0 p f
  for p in $(descendants "$1"); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }                       # strip "pid (comm) "
    set -- $f                          # $1=state ... utime=$12 stime=$13
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

start_upstream() {  # normal (load) mode
  start_bg upstream "$UPSTREAM_CPU" "$STATE/upstream/logs/stdout.log" \
    "nginx -p $STATE/upstream/ -c $CONF/upstream-nginx.conf -g 'daemon off;'"
  UPSTREAM_PID=$START_PID
  wait_port "$UPSTREAM_PORT" 10 "$UPSTREAM_PID"
}

start_target() {  # start_target NAME -> TARGET_PID
  local n=$1
  if port_listening "${T_PORT[$n]}"; then echo "port ${T_PORT[$n]} already in use, refusing to start $n" >&2; return 1; fi
  start_bg "$n" "$PROXY_CPU" "$STATE/$n/logs/stdout.log" "${T_CMD[$n]}"
  TARGET_PID=$START_PID
  wait_port "${T_PORT[$n]}" 60 "$TARGET_PID"
}

curl_args() {
  local h a=()
  for h in "${BENCH_HEADERS[@]}"; do a+=(-H "$h"); done
  printf '%s\n' "${a[@]}"
}

smoke() {  # smoke PORT : POST once, check status 200 + JSON body with the stub's id; GET /v1/models
  local port=$1 out code
  mapfile -t H < <(curl_args)
  out=$(curl -sS -m 10 -o "$STATE/smoke.body" -w '%{http_code}' "${H[@]}" --data-binary @"$REQ_BODY" \
        "http://127.0.0.1:$port$CHAT_PATH") || { echo "smoke :$port curl failed" >&2; return 1; }
  code=$out
  if [ "$code" != 200 ] || ! grep -q 'chatcmpl-bench000000000000000001' "$STATE/smoke.body"; then
    echo "smoke :$port FAILED: HTTP $code body: $(head -c 400 "$STATE/smoke.body")" >&2; return 1
  fi
  if cmp -s "$STATE/smoke.body" "$RESP_BODY"; then SMOKE_NOTE="body byte-identical";
  else SMOKE_NOTE="body rewritten by proxy ($(wc -c < "$STATE/smoke.body") bytes vs $(wc -c < "$RESP_BODY"))"; fi
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "${H[@]}" "http://127.0.0.1:$port/v1/models") || code=ERR
  SMOKE_NOTE="$SMOKE_NOTE; GET /v1/models -> $code"
  return 0
}

versions() {
  echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "kernel:    $(uname -r)  cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "haproxy:   $(haproxy -v 2>/dev/null | head -1)"
  echo "nginx:     $(nginx -v 2>&1)"
  echo "wrk:       $(wrk -v 2>&1 | head -1)"
  echo "h2load:    $(h2load --version 2>/dev/null | head -1)"
  echo "valgrind:  $(valgrind --version 2>/dev/null)"
  echo "sluice:    $("$REPO/build/core/sluice" -v 2>/dev/null | head -1)"
}
