# shellcheck shell=bash
# Shared by the benchmark scripts: a temporary directory and the processes to stop on exit,
# free ports, and one wrk measurement. Source it after `cd` to the repository root.
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# Installs the Debian packages named for the commands that are missing: `need wrk nginx:nginx-light`
# (command, or command:package).
need() {
  local missing=() c
  for c in "$@"; do command -v "${c%%:*}" >/dev/null || missing+=("${c#*:}"); done
  [ ${#missing[@]} -eq 0 ] || { echo "installing ${missing[*]}"; apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

# One wrk run: prints "<req/s> <p50> <p99>" and warns about errors or non-2xx answers.
measure() {
  local out rps p50 p99 errs
  out=$(wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  [ -z "$errs" ] || echo "warning: $errs" >&2
  echo "$rps $p50 $p99"
}
warm() { wrk -t1 -c8 -d1s "$@" >/dev/null; }
ratio() { python3 -c "print(f'{$1/$2:.1f}')"; }
pct() { python3 -c "print(f'{100*$1/$2:.0f}%')"; }

# A boto3 script of tests/fixtures that prints {"seconds": …}, against a lab (started with the
# extra flags in LAB_FLAGS) and against moto's server mode, alternating, RUNS times:
#   boto3_lab_vs_moto "what it times" SCRIPT ARG...
boto3_lab_vs_moto() {
  local label=$1; shift
  python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install -q 'moto[server]'
  cargo build -q --release --bin cognito-learning -p cognito-learning
  local aport cport kport sport mport lab_env r l m
  aport=$(free_port); cport=$(free_port); kport=$(free_port); sport=$(free_port); mport=$(free_port)
  # shellcheck disable=SC2086 # LAB_FLAGS is a list of flags
  target/release/cognito-learning lab --json --alb-port "$aport" --cognito-port "$cport" --api-port "$kport" \
    --server-port "$sport" --state-dir "$tmp/lab" ${LAB_FLAGS:-} > "$tmp/lab.json" &
  pids+=($!)
  python3 -m moto.server -H 127.0.0.1 -p "$mport" >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$kport"
  wait_port "$mport"
  lab_env=$(target/release/cognito-learning lab env --state-dir "$tmp/lab")
  seconds() { python3 "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'; }
  lab_run() { (eval "$lab_env"; AWS_CONFIG_FILE=/dev/null seconds "$1" "$AWS_ENDPOINT_URL" "${@:2}"); }
  moto_run() { AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=eu-west-1 AWS_CONFIG_FILE=/dev/null seconds "$1" "http://127.0.0.1:$mport" "${@:2}"; }
  lab_run "$@" >/dev/null; moto_run "$@" >/dev/null  # warm both
  echo "$label (seconds; lower is better)"
  printf '%-6s %10s %10s %8s\n' run lab moto "moto/lab"
  for r in $(seq "${RUNS:-3}"); do
    l=$(lab_run "$@"); m=$(moto_run "$@")
    printf '%-6s %10.3f %10.3f %7sx\n' "$r" "$l" "$m" "$(ratio "$m" "$l")"
  done
  echo "target: the lab at least 10x as fast as moto"
}
