#!/usr/bin/env bash
# ValidateService: the deployment succeeds only when /v1/public answers 200 with the JSON list,
# within about 30 s (the target group's health check then finds the same).
# shellcheck source=deploy/hooks/common.sh
. "$(dirname "$0")/common.sh"

url="http://127.0.0.1:$PORT/v1/public"
for _ in $(seq 60); do
  if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null) && [[ "$body" == *'"Application Load Balancer"'* ]]; then
    say "$url answers"
    exit 0
  fi
  sleep 0.5
done
say "$url did not answer 200 within 30 s"
if use_systemd; then
  systemctl status "$SERVICE" --no-pager || true
else
  tail -n 20 "$APP_DIR/server.out" 2>/dev/null || true
fi
exit 1
