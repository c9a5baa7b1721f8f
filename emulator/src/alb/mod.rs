//! The ALB stand-in: listener rules, the `authenticate-cognito` action and forwarding.
//!
//! The flow follows the ALB user guide: a request without a valid session cookie is sent to the
//! IdP's authorize endpoint (parameters in the order real captures show, an opaque `state` and an
//! `AWSALBAuthNonce` cookie); `/oauth2/idpresponse` checks both, swaps the code for tokens on the
//! back channel, validates the ID token, calls userInfo and sets `AWSELBAuthSessionCookie-0…3`;
//! later requests are forwarded with `x-amzn-oidc-accesstoken`, `x-amzn-oidc-identity` and an
//! ES256-signed `x-amzn-oidc-data`, which replace any a client sent under those names. A rule
//! that only forwards passes a client's such headers on, as AWS documents no stripping there.

mod forward;
mod idp;
mod login;
mod opened;
pub mod rules;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};

use cognito_learning_server::escape_html;
use cognito_learning_tokens::sign::{AlbHeader, AlbSigner};
use cognito_learning_tokens::time::{http_date, now};
use cognito_learning_tokens::{CognitoVerifier, Jwt, TokenUse};

use crate::http::{Req, Resp, add_cookie, encode, redirect, response};
use crate::state::random_alnum;
use crate::trace::short;
use crate::trace::{Actor, Trace};
use opened::{Opened, OpenedCache};
use rules::{Action, AuthConfig, OnUnauthenticated, Rule};
use session::{LoginState, MAX_CLAIMS, MAX_SHARDS, Sealer, Session, shard, unshard};

pub const NONCE_COOKIE: &str = "AWSALBAuthNonce";
/// A login must finish within 15 minutes of its start.
pub const LOGIN_WINDOW: u64 = 15 * 60;
/// `x-amzn-oidc-data` lives two minutes.
const DATA_TTL: u64 = 120;
/// The session cookie's own expiry, whatever the session timeout.
const COOKIE_DAYS: u64 = 7;
const BACK_CHANNEL_TIMEOUT: Duration = Duration::from_secs(5);

/// The IdP endpoints and client the rule uses (the ALB reads the secret from Cognito).
#[derive(Debug, Clone)]
pub struct Idp {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug)]
pub struct Alb {
    pub arn: String,
    rules: Vec<Rule>,
    idp: Idp,
    /// Port the browser connects to, for `X-Forwarded-Port`.
    port: u16,
    /// Seconds a login may take from the redirect to the callback: 15 minutes on AWS, fixed;
    /// shorter only in tests.
    pub login_window: u64,
    signer: AlbSigner,
    sealer: Sealer,
    id_tokens: CognitoVerifier,
    http: Client<HttpConnector, Full<Bytes>>,
    trace: Arc<Trace>,
    /// Sessions already opened, by their cookie text (which always opens to the same session),
    /// with what is forwarded for them; expiry is still checked on every request.
    sessions: OpenedCache,
    /// `X-Forwarded-Port`, the same for every request.
    forwarded_port: HeaderValue,
}

/// Opened sessions remembered; past this the map starts afresh.
const SESSION_CACHE: usize = 2048;

/// What the authenticate action decided.
enum Auth {
    /// A verified session, and cookies to set if it was refreshed.
    User(Arc<Opened>, Vec<String>),
    /// `allow`: forward without claims.
    Anonymous,
    Respond(Resp),
}

/// A page in the ALB's own voice (`Server: awselb/2.0`). The reason code, which the real ALB
/// writes only to its access log, is kept in a comment for the learner.
fn alb_page(status: u16, reason: &str) -> Resp {
    let title = match status {
        400 => "400 Bad Request",
        401 => "401 Authorization Required",
        405 => "405 Method Not Allowed",
        500 => "500 Internal Server Error",
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        561 => "561 Authentication Error",
        _ => "Error",
    };
    // The reason can carry what a client sent (the IdP's `error`, a header): escaped, it can
    // neither close the comment nor open a tag on the app's origin.
    let reason = escape_html(reason);
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<!-- {reason} -->\r\n</body>\r\n</html>\r\n"
    );
    let mut r = response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "text/html",
        body,
    );
    r.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
    r
}

impl Alb {
    pub fn new(
        arn: String,
        rules: Vec<Rule>,
        idp: Idp,
        port: u16,
        signer: AlbSigner,
        session_key: &[u8; 32],
        trace: Arc<Trace>,
    ) -> Self {
        let mut rules = rules;
        rules.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
        let id_tokens = CognitoVerifier::new(&idp.issuer, &idp.client_id);
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            arn,
            rules,
            idp,
            port,
            login_window: LOGIN_WINDOW,
            signer,
            sealer: Sealer::new(session_key),
            id_tokens,
            http: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build(connector),
            trace,
            sessions: OpenedCache::new(SESSION_CACHE),
            forwarded_port: HeaderValue::from(port),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.signer.kid
    }

    pub fn public_key_pem(&self) -> Option<String> {
        self.signer.public_key_pem().ok()
    }

    pub async fn handle(&self, req: Req) -> Resp {
        let began = self.trace.begin();
        // Parameter names only: the callback's query holds an authorization code.
        let label = format!(
            "{} {}",
            req.parts.method,
            short(req.parts.uri.path_and_query().map_or("/", |p| p.as_str()))
        );
        let resp = self.route(&req).await;
        let mut notes = Vec::new();
        if let Some(l) = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
        {
            notes.push(format!("→ {}", short(l)));
        }
        let set: Vec<&str> = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|c| c.to_str().ok()?.split('=').next())
            .collect();
        if !set.is_empty() {
            notes.push(format!("sets {}", set.join(", ")));
        }
        self.trace.emit(
            began,
            Actor::Browser,
            Actor::Alb,
            label,
            resp.status().as_u16(),
            notes.join(" · "),
        );
        resp
    }

    async fn route(&self, req: &Req) -> Resp {
        if let Some(reason) = over_header_limits(&req.parts) {
            return alb_page(400, &reason);
        }
        if req.parts.method == Method::TRACE {
            return alb_page(405, "TRACE is not allowed");
        }
        if req.path() == "/oauth2/idpresponse" {
            return self.callback(req).await;
        }
        let host = req.header("host").unwrap_or("");
        let rule = self
            .rules
            .iter()
            .find(|r| r.matches(req.parts.method.as_str(), host, req.path()));
        let Some(rule) = rule else {
            return alb_page(500, "no rule matched and there is no default rule");
        };
        let authenticates = rule
            .actions
            .iter()
            .any(|a| matches!(a, Action::AuthenticateCognito { .. }));
        let mut user: Option<Arc<Opened>> = None;
        let mut cookies = Vec::new();
        for action in &rule.actions {
            match action {
                Action::AuthenticateCognito { config } => {
                    match self.authenticate(req, config).await {
                        Auth::User(s, set) => {
                            user = Some(s);
                            cookies = set;
                        }
                        Auth::Anonymous => {}
                        Auth::Respond(r) => return r,
                    }
                }
                Action::Forward { target } => {
                    let mut resp = self
                        .forward(req, target, authenticates, user.as_deref())
                        .await;
                    for c in &cookies {
                        add_cookie(&mut resp, c);
                    }
                    return resp;
                }
                Action::Redirect { config } => {
                    let proto = "http";
                    let (path, query) = (req.path(), req.parts.uri.query().unwrap_or(""));
                    let location = config
                        .location
                        .replace("#{protocol}", proto)
                        .replace("#{host}", host.split(':').next().unwrap_or(host))
                        .replace("#{port}", &self.port.to_string())
                        .replace("#{path}", path)
                        .replace("#{query}", query);
                    let mut r = redirect(&location);
                    if config.status_code == "HTTP_301" {
                        *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    }
                    r.headers_mut()
                        .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
                    return r;
                }
                Action::FixedResponse { config } => {
                    let mut r = response(StatusCode::OK, "text/plain", config.message_body.clone());
                    *r.status_mut() =
                        StatusCode::from_u16(config.status_code).unwrap_or(StatusCode::OK);
                    if let Ok(v) = HeaderValue::from_str(&config.content_type) {
                        r.headers_mut().insert(header::CONTENT_TYPE, v);
                    }
                    r.headers_mut()
                        .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
                    return r;
                }
            }
        }
        alb_page(500, "the rule has no terminal action")
    }
}

impl crate::http::Service for Alb {
    fn call(&self, req: Req) -> impl Future<Output = Resp> + Send {
        self.handle(req)
    }
}

/// The ALB's HTTP header quotas (user guide, "Quotas for your Application Load Balancers"):
/// a request line of 16K, a single header of 16K, 64K of request header in all. Past them the
/// ALB answers 400 itself; the request never reaches a rule.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;
pub const MAX_HEADER: usize = 16 * 1024;
pub const MAX_REQUEST_HEADER: usize = 64 * 1024;

/// Which quota a request breaks, if any, counted in bytes as sent (`name: value` and CRLF).
fn over_header_limits(parts: &http::request::Parts) -> Option<String> {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    // `GET /path HTTP/1.1`
    let line = parts.method.as_str().len() + 1 + target + 9;
    if line > MAX_REQUEST_LINE {
        return Some(format!(
            "the request line is {line} bytes, over the 16K quota"
        ));
    }
    let mut total = line + 2;
    for (name, value) in &parts.headers {
        let one = name.as_str().len() + 2 + value.len();
        if one > MAX_HEADER {
            return Some(format!(
                "the {name} header is {one} bytes, over the 16K quota for one header"
            ));
        }
        total += one + 2;
    }
    (total > MAX_REQUEST_HEADER)
        .then(|| format!("the request header is {total} bytes, over the 64K quota"))
}

/// `Root=1-<epoch hex>-<24 hex>`; an existing `Root` is kept and a `Self` put before it.
fn trace_header(existing: Option<&str>) -> String {
    let id = format!(
        "1-{:08x}-{:024x}",
        now(),
        trace_random() & ((1u128 << 96) - 1)
    );
    match existing {
        Some(e) if e.contains("Root=") => {
            let rest: Vec<&str> = e
                .split(';')
                .filter(|p| !p.trim_start().starts_with("Self="))
                .collect();
            format!("Self={id};{}", rest.join(";"))
        }
        _ => format!("Root={id}"),
    }
}

/// 96 random bits for a trace id. Trace ids are not secrets, so a per-thread xorshift seeded
/// from the system RNG saves a system call on every forwarded request.
fn trace_random() -> u128 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut b = [0u8; 8];
            let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut b);
            u64::from_le_bytes(b) | 1
        });
    }
    STATE.with(|s| {
        let next = || {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            x
        };
        (u128::from(next()) << 64) | u128::from(next())
    })
}

#[cfg(test)]
mod tests {
    use super::trace_header;

    #[test]
    fn trace_ids_are_created_or_extended() {
        let new = trace_header(None);
        assert!(new.starts_with("Root=1-") && new.len() == "Root=1-".len() + 8 + 1 + 24);
        let kept = trace_header(Some(
            "Root=1-5e8b428b-0123456789abcdef01234567;CalledFrom=app",
        ));
        assert!(kept.starts_with("Self=1-"));
        assert!(kept.ends_with(";Root=1-5e8b428b-0123456789abcdef01234567;CalledFrom=app"));
        let again = trace_header(Some(&kept));
        assert_eq!(again.matches("Self=").count(), 1);
    }
}
