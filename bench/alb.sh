#!/usr/bin/env bash
# The local lab's ALB stand-in: complete logins, and forwarding compared with nginx proxy_pass
# in front of the same server, in one run on this machine.
#   bench/alb.sh            (DURATION=10 CONNECTIONS=64 THREADS=1 to change the load;
#                            LAB=path/to/cognito-learning to measure another build's ALB)
# Prints a Markdown table for BENCHMARKS.md. Loopback only; every process is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

need wrk nginx:nginx-light

cargo build -q --release --bin cognito-learning -p cognito-learning
cargo build -q --release --bin cognito-learning-server -p cognito-learning-server
cargo build -q --release -p cognito-learning --example login_bench

# 1. Logins: the example starts its own lab in-process.
logins=$(target/release/examples/login_bench)

# 2. Forwarding: the app in its own process, the ALB stand-in and nginx each in front of it.
aport=$(free_port); cport=$(free_port); kport=$(free_port); sport=$(free_port); nport=$(free_port)
LAB=${LAB:-target/release/cognito-learning}
"$LAB" lab --json --alb-port "$aport" --cognito-port "$cport" --api-port "$kport" \
  --upstream "http://127.0.0.1:$sport" --state-dir "$tmp/lab" > "$tmp/lab.json" &
lab_pid=$!
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/lab.json" ] && break; sleep 0.1; done
lab() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/lab.json" "$1"; }
alb=$(lab alb); cognito=$(lab cognito)
target/release/cognito-learning-server --listen "127.0.0.1:$sport" --log-file "$tmp/server.log" --cloudwatch off \
  --site-url "$alb" --cognito-domain "$cognito" --client-id "$(lab client_id)" --region "$(lab region)" \
  --cognito-issuer "$(lab issuer)" --alb-arn "$(lab alb_arn)" --alb-key-url "$(lab alb_key_url)" \
  --required-group secret-readers 2>/dev/null &
pids+=($!)
wait_port "$aport"; wait_port "$sport"
cookie=$(target/release/examples/login_bench cookie "$alb" "$cognito")
# The headers the ALB sent for that login, as the app logged them (the data token lives 120 s).
read -r token access < <(python3 -c '
import json, sys
last = None
for line in open(sys.argv[1]):
    alb = json.loads(line).get("alb", {})
    if alb.get("data", {}).get("raw"):
        last = (alb["data"]["raw"], alb["accesstoken"]["raw"])
print(*last)' "$tmp/server.log")

mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
  upstream app { server 127.0.0.1:$sport; keepalive 64; }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGINX
nginx -c "$tmp/nginx/nginx.conf" &
nginx_pid=$!
pids+=($!)
wait_port "$nport"

warm "http://127.0.0.1:$nport/v1/public"; warm "$alb/v1/public"

# CPU seconds (user + system, in clock ticks) of a process and its children's threads.
ticks() {
  local total=0 p
  for p in "$@" $(pgrep -P "$1" || true); do
    read -r -a f < "/proc/$p/stat"
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
# One wrk run through a proxy: "<req/s> <p50> <p99> <proxy CPU µs per request>".
measure_cpu() {
  local pid=$1; shift
  local before after out rps
  before=$(ticks "$pid")
  out=$(wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@")
  after=$(ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local n; n=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $(awk '$1=="50%" {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out") \
    $(python3 -c "print(f'{($after-$before)/$hz/$n*1e6:.1f}')")"
}
read -r ng_pub ng_pub50 ng_pub99 ng_pub_cpu < <(measure_cpu "$nginx_pid" "http://127.0.0.1:$nport/v1/public")
read -r al_pub al_pub50 al_pub99 al_pub_cpu < <(measure_cpu "$lab_pid" "$alb/v1/public")
# nginx passes on what it is sent: the ALB's headers, and the session cookie a browser would
# send, which the ALB forwards too; so the app behind either proxy does the same work (it logs
# every cookie it receives).
read -r ng_sec ng_sec50 ng_sec99 ng_sec_cpu < <(measure_cpu "$nginx_pid" -H "x-amzn-oidc-data: $token" -H "x-amzn-oidc-accesstoken: $access" -H "Cookie: $cookie" "http://127.0.0.1:$nport/v1/secrets")
read -r al_sec al_sec50 al_sec99 al_sec_cpu < <(measure_cpu "$lab_pid" -H "Cookie: $cookie" "$alb/v1/secrets")

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$logins" "$1"; }
cat <<TABLE
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, loopback.

Complete logins (six requests over two hosts, a fresh cookie jar each, $(field workers) at once):
p50 **$(field login_p50_ms) ms**, p99 $(field login_p99_ms) ms (target: under 5 ms);
**$(field logins_per_s) logins/s** (target: at least 200).

| route | proxy in front of the app | req/s | p50 | p99 | proxy CPU per request |
| --- | --- | ---: | ---: | ---: | ---: |
| /v1/public | nginx proxy_pass | $ng_pub | $ng_pub50 | $ng_pub99 | $ng_pub_cpu µs |
| /v1/public | ALB stand-in, forward rule | $al_pub | $al_pub50 | $al_pub99 | $al_pub_cpu µs |
| /v1/secrets | nginx proxy_pass, the ALB's headers and the session cookie replayed | $ng_sec | $ng_sec50 | $ng_sec99 | $ng_sec_cpu µs |
| /v1/secrets | ALB stand-in, session cookie, authenticate-cognito | $al_sec | $al_sec50 | $al_sec99 | $al_sec_cpu µs |

- forwarding, ALB stand-in / nginx: **$(pct "$al_pub" "$ng_pub")** (target: at least 75%)
- authenticated requests, ALB stand-in / nginx: **$(pct "$al_sec" "$ng_sec")** (target: at least 75%)
TABLE
