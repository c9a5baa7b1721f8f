#!/usr/bin/env bash
# The lab's memory under sustained load: 100,000 complete logins, then 1,000,000 requests
# through the ALB (half of them authenticated, each logged with its tokens by the app and shipped
# to the lab's CloudWatch Logs), with the lab's resident memory sampled every second.
#   bench/memory.sh            (LOGINS=100000 REQUESTS=1000000 to change the load)
# Prints the RSS curve and a summary for BENCHMARKS.md. Loopback only; every process is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
LOGINS=${LOGINS:-100000}
REQUESTS=${REQUESTS:-1000000}

need wrk
cargo build -q --release --bin cognito-learning -p cognito-learning
cargo build -q --release -p cognito-learning --example login_bench

aport=$(free_port); cport=$(free_port); kport=$(free_port); sport=$(free_port)
target/release/cognito-learning lab --json --alb-port "$aport" --cognito-port "$cport" --api-port "$kport" \
  --server-port "$sport" --state-dir "$tmp/lab" > "$tmp/lab.json" 2>"$tmp/lab.err" &
lab_pid=$!
pids+=("$lab_pid")
for _ in $(seq 100); do [ -s "$tmp/lab.json" ] && break; sleep 0.1; done
lab() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/lab.json" "$1"; }
alb=$(lab alb); cognito=$(lab cognito)
wait_port "$aport"

rss() { awk '/^VmRSS/ {print int($2/1024)}' "/proc/$lab_pid/status"; }
start=$(date +%s)
: > "$tmp/curve"
( while kill -0 "$lab_pid" 2>/dev/null; do
    echo "$(( $(date +%s) - start )) $(rss) $(cat "$tmp/phase" 2>/dev/null || echo idle)" >> "$tmp/curve"
    sleep 1
  done ) &
pids+=($!)

echo "start" > "$tmp/phase"
rss_start=$(rss)
echo "logins" > "$tmp/phase"
done_logins=$(target/release/examples/login_bench logins "$alb" "$cognito" "$LOGINS")
rss_logins=$(rss)

cookie=$(target/release/examples/login_bench cookie "$alb" "$cognito")
sent=0
round=0
while [ "$sent" -lt "$REQUESTS" ]; do
  round=$((round + 1))
  echo "requests" > "$tmp/phase"
  for path in /v1/secrets /v1/public; do
    out=$(wrk -t1 -c32 -d5s -H "Cookie: $cookie" "$alb$path")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    sent=$((sent + n))
  done
  # Past the first rounds the stores are full: every later sample is steady state.
  [ "$round" -eq 2 ] && rss_warm=$(rss)
done
rss_end=$(rss)
hwm=$(awk '/^VmHWM/ {print int($2/1024)}' "/proc/$lab_pid/status")
sleep 1

echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $done_logins logins, then $sent requests (wrk -t1 -c32, 5 s rounds, /v1/secrets with a session and /v1/public alternating)."
echo
echo "| seconds | phase | lab RSS (MB) |"
echo "| ---: | --- | ---: |"
awk 'NR % 10 == 1 {print "| " $1 " | " $3 " | " $2 " |"}' "$tmp/curve"
echo
echo "- at start: **$rss_start MB**; after $done_logins logins: **$rss_logins MB**; after two request rounds (warm): **$rss_warm MB**; after $sent requests: **$rss_end MB** (peak $hwm MB)"
echo "- growth after warm-up: **$(( rss_end - rss_warm )) MB** (target: within 10 MB); at the end: **$rss_end MB** (target: under 200 MB)"
