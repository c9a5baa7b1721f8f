//! The four routes, and the log record of every request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value, json};

use cognito_learning_tokens::time::{now, utc};
use cognito_learning_tokens::{Decoded, TokenError};

use crate::App;
use crate::auth::{ACCESS, AuthReport, Caller, DATA, IDENTITY, TokenReport};
use crate::error::ApiError;

pub type Body = Full<Bytes>;

/// Answers one request and logs it.
pub async fn handle(app: &App, parts: Parts, peer: SocketAddr) -> Response<Body> {
    let started = Instant::now();
    let has_alb_headers = [DATA, ACCESS, IDENTITY]
        .iter()
        .any(|h| parts.headers.contains_key(*h));
    let report = if has_alb_headers {
        app.verifiers.report(&parts.headers, now()).await
    } else {
        AuthReport::default()
    };
    let resp = route(app, &parts, &report);
    log_request(app, &parts, peer, &report, &resp, started.elapsed());
    resp
}

fn route(app: &App, parts: &Parts, report: &AuthReport) -> Response<Body> {
    let path = parts.uri.path();
    let readable = parts.method == Method::GET || parts.method == Method::HEAD;
    match (readable, path) {
        (true, "/") => respond("text/html; charset=utf-8", app.pages.home.clone()),
        (true, "/v1/public") => respond("application/json", app.pages.public.clone()),
        (true, "/v1/secrets") => match app.verifiers.authorize(report) {
            Ok(caller) => respond("application/json", Bytes::from(secrets(&caller))),
            Err(e) => e.into_response(),
        },
        (true, "/logout") => logout(app, parts),
        (false, "/" | "/v1/public" | "/v1/secrets" | "/logout") => {
            ApiError::MethodNotAllowed(parts.method.to_string()).into_response()
        }
        (_, other) => ApiError::NotFound(other.to_owned()).into_response(),
    }
}

fn respond(content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The public data: anyone may read it, through the ALB or not.
pub fn public_json() -> Bytes {
    Bytes::from(
        json!([
            {"id": 1, "name": "Application Load Balancer", "fact": "Terminates TLS and runs listener rules in order of priority."},
            {"id": 2, "name": "Amazon Cognito", "fact": "Hosts the login page and issues ID, access and refresh tokens."},
            {"id": 3, "name": "Target group", "fact": "Health-checks the app on port 5000 and receives forwarded requests."},
        ])
        .to_string(),
    )
}

fn secrets(caller: &Caller) -> String {
    json!({
        "caller": caller,
        "secrets": [
            {"id": 1, "name": "launch-code", "value": "0000 (the classic)"},
            {"id": 2, "name": "wifi-password", "value": "correct horse battery staple"},
            {"id": 3, "name": "recipe", "value": "a pinch of salt, a spoon of OAuth"},
        ],
    })
    .to_string()
}

/// Expires every ALB session cookie shard this browser holds (at least -0 and -1).
///
/// This alone is the seed's trap: the Cognito hosted-UI session lives on at the Cognito domain,
/// so the next visit to /v1/secrets logs straight back in. The home page's Logout link goes
/// through Cognito's /logout first, which ends that session and then redirects here.
fn logout(app: &App, parts: &Parts) -> Response<Body> {
    let prefix = format!("{}-", app.config.session_cookie);
    let mut names = vec![format!("{prefix}0"), format!("{prefix}1")];
    for (name, _) in cookies(parts) {
        if name
            .strip_prefix(&prefix)
            .is_some_and(|n| n.parse::<u8>().is_ok())
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    // A cookie set as Secure can only be replaced from a secure origin; say Secure when the
    // browser reached the ALB over HTTPS.
    let https = parts
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut resp = respond("text/html; charset=utf-8", app.pages.logged_out.clone());
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for name in names {
        let cookie = format!(
            "{name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=-1{}",
            if https { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn cookies(parts: &Parts) -> impl Iterator<Item = (&str, &str)> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

/// The pages that depend only on configuration, built once.
#[derive(Debug, Clone)]
pub struct Pages {
    pub home: Bytes,
    pub public: Bytes,
    pub logged_out: Bytes,
}

impl Pages {
    pub fn new(config: &crate::Config) -> Self {
        let logout_href = match &config.client_id {
            Some(client) => format!(
                "{}/logout?client_id={}&logout_uri={}",
                config.cognito_domain,
                encode(client),
                encode(&format!("{}/logout", config.site_url))
            ),
            None => "/logout".to_owned(),
        };
        let home = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cognito-learning</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5}}code{{background:#eee;padding:0 .2em}}</style>
</head><body>
<h1>cognito-learning</h1>
<p>A small app behind an Application Load Balancer that asks Amazon Cognito who you are.</p>
<ul>
<li><a href="/v1/public">Public data</a>: anyone may read it.</li>
<li><a href="/v1/secrets">Secret data</a>: the load balancer sends you to log in first, then tells the app who you are in a signed header.</li>
<li><a id="logout" href="{}">Logout</a>: ends your Cognito session, then clears the load balancer's session cookies.</li>
</ul>
</body></html>
"#,
            escape(&logout_href)
        );
        let logged_out = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logged out · cognito-learning</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5}</style>
</head><body>
<h1>You are logged out</h1>
<p>The load balancer's session cookies are gone from this browser.</p>
<p>If you came here directly rather than through the Logout link, your Cognito session is still
alive: <a href="/v1/secrets">the secret data</a> will log you straight back in, without a password.</p>
<p><a href="/">Home</a></p>
</body></html>
"#;
        Pages {
            home: Bytes::from(home),
            public: public_json(),
            logged_out: Bytes::from_static(logged_out.as_bytes()),
        }
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved set.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn redacted(app: &App, raw: &str) -> Value {
    if app.config.redact_tokens {
        format!("[redacted {} bytes]", raw.len()).into()
    } else {
        raw.into()
    }
}

fn token_json(app: &App, r: &TokenReport) -> Value {
    let mut o = Map::new();
    o.insert("raw".into(), redacted(app, &r.raw));
    match &r.outcome {
        Ok(v) => {
            o.insert("verdict".into(), "valid".into());
            o.insert("header".into(), Value::Object(v.header.clone()));
            o.insert("claims".into(), Value::Object(v.claims.clone()));
            o.insert("exp".into(), utc(v.exp).into());
        }
        Err(e) => {
            let verdict = match e {
                TokenError::NotConfigured(_) => "unverified",
                _ => "invalid",
            };
            o.insert("verdict".into(), verdict.into());
            o.insert("reason".into(), e.to_string().into());
            if let Ok(d) = Decoded::parse(&r.raw, 0) {
                o.insert("header".into(), Value::Object(d.header));
                o.insert("claims".into(), Value::Object(d.claims));
            }
        }
    }
    Value::Object(o)
}

fn alb_json(app: &App, report: &AuthReport) -> Value {
    let mut o = Map::new();
    if let Some(d) = &report.data {
        o.insert("data".into(), token_json(app, d));
    }
    if let Some(a) = &report.access {
        o.insert("accesstoken".into(), token_json(app, a));
    }
    if let Some(id) = &report.identity {
        let sub = report
            .data
            .as_ref()
            .and_then(|d| d.outcome.as_ref().ok())
            .and_then(|v| v.claim_str("sub"));
        let verdict = match sub {
            Some(s) if s == id => "matches the verified sub",
            Some(_) => "does not match the verified sub",
            None => "unchecked: no verified x-amzn-oidc-data",
        };
        o.insert("identity".into(), json!({"raw": id, "verdict": verdict}));
    }
    Value::Object(o)
}

fn log_request(
    app: &App,
    parts: &Parts,
    peer: SocketAddr,
    report: &AuthReport,
    resp: &Response<Body>,
    latency: Duration,
) {
    let text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let client_ip = text("x-forwarded-for")
        .and_then(|x| x.split(',').next())
        .map(str::trim)
        .map_or_else(|| peer.ip().to_string(), str::to_owned);
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if name == "cookie" || name.starts_with("x-amzn-oidc-") {
            continue; // logged below, decoded or redactable
        }
        headers.insert(
            name.to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into(),
        );
    }
    let cookies: Map<String, Value> = cookies(parts)
        .map(|(k, v)| (k.to_owned(), redacted(app, v)))
        .collect();
    let mut resp_headers = Map::new();
    for (name, value) in resp.headers() {
        let v: Value = String::from_utf8_lossy(value.as_bytes()).into();
        match resp_headers.get_mut(name.as_str()) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.take(), v]),
            None => {
                resp_headers.insert(name.as_str().to_owned(), v);
            }
        }
    }
    let mut fields = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "status": resp.status().as_u16(),
        "latency_ms": (latency.as_secs_f64() * 1e6).round() / 1e3,
        "client_ip": client_ip,
        "peer": peer.to_string(),
        "trace_id": text("x-amzn-trace-id"),
        "request_headers": headers,
        "cookies": cookies,
        "response_headers": resp_headers,
    });
    if !report.is_empty()
        && let Value::Object(f) = &mut fields
    {
        f.insert("alb".into(), alb_json(app, report));
    }
    let level = if resp.status().is_server_error() {
        "ERROR"
    } else if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
        "WARN"
    } else {
        "INFO"
    };
    app.log.emit(level, "request", fields);
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(
            encode("http://localhost:8080/logout"),
            "http%3A%2F%2Flocalhost%3A8080%2Flogout"
        );
        assert_eq!(encode("a-b_c.d~e f"), "a-b_c.d~e%20f");
    }
}
