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
  stop_pid
else
  say "nothing running"
fi
