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
pub mod served;
pub mod session;

use std::sync::{Arc, RwLock};
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

use cognito_learning_contract::trace::alb_note;
use cognito_learning_server::escape_html;
use cognito_learning_tokens::sign::{AlbHeader, AlbSigner};
use cognito_learning_tokens::time::{Clock, http_date, now};
use cognito_learning_tokens::{Jwt, TokenUse};

use crate::cognito::Directory;
use crate::elb::LoadBalancing;
use crate::http::{Req, Resp, add_cookie, encode, redirect, response};
use crate::state::random_alnum;
use crate::trace::{self as traced, Actor, Captured, Trace, short};
use opened::{Opened, OpenedCache};
use rules::OnUnauthenticated;
use served::{AuthStep, Served, Step, Upstream};
use session::{LoginState, MAX_CLAIMS, MAX_SHARDS, Sealer, Session, shard, unshard};

pub const NONCE_COOKIE: &str = "AWSALBAuthNonce";
/// A login must finish within 15 minutes of its start.
pub const LOGIN_WINDOW: u64 = 15 * 60;
/// `x-amzn-oidc-data` lives two minutes.
const DATA_TTL: u64 = 120;
/// The session cookie's own expiry, whatever the session timeout.
const COOKIE_DAYS: u64 = 7;
const BACK_CHANNEL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Alb {
    pub arn: String,
    /// The listeners, rules and target groups the ALB runs, and the user pools its
    /// authenticate actions name.
    lb: Arc<LoadBalancing>,
    directory: Arc<Directory>,
    /// The hosted UI's origin, and the app behind the lab's instance.
    cognito_url: String,
    app: String,
    /// What the ALB runs, with the generations of the state it was built from.
    served: RwLock<(u64, u64, Arc<Served>)>,
    /// Seconds a login may take from the redirect to the callback: 15 minutes on AWS, fixed;
    /// shorter only in tests.
    pub login_window: u64,
    /// The lab's clock: session and token expiry, and the data token's `exp`.
    pub clock: Clock,
    signer: AlbSigner,
    sealer: Sealer,
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

/// Why the ALB answered as it did, for its trace row's note (a response extension).
#[derive(Debug, Clone, Copy)]
struct Why(&'static str);

/// `resp`, with `note` first in its trace row.
fn why(mut resp: Resp, note: &'static str) -> Resp {
    resp.extensions_mut().insert(Why(note));
    resp
}

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
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arn: String,
        lb: Arc<LoadBalancing>,
        directory: Arc<Directory>,
        cognito_url: &str,
        app: &str,
        port: u16,
        signer: AlbSigner,
        session_key: &[u8; 32],
        trace: Arc<Trace>,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            arn,
            lb,
            directory,
            cognito_url: cognito_url.to_owned(),
            app: app.to_owned(),
            served: RwLock::new((0, 0, Arc::new(Served::default()))),
            login_window: LOGIN_WINDOW,
            clock: Clock::default(),
            signer,
            sealer: Sealer::new(session_key),
            http: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build(connector),
            trace,
            sessions: OpenedCache::new(SESSION_CACHE),
            forwarded_port: HeaderValue::from(port),
        }
    }

    /// What the ALB runs now, rebuilt first if the load balancer or the pools changed.
    pub fn served(&self) -> Arc<Served> {
        let generations = (self.lb.generation(), self.directory.generation());
        {
            let s = self
                .served
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if (s.0, s.1) == generations {
                return s.2.clone();
            }
        }
        let built = Arc::new(Served::build(
            &self.lb,
            &self.directory,
            &self.cognito_url,
            &self.app,
        ));
        *self
            .served
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (generations.0, generations.1, built.clone());
        built
    }

    /// The issuer and app client the ALB's first authenticate action uses.
    pub fn identity(&self) -> Option<(String, String)> {
        self.served().identity.clone()
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
        let client = traced::client_of(&req.parts.headers);
        let resp = traced::as_client(client, self.route(&req)).await;
        let mut notes = Vec::new();
        if let Some(Why(w)) = resp.extensions().get::<Why>() {
            notes.push((*w).to_owned());
        }
        if let Some(l) = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
        {
            notes.push(format!("→ {}", short(l)));
        }
        notes.extend(traced::cookie_note(resp.headers()));
        let ex = traced::request(
            &req.parts.method,
            traced::url_of(&req.parts),
            &req.parts.headers,
            &req.body,
        );
        let ex = traced::answered(ex, resp.headers(), resp.body().bytes());
        self.trace.emit(
            began,
            (Actor::Browser, Actor::Alb),
            label,
            resp.status().as_u16(),
            notes.join(" · "),
            ex,
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
        let served = self.served();
        if served.rules.is_empty() {
            return lab_note(
                "The lab's load balancer has no listener yet: create one with `aws elbv2 create-listener` (see `aws elbv2 describe-listeners`).",
            );
        }
        let authenticates = || {
            served
                .rules
                .iter()
                .flat_map(|r| &r.steps)
                .any(|s| matches!(s, Step::Authenticate(_)))
        };
        if req.path() == "/oauth2/idpresponse" && authenticates() {
            return self.callback(req, &served).await;
        }
        let host = req.header("host").unwrap_or("");
        let query: Vec<(String, String)> = req
            .parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let view = rules::Request {
            method: req.parts.method.as_str(),
            host,
            path: req.path(),
            headers: &req.parts.headers,
            query: &query,
        };
        let Some(rule) = served
            .rules
            .iter()
            .find(|r| r.conditions.iter().all(|c| c.matches(&view)))
        else {
            return alb_page(500, "no rule matched and there is no default rule");
        };
        let mut auth: Option<&AuthStep> = None;
        let mut user: Option<Arc<Opened>> = None;
        let mut cookies = Vec::new();
        for step in &rule.steps {
            match step {
                Step::Authenticate(a) => {
                    auth = Some(a);
                    match self.authenticate(req, a).await {
                        Auth::User(s, set) => {
                            user = Some(s);
                            cookies = set;
                        }
                        Auth::Anonymous => {}
                        Auth::Respond(r) => return r,
                    }
                }
                Step::Forward(upstream) => {
                    let target = match upstream {
                        Upstream::Url(u) => u,
                        Upstream::NoTargets => {
                            return alb_page(503, "the target group has no registered targets");
                        }
                        Upstream::Nowhere(t) => {
                            return alb_page(
                                502,
                                &format!(
                                    "the target {t} refused the connection: nothing listens there in the lab (the app is port 5000 of the lab's instance)"
                                ),
                            );
                        }
                    };
                    let mut resp = self.forward(req, target, auth, user.as_deref()).await;
                    for c in &cookies {
                        add_cookie(&mut resp, c);
                    }
                    // New session cookies on a forwarded request: the session was refreshed.
                    if !cookies.is_empty() {
                        resp = why(resp, alb_note::REFRESHED);
                    }
                    return resp;
                }
                Step::Redirect(config) => return self.redirect(req, host, config, &served),
                Step::Fixed(config) => {
                    let mut r = response(
                        StatusCode::OK,
                        "text/plain",
                        config.message_body.clone().unwrap_or_default(),
                    );
                    *r.status_mut() = config
                        .status_code
                        .parse::<u16>()
                        .ok()
                        .and_then(|c| StatusCode::from_u16(c).ok())
                        .unwrap_or(StatusCode::OK);
                    if let Some(v) = config
                        .content_type
                        .as_deref()
                        .and_then(|c| HeaderValue::from_str(c).ok())
                    {
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

    /// A redirect action. The lab's socket is plain HTTP standing in for the served listener,
    /// so a redirect to that listener's own protocol and port stays on the lab's origin.
    fn redirect(
        &self,
        req: &Req,
        host: &str,
        config: &rules::RedirectConfig,
        served: &Served,
    ) -> Resp {
        let host_only = host.split(':').next().unwrap_or(host);
        let listener_port = if served.protocol == "HTTPS" {
            "443"
        } else {
            "80"
        };
        let fill = |s: &str| {
            s.replace("#{protocol}", &served.protocol.to_ascii_lowercase())
                .replace("#{host}", host_only)
                .replace("#{port}", listener_port)
                .replace("#{path}", req.path().trim_start_matches('/'))
                .replace("#{query}", req.parts.uri.query().unwrap_or(""))
        };
        let protocol = fill(&config.protocol).to_ascii_lowercase();
        let port = fill(&config.port);
        let to_host = fill(&config.host);
        let path = fill(&config.path);
        let query = fill(&config.query);
        let same_listener = protocol == served.protocol.to_ascii_lowercase()
            && port == listener_port
            && to_host.eq_ignore_ascii_case(host_only);
        let origin = if same_listener {
            format!("http://{host}")
        } else {
            let default_port =
                (protocol == "https" && port == "443") || (protocol == "http" && port == "80");
            if default_port {
                format!("{protocol}://{to_host}")
            } else {
                format!("{protocol}://{to_host}:{port}")
            }
        };
        let mut location = format!("{origin}{path}");
        if !query.is_empty() {
            location.push('?');
            location.push_str(&query);
        }
        let mut r = redirect(&location);
        if config.status_code == "HTTP_301" {
            *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
        }
        r.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
        r
    }
}

/// A page in the lab's own voice, for what has no AWS counterpart on this socket.
fn lab_note(text: &str) -> Resp {
    let mut r = response(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        format!("{text}\n"),
    );
    r.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static("cognito-learning-lab"),
    );
    r
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
