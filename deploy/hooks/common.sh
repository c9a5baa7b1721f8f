# Shared by the CodeDeploy hooks. ROOT prefixes every path, so the hooks can be exercised in a
# scratch directory; on an instance it is empty. Without systemd (a container, a test) the
# server is run directly with a pid file, so the same steps can be checked anywhere.
# shellcheck shell=bash disable=SC2034  # the variables are for the hooks that source this
set -euo pipefail

ROOT="${COGNITO_LEARNING_ROOT:-}"
APP_DIR="$ROOT/opt/cognito-learning"
BIN="$APP_DIR/bin/cognito-learning-server"
UNIT_DIR="$ROOT/etc/systemd/system"
CONF_DIR="$ROOT/etc/cognito-learning"
SERVICE=cognito-learning-server
APP_USER=cognito-learning
PID_FILE="$APP_DIR/server.pid"
PORT="${COGNITO_LEARNING_PORT:-5000}"

say() { printf '%s: %s\n' "$(basename "$0")" "$*"; }

# systemd is in charge only on a real instance: PID 1 is systemd and no ROOT is set.
use_systemd() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

# Without systemd: stops the server whose pid the pid file holds, if it still runs, giving it
# up to 20 s for open requests and the log to be flushed, as systemd would allow.
stop_pid() {
  [ -f "$PID_FILE" ] || return 0
  local pid
  pid=$(cat "$PID_FILE")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "stopped pid $pid"
  fi
  rm -f "$PID_FILE"
}
