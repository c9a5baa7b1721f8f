#!/usr/bin/env bash
# ApplicationStart: start the new server. A restart, not a start: after a failed deployment
# CodeDeploy skips the next one's ApplicationStop, and `start` leaves a server that still runs
# the old binary running, which ValidateService would then find answering.
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

if use_systemd; then
  # A unit that failed too often is refused until its failure count is cleared.
  systemctl reset-failed "$SERVICE" 2>/dev/null || true
  systemctl restart "$SERVICE"
  say "restarted $SERVICE"
else
  stop_pid
  # The unit's settings, for a run without systemd.
  export COGNITO_LEARNING_LISTEN="${COGNITO_LEARNING_LISTEN:-0.0.0.0:$PORT}"
  export COGNITO_LEARNING_LOG_FILE="$APP_DIR/server.log"
  if [ -f "$CONF_DIR/server.env" ]; then
    set -a
    # shellcheck disable=SC1091
    . "$CONF_DIR/server.env"
    set +a
  fi
  nohup "$BIN" >>"$APP_DIR/server.out" 2>&1 &
  echo $! > "$PID_FILE"
  say "started pid $(cat "$PID_FILE") without systemd"
fi
