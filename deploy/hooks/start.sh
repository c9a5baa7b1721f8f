#!/usr/bin/env bash
# ApplicationStart: start the server.
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

if use_systemd; then
  systemctl start "$SERVICE"
  say "started $SERVICE"
else
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
