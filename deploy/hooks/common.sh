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
