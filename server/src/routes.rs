//! The four routes, and the log record of every request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cognito_learning_contract::headers::OIDC_PREFIX;
use cognito_learning_contract::log::{IdentityVerdict, REQUEST_EVENT, Verdict};
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use cognito_learning_tokens::time::{now_millis, utc, utc_millis};
use cognito_learning_tokens::{Decoded, TokenError};

use crate::App;
use crate::auth::{ACCESS, AuthReport, Caller, DATA, IDENTITY, TokenReport};
use crate::error::ApiError;
use crate::web::{escape_html as escape, percent_encode as encode};

pub type Body = Full<Bytes>;

/// Answers one request and logs it.
pub async fn handle(app: &App, parts: Parts, peer: SocketAddr) -> Response<Body> {
    let started = Instant::now();
    let at = app.config.clock.now();
    let has_alb_headers = [DATA, ACCESS, IDENTITY]
        .iter()
        .any(|h| parts.headers.contains_key(*h));
    let report = if has_alb_headers {
        app.verifiers.report(&parts.headers, at).await
    } else {
        AuthReport::default()
    };
    let resp = route(app, &parts, &report);
    log_request(app, &parts, peer, (&report, at), &resp, started.elapsed());
    resp
}

fn route(app: &App, parts: &Parts, report: &AuthReport) -> Response<Body> {
    let path = parts.uri.path();
    let readable = parts.method == Method::GET || parts.method == Method::HEAD;
    match (readable, path) {
        (true, "/") => respond("text/html; charset=utf-8", app.pages.home.clone()),
        (true, "/v1/public") => respond("application/json", app.pages.public.clone()),
        (true, "/v1/secrets") => match app.verifiers.authorize(report) {
            Ok(caller) => respond("application/json", secrets(&caller, &app.pages.secrets)),
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

/// The secret data, serialized once: only the caller changes between responses.
fn secrets_json() -> String {
    json!([
        {"id": 1, "name": "launch-code", "value": "0000 (the classic)"},
        {"id": 2, "name": "wifi-password", "value": "correct horse battery staple"},
        {"id": 3, "name": "recipe", "value": "a pinch of salt, a spoon of OAuth"},
    ])
    .to_string()
}

fn secrets(caller: &Caller, list: &str) -> Bytes {
    let caller = serde_json::to_string(caller).unwrap_or_else(|_| "null".into());
    Bytes::from(format!(r#"{{"caller":{caller},"secrets":{list}}}"#))
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
    // browser reached the ALB over HTTPS. `Expires` in the past alone: curl 7.88 keeps a cookie
    // whose expiring Set-Cookie carries both `Expires` and a `Max-Age` of zero or less (and
    // `Max-Age` alone is lost on the oldest clients). HttpOnly, as the ALB set it.
    let https = parts
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut resp = respond("text/html; charset=utf-8", app.pages.logged_out.clone());
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for name in names {
        let cookie = format!(
            "{name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{}",
            if https { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn cookies(parts: &Parts) -> impl Iterator<Item = (&str, &str)> {
    crate::web::cookies(&parts.headers)
}

/// The pages that depend only on configuration, built once.
#[derive(Debug, Clone)]
pub struct Pages {
    pub home: Bytes,
    pub public: Bytes,
    pub secrets: String,
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
            secrets: secrets_json(),
            logged_out: Bytes::from_static(logged_out.as_bytes()),
        }
    }
}

/// A raw token or cookie value, or its length when redaction is on.
struct Raw<'a>(&'a str, bool);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            s.collect_str(&format_args!("[redacted {} bytes]", self.0.len()))
        } else {
            s.serialize_str(self.0)
        }
    }
}

/// One token header in the log: raw, verdict, and the decoded header and claims.
#[derive(Serialize)]
struct TokenRecord<'a> {
    raw: Raw<'a>,
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<MapRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<MapRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<String>,
}

/// A JSON object borrowed from a verified token, or owned from a merely decoded one.
enum MapRef<'a> {
    Borrowed(&'a Map<String, Value>),
    Owned(Map<String, Value>),
}

impl Serialize for MapRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MapRef::Borrowed(m) => m.serialize(s),
            MapRef::Owned(m) => m.serialize(s),
        }
    }
}

impl<'a> TokenRecord<'a> {
    fn new(r: &'a TokenReport, redact: bool) -> Self {
        let raw = Raw(&r.raw, redact);
        match &r.outcome {
            Ok(v) => TokenRecord {
                raw,
                verdict: Verdict::Valid,
                reason: None,
                header: Some(MapRef::Borrowed(&v.header)),
                claims: Some(MapRef::Borrowed(&v.claims)),
                exp: Some(utc(v.exp)),
            },
            Err(e) => {
                let decoded = Decoded::parse(&r.raw, 0).ok();
                let (header, claims) = decoded
                    .map(|d| (MapRef::Owned(d.header), MapRef::Owned(d.claims)))
                    .unzip();
                TokenRecord {
                    raw,
                    verdict: match e {
                        TokenError::NotConfigured(_) => Verdict::Unverified,
                        _ => Verdict::Invalid,
                    },
                    reason: Some(e.to_string()),
                    header,
                    claims,
                    exp: None,
                }
            }
        }
    }
}

#[derive(Serialize)]
struct IdentityRecord<'a> {
    raw: &'a str,
    verdict: IdentityVerdict,
}

#[derive(Serialize)]
struct AlbRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<TokenRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accesstoken: Option<TokenRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<IdentityRecord<'a>>,
}

impl<'a> AlbRecord<'a> {
    fn new(report: &'a AuthReport, redact: bool) -> Self {
        let identity = report.identity.as_deref().map(|id| {
            let sub = report
                .data
                .as_ref()
                .and_then(|d| d.outcome.as_ref().ok())
                .and_then(|v| v.claim_str("sub"));
            IdentityRecord {
                raw: id,
                verdict: match sub {
                    Some(s) if s == id => IdentityVerdict::Matches,
                    Some(_) => IdentityVerdict::DoesNotMatch,
                    None => IdentityVerdict::Unchecked,
                },
            }
        });
        AlbRecord {
            data: report.data.as_ref().map(|d| TokenRecord::new(d, redact)),
            accesstoken: report.access.as_ref().map(|a| TokenRecord::new(a, redact)),
            identity,
        }
    }
}

/// Header names and values; a name seen more than once becomes an array.
struct Headers<'a> {
    map: &'a http::HeaderMap,
    /// Request headers logged elsewhere (cookies, the ALB's token headers) are left out.
    skip_logged_elsewhere: bool,
}

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
        let mut m = s.serialize_map(None)?;
        for name in self.map.keys() {
            let n = name.as_str();
            if self.skip_logged_elsewhere && (n == "cookie" || n.starts_with(OIDC_PREFIX)) {
                continue;
            }
            let mut values = self.map.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(one), None) => m.serialize_entry(n, &text(one))?,
                _ => {
                    let all: Vec<String> = self.map.get_all(name).iter().map(text).collect();
                    m.serialize_entry(n, &all)?;
                }
            }
        }
        m.end()
    }
}

struct Cookies<'a>(&'a Parts, bool);

impl Serialize for Cookies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in cookies(self.0) {
            m.serialize_entry(k, &Raw(v, self.1))?;
        }
        m.end()
    }
}

/// The log record of one request, serialized straight from what the request borrowed.
#[derive(Serialize)]
struct RequestRecord<'a> {
    ts: String,
    level: &'static str,
    event: &'static str,
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    status: u16,
    latency_ms: f64,
    /// The address the ALB appended to X-Forwarded-For (the peer without an ALB).
    client_ip: String,
    /// The whole X-Forwarded-For chain as received: the entries before the last are unverified.
    #[serde(skip_serializing_if = "Option::is_none")]
    forwarded_for: Option<&'a str>,
    peer: SocketAddr,
    trace_id: Option<&'a str>,
    request_headers: Headers<'a>,
    cookies: Cookies<'a>,
    response_headers: Headers<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alb: Option<AlbRecord<'a>>,
    /// The time the tokens were verified against (Unix seconds), when it is not the line's: a
    /// local lab whose clock was moved forward.
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_at: Option<u64>,
}

fn log_request(
    app: &App,
    parts: &Parts,
    peer: SocketAddr,
    (report, at): (&AuthReport, u64),
    resp: &Response<Body>,
    latency: Duration,
) {
    let text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    // The ALB appends the address it saw to whatever X-Forwarded-For the client sent, so only
    // the last entry is the ALB's word; everything before it is the client's to invent.
    let forwarded_for = text("x-forwarded-for");
    let client_ip = forwarded_for
        .and_then(|x| x.rsplit(',').next())
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map_or_else(|| peer.ip().to_string(), str::to_owned);
    let redact = app.config.redact_tokens;
    let status = resp.status();
    let ms = now_millis();
    let record = RequestRecord {
        ts: utc_millis(ms),
        level: if status.is_server_error() {
            "ERROR"
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            "WARN"
        } else {
            "INFO"
        },
        event: REQUEST_EVENT,
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        status: status.as_u16(),
        latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
        client_ip,
        forwarded_for,
        peer,
        trace_id: text("x-amzn-trace-id"),
        request_headers: Headers {
            map: &parts.headers,
            skip_logged_elsewhere: true,
        },
        cookies: Cookies(parts, redact),
        response_headers: Headers {
            map: resp.headers(),
            skip_logged_elsewhere: false,
        },
        alb: (!report.is_empty()).then(|| AlbRecord::new(report, redact)),
        verified_at: (app.config.clock.offset() != 0).then_some(at),
    };
    match serde_json::to_string(&record) {
        Ok(line) => app.log.emit_line(ms, line),
        Err(e) => app
            .log
            .note("ERROR", &format!("cannot serialize a log record: {e}")),
    }
}
