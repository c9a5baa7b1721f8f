#!/usr/bin/env bash
# The load balancer's part of the course's build in boto3 (tests/fixtures/build_track.py peers:
# lessons 5, 8, 10, 13 and 15, 26 ELBv2 calls a round), against the lab (blank) and moto's server mode,
# side by side in one run on this machine, ROUNDS rounds each, alternating, same client.
#   bench/elb.sh            (ROUNDS=20 RUNS=3 to change it)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install -q 'moto[server]'
cargo build -q --release --bin cognito-learning -p cognito-learning
ROUNDS=${ROUNDS:-20}
RUNS=${RUNS:-3}

aport=$(free_port); cport=$(free_port); kport=$(free_port); sport=$(free_port); mport=$(free_port)
target/release/cognito-learning lab --json --alb-port "$aport" --cognito-port "$cport" --api-port "$kport" \
  --server-port "$sport" --state-dir "$tmp/lab" --blank > "$tmp/lab.json" &
pids+=($!)
python3 -m moto.server -H 127.0.0.1 -p "$mport" >/dev/null 2>&1 &
pids+=($!)
wait_port "$kport"
wait_port "$mport"
lab_env=$(target/release/cognito-learning lab env --state-dir "$tmp/lab")

build() { # endpoint, then the environment's credentials: prints the seconds
  python3 tests/fixtures/build_track.py "$1" peers "$ROUNDS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
lab_run() { (eval "$lab_env"; AWS_CONFIG_FILE=/dev/null build "$AWS_ENDPOINT_URL"); }
moto_run() { AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1 AWS_CONFIG_FILE=/dev/null build "http://127.0.0.1:$mport"; }

lab_run >/dev/null; moto_run >/dev/null  # warm both
echo "the load balancer's build, $ROUNDS rounds, boto3 (seconds; lower is better)"
printf '%-6s %10s %10s %8s\n' run lab moto "moto/lab"
for r in $(seq "$RUNS"); do
  l=$(lab_run); m=$(moto_run)
  printf '%-6s %10.3f %10.3f %7sx\n' "$r" "$l" "$m" "$(ratio "$m" "$l")"
done
echo "target: the lab at least 10x as fast as moto"
