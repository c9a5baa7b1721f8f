#!/usr/bin/env bash
# AfterInstall: permissions, a settings file if there is none, and the unit.
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

# The binary and the directories are root's; the service account reads and runs them, and
# writes only its log (the unit's ReadWritePaths), so a compromised server cannot replace its
# own binary. server.log holds live tokens and cookies: the account alone reads it.
chmod 0755 "$APP_DIR/bin" "$BIN"
chmod 0750 "$APP_DIR"
touch "$APP_DIR/server.log"
chmod 0600 "$APP_DIR/server.log"
if [ ! -f "$CONF_DIR/server.env" ]; then
  cat > "$CONF_DIR/server.env" <<'ENV'
# Settings for cognito-learning-server (see `cognito-learning-server --help`). Fill in your
# site, Cognito domain, user pool, app client and ALB ARN; deployments never overwrite this.
# COGNITO_LEARNING_SITE_URL=https://app.example.com
# COGNITO_LEARNING_COGNITO_DOMAIN=https://myapp.auth.eu-west-1.amazoncognito.com
# COGNITO_LEARNING_USER_POOL_ID=eu-west-1_XXXXXXXXX
# COGNITO_LEARNING_CLIENT_ID=xxxxxxxxxxxxxxxxxxxxxxxxxx
# COGNITO_LEARNING_ALB_ARN=arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/NAME/ID
ENV
  say "wrote a settings template to $CONF_DIR/server.env"
fi
if [ -z "$ROOT" ]; then
  chown root:root "$APP_DIR/bin" "$BIN"
  chown "root:$APP_USER" "$APP_DIR"
  chown "$APP_USER:$APP_USER" "$APP_DIR/server.log"
fi
if use_systemd; then
  systemctl daemon-reload
  systemctl enable "$SERVICE"
fi
