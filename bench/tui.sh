#!/usr/bin/env bash
# The guide's three targets (issue 5), measured on the release build:
#   - time to first frame: the real binary in a real terminal (tmux), 10 starts;
#   - render time with 10,000 token events buffered (examples/render_bench.rs, TestBackend);
#   - memory: the guide's resident set after it has streamed 10,000 real token events from a
#     running lab (examples/fill_stream.rs makes them: one login, then /v1/secrets requests).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
EVENTS=${EVENTS:-10000}

cargo build --release --quiet --bin cognito-learning --example render_bench --example fill_stream
bin=target/release/cognito-learning
sock="bench-tui-$$"
pids+=()
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; cleanup' EXIT

echo "# Run: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores"
echo
echo "## Time to first frame (10 starts, 120x40, tmux)"
# From just before tmux is asked to start the guide to the guide's first frame on screen
# (wall clock, written by the guide when COGNITO_LEARNING_FIRST_FRAME_FILE is set).
times=()
for i in $(seq 10); do
  f="$tmp/first-$i"
  launched=$(date +%s%N)
  tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 -s "s$i" \
    env COGNITO_LEARNING_FIRST_FRAME_FILE="$f" XDG_STATE_HOME="$tmp/state-$i" \
    "$bin" --any-ports --lab built --lessons lessons
  for _ in $(seq 200); do [ -s "$f" ] && break; sleep 0.01; done
  times+=("$(( $(cat "$f") - launched ))")
  tmux -L "$sock" send-keys -t "s$i" q
  sleep 0.3
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "first frame: median %.1f ms, max %.1f ms (target 100 ms)\n", a[int((NR+1)/2)]/1e6, a[NR]/1e6}'

echo
echo "## Render time with 10,000 token events buffered (500 frames each)"
target/release/examples/render_bench | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("| screen | p50 | p99 | max |")
print("| --- | ---: | ---: | ---: |")
for f in d["frames"]:
    print("| %s | %.3f ms | %.3f ms | %.3f ms |" % (f["screen"], f["p50_ms"], f["p99_ms"], f["max_ms"]))
print("(target: 2 ms)")
print()
for f in d["frames"]:
    if f["filter_key_ms"] > 0:
        print("typing the last key of the filter (%s): %.1f ms to re-filter 10,000 events" % (f["screen"], f["filter_key_ms"]))'

echo
echo "## Memory with $EVENTS real token events streamed from a lab"
"$bin" lab --json --alb-port 0 --cognito-port 0 --api-port 0 --server-port 0 \
  --state-dir "$tmp/lab" > "$tmp/lab.json" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/lab.json" ] && break; sleep 0.1; done
tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 -s mem \
  "exec env XDG_STATE_HOME=$tmp/state-mem $bin --state-dir $tmp/lab --lessons lessons"
sleep 1
pid=$(tmux -L "$sock" display -p -t mem '#{pane_pid}')
rss() { awk -v k="$1:" '$1==k {print $2}' "/proc/$pid/status"; }
idle=$(rss VmRSS)
sent=$(target/release/examples/fill_stream "$tmp/lab.json" "$EVENTS")
for _ in $(seq 600); do
  tmux -L "$sock" capture-pane -p -t mem | grep -q "newest of $sent" && break
  sleep 0.1
done
tmux -L "$sock" capture-pane -p -t mem | grep -o "newest of [0-9]*" || { echo "the stream never reached $sent events" >&2; exit 1; }
echo "requests with tokens: $sent"
echo "resident: $(( idle / 1024 )) MB at start, $(( $(rss VmRSS) / 1024 )) MB with the buffer full, peak $(( $(rss VmHWM) / 1024 )) MB (target 40 MB)"
tmux -L "$sock" send-keys -t mem q
