#!/usr/bin/env bash
# BeforeInstall: the service account and the directories the new files go into.
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

mkdir -p "$APP_DIR/bin" "$UNIT_DIR" "$CONF_DIR"
if [ -z "$ROOT" ] && ! id "$APP_USER" >/dev/null 2>&1; then
  useradd --system --home-dir /opt/cognito-learning --shell /sbin/nologin "$APP_USER"
  say "created user $APP_USER"
fi
# The previous binary goes: CodeDeploy refuses to overwrite files it did not install.
rm -f "$BIN"
