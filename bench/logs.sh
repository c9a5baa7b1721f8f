#!/usr/bin/env bash
# CloudWatch Logs in the local lab, side by side in one run on this machine:
#  1. PutLogEvents throughput of the lab's stand-in and of moto's server mode, same client;
#  2. the server's /v1/public throughput with CloudWatch shipping off and on, ROUNDS times each,
#     alternating. The server has core 0 to itself and wrk has core 1. CloudWatch ingests on
#     AWS's machines; here the lines go to a sink that reads and discards them (1-2% of core 1),
#     because the lab's full stand-in would take a fifth of wrk's core. One more round ships
#     into the lab's stand-in, for comparison.
#   bench/logs.sh            (DURATION=10 CONNECTIONS=64 THREADS=1 ROUNDS=3 to change the load)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

need wrk
python3 -c 'import moto.server' 2>/dev/null || python3 -m pip install -q 'moto[server]'
cargo build -q --release --bin cognito-learning -p cognito-learning
cargo build -q --release --bin cognito-learning-server -p cognito-learning-server
cargo build -q --release -p cognito-learning-emulator --example logs_bench
cargo build -q --release -p cognito-learning-server --example discard_sink

aport=$(free_port); cport=$(free_port); kport=$(free_port); sport=$(free_port); mport=$(free_port)
dport=$(free_port)
taskset -c 1 target/release/examples/discard_sink "$dport" > "$tmp/sink.out" &
sink=$!
ROUNDS=${ROUNDS:-3}
taskset -c 1 target/release/cognito-learning lab --json --alb-port "$aport" --cognito-port "$cport" --api-port "$kport" \
  --upstream "http://127.0.0.1:$sport" --state-dir "$tmp/lab" > "$tmp/lab.json" &
pids+=($!)
python3 -m moto.server -H 127.0.0.1 -p "$mport" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/lab.json" ] && break; sleep 0.1; done
wait_port "$kport"; wait_port "$mport"
lab() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/lab.json" "$1"; }
key=$(lab aws_access_key_id); secret=$(lab aws_secret_access_key); region=$(lab region)

ours=$(target/release/examples/logs_bench "http://127.0.0.1:$kport" "$region" "$key" "$secret" 5)
theirs=$(target/release/examples/logs_bench "http://127.0.0.1:$mport" us-east-1 testing testing 5)

# The server with shipping off, or on into the sink ($2 = sink) or the lab ($2 = lab).
serve() {
  local endpoint="http://127.0.0.1:$kport"
  [ "${2:-}" = sink ] && endpoint="http://127.0.0.1:$dport"
  AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_ENDPOINT_URL="$endpoint" \
    taskset -c 0 target/release/cognito-learning-server --listen "127.0.0.1:$sport" --log-file "$tmp/server-$1.log" \
    --region "$region" --cloudwatch "$1" 2>"$tmp/server-$1.err" &
  spid=$!
  wait_port "$sport"
  sleep 1
  taskset -c 1 wrk -t1 -c8 -d1s "http://127.0.0.1:$sport/v1/public" >/dev/null
  # The server's own CPU time (user + system, clock ticks) across the measured run.
  local before after lines result
  before=$(awk '{print $14 + $15}' "/proc/$spid/stat")
  lines=$(wc -l < "$tmp/server-$1.log")
  result=$(measure_on 1 ${PACED:+-s bench/paced.lua} "http://127.0.0.1:$sport/v1/public")
  after=$(awk '{print $14 + $15}' "/proc/$spid/stat")
  lines=$(( $(wc -l < "$tmp/server-$1.log") - lines ))
  echo "server, cloudwatch $1: $((after - before)) CPU ticks for $lines requests" >&2
  kill -TERM "$spid"; wait "$spid" 2>/dev/null || true
  # µs of server CPU per request logged during the run
  echo "$result $(python3 -c "print(f'{($after-$before)*1e6/$(getconf CLK_TCK)/max($lines,1):.1f}')")"
}
measure_on() { local cpu=$1; shift; taskset -c "$cpu" bash -c "$(declare -f measure); THREADS=$THREADS CONNECTIONS=$CONNECTIONS DURATION=$DURATION measure $(printf '%q ' "$@")"; }
rows=""
for round in $(seq "$ROUNDS"); do
  read -r off off50 off99 offcpu < <(serve off)
  read -r on on50 on99 oncpu < <(serve on sink)
  rows+="| $round | $off | $on | $(python3 -c "print(f'{100*($on/$off-1):+.1f}%')") | $offcpu µs | $oncpu µs | $(python3 -c "print(f'{100*($oncpu/$offcpu-1):+.1f}%')") |"$'\n'
  costs+=("$(python3 -c "print(100*(1-$on/$off))")")
  cpus+=("$(python3 -c "print(100*($oncpu/$offcpu-1))")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
median_cost=$(median "${costs[@]}"); median_cpu=$(median "${cpus[@]}")
read -r lab_on lab50 lab99 labcpu < <(serve on lab)
# At a fixed rate, below what the server can answer: the same work either way, so the CPU per
# request compares like with like.
paced_rows=""
for round in $(seq "$ROUNDS"); do
  read -r poff _ _ poffcpu < <(PACED=1 serve off)
  read -r pon _ _ poncpu < <(PACED=1 serve on sink)
  paced_rows+="| $round | $poff | $pon | $poffcpu µs | $poncpu µs | $(python3 -c "print(f'{100*($poncpu/$poffcpu-1):+.1f}%')") |"$'\n'
  pcpus+=("$(python3 -c "print(100*($poncpu/$poffcpu-1))")")
done
median_paced=$(median "${pcpus[@]}")
kill -TERM "$sink"; wait "$sink" 2>/dev/null || true
shipped_note=$(grep -h "not shipped\|unavailable" "$tmp/server-on.err" | head -1 || true)

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
cat <<TABLE
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, loopback.

PutLogEvents, 8 writers, batches of 100 events of 200 bytes, 5 s, aws-sdk-cloudwatchlogs:

| endpoint | calls/s | events/s |
| --- | ---: | ---: |
| lab stand-in (SigV4 checked) | $(field "$ours" calls_per_s) | $(field "$ours" events_per_s) |
| moto server mode | $(field "$theirs" calls_per_s) | $(field "$theirs" events_per_s) |

- lab / moto: **$(python3 -c "print(f'{$(field "$ours" events_per_s)/$(field "$theirs" events_per_s):.1f}x')")**

The server's /v1/public, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, logging every request to server.log;
the server alone on core 0, wrk and the sink on core 1, shipping off and on (into the sink) in turn:

| round | req/s off | req/s on | on vs off | server CPU per request, off | on | on vs off |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}| into the lab | | $lab_on | | | $labcpu µs | |

- shipping's cost in requests per second, median of $ROUNDS: **$(python3 -c "print(f'{$median_cost:.1f}%')")** (target: under 10%); in server CPU per request: **$(python3 -c "print(f'{$median_cpu:+.1f}%')")**
At a fixed rate (each of the 64 connections waits 2 ms between requests, \`bench/paced.lua\`):

| round | req/s off | req/s on | server CPU per request, off | on | on vs off |
| --- | ---: | ---: | ---: | ---: | ---: |
${paced_rows}
- shipping's cost in server CPU per request at a fixed rate, median of $ROUNDS: **$(python3 -c "print(f'{$median_paced:+.1f}%')")**
- bytes the sink received: $(cat "$tmp/sink.out") ${shipped_note:+— note: $shipped_note}
TABLE
