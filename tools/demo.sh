#!/usr/bin/env bash
# demo.sh - sluice in front of three local mock LLM providers (conf/demo.yaml).
# Installs what it needs, builds (Release, in build/), starts the mocks and sluice,
# prints commands to try, and stops everything on Ctrl-C.
#   SLUICE_DEMO_PORT (8080), SLUICE_DEMO_ADMIN_PORT (9901),
#   SLUICE_DEMO_MOCK_A/B/C (9001/9002/9003) choose the ports.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sluice sluice-mock auth ratelimit circuit_breaker failover

export SLUICE_DEMO_PORT="${SLUICE_DEMO_PORT:-8080}"
export SLUICE_DEMO_ADMIN_PORT="${SLUICE_DEMO_ADMIN_PORT:-9901}"
export SLUICE_DEMO_MOCK_A="${SLUICE_DEMO_MOCK_A:-9001}"
export SLUICE_DEMO_MOCK_B="${SLUICE_DEMO_MOCK_B:-9002}"
export SLUICE_DEMO_MOCK_C="${SLUICE_DEMO_MOCK_C:-9003}"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_mock() { # NAME PORT
  build/tools/mock/sluice-mock --name "$1" --port "$2" --ttft 150ms --tps 40 >/dev/null &
  pids+=($!)
}
start_mock mock-a "$SLUICE_DEMO_MOCK_A"
start_mock mock-b "$SLUICE_DEMO_MOCK_B"
start_mock mock-backup "$SLUICE_DEMO_MOCK_C"

build/core/sluice -t -c conf/demo.yaml
build/core/sluice -c conf/demo.yaml &
pids+=($!)

for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://127.0.0.1:$SLUICE_DEMO_PORT/v1/models" && break
  sleep 0.1
done

api="http://127.0.0.1:$SLUICE_DEMO_PORT"
admin="http://127.0.0.1:$SLUICE_DEMO_ADMIN_PORT"
mock_a="http://127.0.0.1:$SLUICE_DEMO_MOCK_A"
cat <<MSG

sluice is running on $api (admin on $admin), in front of three mock providers:
mock-a (weight 3), mock-b (weight 1) and mock-backup (priority 1, used only when both are down).

Try, in another terminal:

  # a chat completion; x-mock-server says which provider answered (3 of 4 go to mock-a)
  curl -si $api/v1/chat/completions -H 'content-type: application/json' \\
       -d '{"model":"fast","messages":[{"role":"user","content":"Hello!"}]}'

  # the same, streamed (server-sent events arrive as the provider generates them)
  curl -N $api/v1/chat/completions -H 'content-type: application/json' \\
       -d '{"model":"smart","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

  # behind the auth and ratelimit filters: no key is a 401; a demo key
  # (sk-demo-alice) passes, with x-ratelimit-* headers; the 6th in a minute is a 429
  curl -si $api/keyed/v1/chat/completions -H 'content-type: application/json' -d '{"model":"fast"}'
  curl -si $api/keyed/v1/chat/completions -H 'authorization: Bearer sk-demo-alice' \
       -H 'content-type: application/json' -d '{"model":"fast","messages":[{"role":"user","content":"Hi"}]}'

  # no route: the gateway's own JSON error
  curl -si $api/nothing

  # statistics and metrics
  curl -s $admin/stats
  curl -s $admin/metrics | grep sluice_requests_total

  # make mock-a fail every request: clients still get 200s (failover retries on
  # mock-b; the access log line shows "retries"), and after 5 failures mock-a's
  # circuit opens (sluice_circuit_state 1) and it gets no more requests
  curl -s $mock_a/mock/config -d '{"status":503}'
  curl -s $admin/metrics | grep -E 'sluice_(circuit_state|retries_total)'
  curl -s $mock_a/mock/config -d '{"status":0}'    # healthy again: a probe closes it

  # token usage per backend, server and model
  curl -s $admin/metrics | grep sluice_tokens_total

  # take mock-a out of service, then both: mock-backup takes over
  curl -s -X POST $admin/servers/llm/mock-a -d '{"state":"maint"}'
  curl -s -X POST $admin/servers/llm/mock-b -d '{"state":"maint"}'

Press Ctrl-C to stop.
MSG
wait
