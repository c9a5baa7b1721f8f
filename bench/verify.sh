#!/usr/bin/env bash
# Token verification in the server, this build against another, side by side in one run:
# /v1/secrets with a fresh ALB token on every request (8,192 distinct tokens, so the server's
# verification cache rarely helps), the two servers measured in turn, ROUNDS times each.
#   BASE=<git rev> bench/verify.sh       builds that revision's server to compare with
#   BASE_SERVER=<path> bench/verify.sh   or uses a server binary built already
# Prints a Markdown table for BENCHMARKS.md. Loopback only; every process is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TOKENS=${TOKENS:-8192}
ROUNDS=${ROUNDS:-3}

need wrk
cargo build -q --release -p cognito-learning-server --bin cognito-learning-server --example bench_fixture

base=${BASE_SERVER:-}
if [ -z "$base" ]; then
  rev=${BASE:?give BASE=<git rev> or BASE_SERVER=<path>}
  git worktree add -f -q "$tmp/base" "$rev"
  (cd "$tmp/base" && CARGO_TARGET_DIR="$PWD/../base-target" cargo build -q --release -p cognito-learning-server --bin cognito-learning-server)
  base="$tmp/base-target/release/cognito-learning-server"
  trap 'cleanup; git worktree prune' EXIT
fi

kport=$(free_port); nport=$(free_port); bport=$(free_port)
target/release/examples/bench_fixture "$kport" "$TOKENS" "$tmp/tokens" > "$tmp/fixture.out" &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$tmp/fixture.out" 2>/dev/null && break; sleep 0.1; done
read -r _ arn issuer keys < "$tmp/fixture.out"
serve() {
  "$1" --listen "127.0.0.1:$2" --log-file "$tmp/$2.log" --cloudwatch off --alb-arn "$arn" \
    --alb-key-url "$keys" --cognito-issuer "$issuer" --client-id benchclient 2>/dev/null &
  pids+=($!)
}
serve target/release/cognito-learning-server "$nport"
serve "$base" "$bport"
wait_port "$nport"; wait_port "$bport"

rows=""; sum_new=0; sum_base=0
for r in $(seq "$ROUNDS"); do
  read -r b _ _ < <(TOKENS_FILE="$tmp/tokens" measure -s bench/tokens.lua "http://127.0.0.1:$bport/v1/secrets")
  read -r n _ _ < <(TOKENS_FILE="$tmp/tokens" measure -s bench/tokens.lua "http://127.0.0.1:$nport/v1/secrets")
  rows+="| $r | $b | $n | $(pct "$n" "$b") |"$'\n'
  sum_new=$(python3 -c "print($sum_new + $n)"); sum_base=$(python3 -c "print($sum_base + $b)")
done

cat <<TABLE
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, loopback,
/v1/secrets with $TOKENS distinct ALB tokens; base: ${BASE:-$base}.

| round | base req/s | this build req/s | this build ÷ base |
| --- | ---: | ---: | ---: |
${rows}
- over all rounds, this build ÷ base: **$(pct "$sum_new" "$sum_base")** (target: within 5%)
TABLE
