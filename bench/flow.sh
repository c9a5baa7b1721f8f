#!/usr/bin/env bash
# The guide's memory with 10,000 whole exchanges in its Flow pane (issue 16: under 60 MB).
# The release guide runs in tmux on a lab of its own; examples/fill_stream.rs makes the
# traffic at a pace the guide's trace poller keeps up with (the lab keeps its last 1,000):
#   - session: one sign-in, then 5,000 requests to /v1/secrets with its cookies (each is two
#     exchanges: the browser's to the ALB, the ALB's to the app with its token headers);
#   - sign-ins: 1,250 sign-ins, each with its own cookies, code and tokens (about eight
#     exchanges each: what a class of learners would make, and the worst case for sharing).
# Resident memory (VmRSS, and the peak VmHWM) is read from /proc once the Tokens pane shows
# the last request's event; then `e` exports the Flow pane, and its HAR's entries are counted
# to show how many exchanges the guide held. BIN compares another build of the guide.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

cargo build --release --quiet --bin cognito-learning --example fill_stream
bin=$(realpath "${BIN:-target/release/cognito-learning}")
fill=target/release/examples/fill_stream
sock="bench-flow-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; cleanup' EXIT

echo "# Run: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, guide $bin"
echo
echo "| traffic | exchanges held | guide RSS at start | with them held (peak) | target |"
echo "| --- | ---: | ---: | ---: | --- |"

run() { # name, fill_stream's arguments after the lab file
  local name=$1 dir="$tmp/$1" lab pid idle sent har held
  shift
  mkdir -p "$dir"
  "$bin" lab --json --alb-port 0 --cognito-port 0 --api-port 0 --server-port 0 \
    --state-dir "$dir/lab" > "$dir/lab.json" &
  lab=$!
  pids+=("$lab")
  for _ in $(seq 100); do [ -s "$dir/lab.json" ] && break; sleep 0.1; done
  tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 -s "$name" -c "$dir" \
    "exec env XDG_STATE_HOME=$dir/state $bin --state-dir $dir/lab --lessons $PWD/lessons"
  sleep 1
  pid=$(tmux -L "$sock" display -p -t "$name" '#{pane_pid}')
  rss() { awk -v k="$1:" '$1==k {print $2}' "/proc/$pid/status"; }
  idle=$(rss VmRSS)
  sent=$("$fill" "$dir/lab.json" "$@")
  for _ in $(seq 600); do
    tmux -L "$sock" capture-pane -p -t "$name" | grep -q "newest of $sent" && break
    sleep 0.1
  done
  tmux -L "$sock" capture-pane -p -t "$name" | grep -q "newest of $sent" \
    || { echo "the guide never showed $sent token events" >&2; exit 1; }
  sleep 1 # the trace poller's last page
  local now hwm
  now=$(rss VmRSS)
  hwm=$(rss VmHWM)
  tmux -L "$sock" send-keys -t "$name" e
  for _ in $(seq 100); do
    har=$(find "$dir" -maxdepth 1 -name 'flow-*.har' | head -1)
    [ -n "$har" ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$har" 2>/dev/null && break
    sleep 0.2
  done
  held=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$har")
  echo "| $name | $held | $(( idle / 1024 )) MB | $(( now / 1024 )) MB ($(( hwm / 1024 )) MB) | under 60 MB |"
  tmux -L "$sock" send-keys -t "$name" q
  kill "$lab"
  wait "$lab" 2>/dev/null || true
}

run session 5000 500
run sign-ins signins 1250 100
