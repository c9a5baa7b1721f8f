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
