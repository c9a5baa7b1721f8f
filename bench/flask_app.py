"""The peer for the server benchmark: the app as it was first written in Python.

Flask behind waitress, the same four routes and JSON lists, and DEBUG logging of every request
and response to a log file, as the original did. It trusts the ALB header without verifying it,
as the original did too (that is one of the things the course teaches not to do).
"""

import argparse
import base64
import json
import logging

from flask import Flask, Response, request
from waitress import serve

PUBLIC = [
    {"id": 1, "name": "Application Load Balancer", "fact": "Terminates TLS and runs listener rules in order of priority."},
    {"id": 2, "name": "Amazon Cognito", "fact": "Hosts the login page and issues ID, access and refresh tokens."},
    {"id": 3, "name": "Target group", "fact": "Health-checks the app on port 5000 and receives forwarded requests."},
]
SECRETS = [
    {"id": 1, "name": "launch-code", "value": "0000 (the classic)"},
    {"id": 2, "name": "wifi-password", "value": "correct horse battery staple"},
    {"id": 3, "name": "recipe", "value": "a pinch of salt, a spoon of OAuth"},
]

app = Flask(__name__)
log = logging.getLogger("server")


@app.before_request
def log_request():
    log.debug("request %s %s headers=%s", request.method, request.full_path, dict(request.headers))


@app.after_request
def log_response(resp):
    log.debug("response %s headers=%s body=%s", resp.status, dict(resp.headers), resp.get_data(as_text=True))
    return resp


@app.get("/")
def home():
    return "<h1>cognito-learning</h1><a href='/v1/public'>public</a> <a href='/v1/secrets'>secrets</a> <a href='/logout'>logout</a>"


@app.get("/v1/public")
def public():
    return Response(json.dumps(PUBLIC), mimetype="application/json")


@app.get("/v1/secrets")
def secrets():
    data = request.headers.get("x-amzn-oidc-data")
    if not data:
        return Response(json.dumps({"error": "unauthenticated"}), status=401, mimetype="application/json")
    payload = data.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Response(json.dumps({"caller": claims, "secrets": SECRETS}), mimetype="application/json")


@app.get("/logout")
def logout():
    resp = Response("<h1>You are logged out</h1>")
    for n in range(4):
        resp.set_cookie(f"AWSELBAuthSessionCookie-{n}", "", expires=0, path="/")
    return resp


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--log", default="server.log")
    a = p.parse_args()
    logging.basicConfig(filename=a.log, level=logging.DEBUG, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(app, host="127.0.0.1", port=a.port, _quiet=True)
