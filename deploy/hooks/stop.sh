#!/usr/bin/env bash
# ApplicationStop: stop the running server, if there is one. CodeDeploy runs this hook from the
# revision deployed before, so it must succeed on a fresh instance too.
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

if use_systemd; then
  if systemctl is-active --quiet "$SERVICE"; then
    systemctl stop "$SERVICE"
    say "stopped $SERVICE"
  else
    say "$SERVICE was not running"
  fi
elif [ -f "$PID_FILE" ]; then
  pid=$(cat "$PID_FILE")
  if kill "$pid" 2>/dev/null; then
    # Up to 20 s for open requests and the log to be flushed, as systemd would allow.
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "stopped pid $pid"
  fi
  rm -f "$PID_FILE"
else
  say "nothing running"
fi
