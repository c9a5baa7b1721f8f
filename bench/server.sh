#!/usr/bin/env bash
# The server against the Flask + waitress peer, side by side in one run on this machine.
#   bench/server.sh            (DURATION=10 CONNECTIONS=64 THREADS=1 to change the load)
# Prints a Markdown table for BENCHMARKS.md. Loopback only; every process is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TOKENS=${TOKENS:-8192}

need wrk
python3 -c 'import flask, waitress' 2>/dev/null || python3 -m pip install -q flask waitress

cargo build -q --release -p cognito-learning-server --bin cognito-learning-server --example bench_fixture


kport=$(free_port); rport=$(free_port); pport=$(free_port)
target/release/examples/bench_fixture "$kport" "$TOKENS" "$tmp/tokens" > "$tmp/fixture.out" &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$tmp/fixture.out" 2>/dev/null && break; sleep 0.1; done
read -r _ arn issuer keys < "$tmp/fixture.out"

target/release/cognito-learning-server --listen "127.0.0.1:$rport" --log-file "$tmp/rust.log" \
  --cloudwatch off --alb-arn "$arn" --alb-key-url "$keys" --cognito-issuer "$issuer" \
  --client-id benchclient 2>/dev/null &
pids+=($!)
python3 bench/flask_app.py --port "$pport" --log "$tmp/flask.log" &
pids+=($!)
wait_port "$rport"; wait_port "$pport"

token=$(head -n1 "$tmp/tokens")
warm "http://127.0.0.1:$rport/v1/public"; warm "http://127.0.0.1:$pport/v1/public"

read -r py_pub py_pub50 py_pub99 < <(measure "http://127.0.0.1:$pport/v1/public")
read -r rs_pub rs_pub50 rs_pub99 < <(measure "http://127.0.0.1:$rport/v1/public")
read -r rs_sec rs_sec50 rs_sec99 < <(measure -H "x-amzn-oidc-data: $token" "http://127.0.0.1:$rport/v1/secrets")
read -r rs_many rs_many50 rs_many99 < <(TOKENS_FILE="$tmp/tokens" measure -s bench/tokens.lua "http://127.0.0.1:$rport/v1/secrets")
read -r py_sec py_sec50 py_sec99 < <(measure -H "x-amzn-oidc-data: $token" "http://127.0.0.1:$pport/v1/secrets")

# Every answered request must be in each log (a benchmark that drops logging proves nothing).
rs_lines=$(wc -l < "$tmp/rust.log"); py_lines=$(wc -l < "$tmp/flask.log")

cat <<TABLE
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, loopback.

| endpoint | server | req/s | p50 | p99 |
| --- | --- | ---: | ---: | ---: |
| /v1/public | Flask + waitress (peer) | $py_pub | $py_pub50 | $py_pub99 |
| /v1/public | cognito-learning-server | $rs_pub | $rs_pub50 | $rs_pub99 |
| /v1/secrets, one token | Flask + waitress (peer, no verification) | $py_sec | $py_sec50 | $py_sec99 |
| /v1/secrets, one token | cognito-learning-server | $rs_sec | $rs_sec50 | $rs_sec99 |
| /v1/secrets, $TOKENS distinct tokens | cognito-learning-server | $rs_many | $rs_many50 | $rs_many99 |

- /v1/public: server / peer = **$(ratio "$rs_pub" "$py_pub")x** (target: at least 25x)
- /v1/secrets (one token) / /v1/public = **$(pct "$rs_sec" "$rs_pub")** (target: at least 70%)
- /v1/secrets (a fresh token each request) / /v1/public = **$(pct "$rs_many" "$rs_pub")**
- log lines written: server $rs_lines, peer $py_lines
TABLE
