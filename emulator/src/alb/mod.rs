//! The ALB stand-in: listener rules, the `authenticate-cognito` action and forwarding.
//!
//! The flow follows the ALB user guide: a request without a valid session cookie is sent to the
//! IdP's authorize endpoint (parameters in the order real captures show, an opaque `state` and an
//! `AWSALBAuthNonce` cookie); `/oauth2/idpresponse` checks both, swaps the code for tokens on the
//! back channel, validates the ID token, calls userInfo and sets `AWSELBAuthSessionCookie-0…3`;
//! later requests are forwarded with `x-amzn-oidc-accesstoken`, `x-amzn-oidc-identity` and an
//! ES256-signed `x-amzn-oidc-data`. Headers a client sends under those names never pass.

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

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

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
                    let mut resp = self.forward(req, target, user.as_deref()).await;
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

    /// The authenticate-cognito action for one request.
    async fn authenticate(&self, req: &Req, cfg: &AuthConfig) -> Auth {
        let name = &cfg.session_cookie_name;
        let session = self.open_session(req, name);
        let t = now();
        match session {
            Some(o) if o.session.session_exp > t => {
                let s = &o.session;
                if s.access_exp > t {
                    return Auth::User(o, Vec::new());
                }
                let Some(refresh) = s.refresh_token.clone() else {
                    // No refresh token: the session simply lasts until its timeout.
                    return Auth::User(o, Vec::new());
                };
                match self.refresh(s, &refresh).await {
                    Ok(fresh) => match self.session_cookies(req, name, &fresh) {
                        Ok(set) => Auth::User(Arc::new(Opened::new(fresh)), set),
                        Err(r) => Auth::Respond(r),
                    },
                    // The IdP says no (say, the user logged out): log in again.
                    Err(_) => Auth::Respond(self.start_login(req, cfg)),
                }
            }
            // Expired authentication information is sent to the IdP even under `deny`.
            Some(_) => match cfg.on_unauthenticated_request {
                OnUnauthenticated::Allow => Auth::Anonymous,
                _ => Auth::Respond(self.start_login(req, cfg)),
            },
            None => match cfg.on_unauthenticated_request {
                OnUnauthenticated::Authenticate => Auth::Respond(self.start_login(req, cfg)),
                OnUnauthenticated::Allow => Auth::Anonymous,
                OnUnauthenticated::Deny => {
                    Auth::Respond(alb_page(401, "unauthenticated request under deny"))
                }
            },
        }
    }

    /// 302 to the authorization endpoint, with the nonce cookie that ties the answer back.
    fn start_login(&self, req: &Req, cfg: &AuthConfig) -> Resp {
        let Some(host) = req.header("host").filter(|h| !h.is_empty()) else {
            return alb_page(401, "no Host header: unable to generate a redirect URL");
        };
        let nonce = random_alnum(16);
        let state = LoginState {
            nonce: nonce.clone(),
            uri: req
                .parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            started: now(),
            cookie: cfg.session_cookie_name.clone(),
        };
        let Some(state) = self.sealer.seal(&state, "state") else {
            return alb_page(500, "AuthUnhandledException");
        };
        let redirect_uri = format!("http://{host}/oauth2/idpresponse");
        let mut location = format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope={}&state={}",
            self.idp.authorization_endpoint,
            encode(&self.idp.client_id),
            encode(&redirect_uri),
            encode(&cfg.scope),
            encode(&state),
        );
        for (k, v) in cfg.authentication_request_extra_params.iter().take(10) {
            location.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        let mut r = redirect(&location);
        r.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
        add_cookie(
            &mut r,
            &format!(
                "{NONCE_COOKIE}={nonce}; Path=/; Max-Age={}; HttpOnly",
                self.login_window
            ),
        );
        r
    }

    /// `/oauth2/idpresponse`: finish the login.
    async fn callback(&self, req: &Req) -> Resp {
        let q = req.query();
        if let Some(err) = q.get("error") {
            return alb_page(561, &format!("the IdP returned error={err}"));
        }
        let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
            return alb_page(401, "AuthMissingCodeParam");
        };
        let Some(state) = q.get("state").filter(|s| !s.is_empty()) else {
            return alb_page(401, "AuthMissingStateParam");
        };
        let Some(state) = self.sealer.open::<LoginState>(state, "state") else {
            return alb_page(401, "AuthInvalidStateParam");
        };
        if req.cookie(NONCE_COOKIE) != Some(state.nonce.as_str()) {
            return alb_page(
                401,
                "AuthInvalidCookie: the AWSALBAuthNonce cookie does not match the state",
            );
        }
        if now().saturating_sub(state.started) > self.login_window {
            return alb_page(
                401,
                "the login took longer than 15 minutes (the ALB's fixed limit)",
            );
        }
        let Some(host) = req.header("host") else {
            return alb_page(401, "no Host header");
        };
        let redirect_uri = format!("http://{host}/oauth2/idpresponse");
        let form = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id={}",
            encode(code),
            encode(&redirect_uri),
            encode(&self.idp.client_id)
        );
        let tokens = match self.token_request(form, "code → tokens").await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let Some(id_token) = tokens.get("id_token").and_then(Value::as_str) else {
            return alb_page(401, "the scope returned no ID token (it needs openid)");
        };
        if let Err(e) = self.id_tokens.verify(id_token, TokenUse::Id, now()).await {
            return alb_page(401, &format!("AuthInvalidIdToken: {e}"));
        }
        let session = match self
            .session_from(
                &tokens,
                None,
                now() + cookie_timeout(&self.rules, &state.cookie),
            )
            .await
        {
            Ok(s) => s,
            Err(r) => return r,
        };
        let set = match self.session_cookies(req, &state.cookie, &session) {
            Ok(set) => set,
            Err(r) => return r,
        };
        let mut r = redirect(&format!("http://{host}{}", state.uri));
        r.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
        for c in set {
            add_cookie(&mut r, &c);
        }
        add_cookie(
            &mut r,
            &format!("{NONCE_COOKIE}=; Path=/; Max-Age=0; HttpOnly"),
        );
        r
    }

    /// Builds a session from a token response: userInfo is called with the new access token.
    async fn session_from(
        &self,
        tokens: &Map<String, Value>,
        refresh: Option<String>,
        session_exp: u64,
    ) -> Result<Session, Resp> {
        let Some(access) = tokens.get("access_token").and_then(Value::as_str) else {
            return Err(alb_page(561, "AuthTokenEpRequestFailed: no access_token"));
        };
        let userinfo = self.userinfo(access).await?;
        let Some(sub) = userinfo
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(alb_page(561, "AuthUserinfoEpRequestFailed: no sub"));
        };
        let claims_size = Value::Object(userinfo.clone()).to_string().len() + access.len();
        if claims_size > MAX_CLAIMS {
            return Err(alb_page(500, "ELBAuthUserClaimsSizeExceeded"));
        }
        let access_exp = Jwt::parse(access)
            .ok()
            .and_then(|j| j.claims.get("exp").and_then(Value::as_u64))
            .or_else(|| {
                tokens
                    .get("expires_in")
                    .and_then(Value::as_u64)
                    .map(|e| now() + e)
            })
            .unwrap_or_else(now);
        Ok(Session {
            sub,
            userinfo,
            access_token: access.to_owned(),
            refresh_token: tokens
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(refresh),
            access_exp,
            session_exp,
        })
    }

    async fn refresh(&self, old: &Session, refresh: &str) -> Result<Session, Resp> {
        let form = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}",
            encode(refresh),
            encode(&self.idp.client_id)
        );
        let tokens = self.token_request(form, "refresh").await?;
        self.session_from(&tokens, Some(refresh.to_owned()), old.session_exp)
            .await
    }

    /// Set-Cookie values for a session; shards the browser holds beyond the new count expire.
    fn session_cookies(&self, req: &Req, name: &str, s: &Session) -> Result<Vec<String>, Resp> {
        let sealed = self
            .sealer
            .seal(s, name)
            .ok_or_else(|| alb_page(500, "AuthUnhandledException"))?;
        let shards = shard(name, &sealed)
            .ok_or_else(|| alb_page(500, "ELBAuthUserClaimsSizeExceeded: over 16K of cookie"))?;
        let expires = http_date(now() + COOKIE_DAYS * 86_400);
        let mut out: Vec<String> = shards
            .iter()
            .map(|(k, v)| format!("{k}={v}; Expires={expires}; Path=/; HttpOnly"))
            .collect();
        for i in shards.len()..MAX_SHARDS {
            let stale = format!("{name}-{i}");
            if req.cookie(&stale).is_some() {
                out.push(format!(
                    "{stale}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
                ));
            }
        }
        Ok(out)
    }

    /// POST to the token endpoint with `client_secret_basic`.
    async fn token_request(&self, form: String, what: &str) -> Result<Map<String, Value>, Resp> {
        let basic = STANDARD.encode(format!("{}:{}", self.idp.client_id, self.idp.client_secret));
        let req = Request::post(&self.idp.token_endpoint)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .body(Full::new(Bytes::from(form)));
        let began = self.trace.begin();
        let (status, body) = match self.back_channel(req, "POST /oauth2/token").await {
            Ok(r) => r,
            Err(e) => return Err(alb_page(500, &format!("AuthTokenEpRequestTimeout: {e}"))),
        };
        let json: Map<String, Value> = serde_json::from_slice(&body).unwrap_or_default();
        let error = json.get("error").and_then(Value::as_str).unwrap_or("");
        self.trace.emit(
            began,
            Actor::Alb,
            Actor::Cognito,
            "POST /oauth2/token".into(),
            status,
            if status == 200 {
                format!(
                    "{what}: id, access{} token",
                    if json.contains_key("refresh_token") {
                        ", refresh"
                    } else {
                        ""
                    }
                )
            } else {
                format!("error={error}")
            },
        );
        match status {
            200 => Ok(json),
            400 if error == "invalid_grant" => Err(alb_page(401, "AuthInvalidGrantError")),
            _ => Err(alb_page(
                561,
                &format!("AuthTokenEpRequestFailed: HTTP {status} {error}"),
            )),
        }
    }

    async fn userinfo(&self, access: &str) -> Result<Map<String, Value>, Resp> {
        let req = Request::get(&self.idp.userinfo_endpoint)
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Full::new(Bytes::new()));
        let began = self.trace.begin();
        let (status, body) = match self.back_channel(req, "GET /oauth2/userInfo").await {
            Ok(r) => r,
            Err(e) => return Err(alb_page(500, &format!("AuthUserinfoEpRequestTimeout: {e}"))),
        };
        let json: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
        let who = json
            .as_ref()
            .and_then(|j| j.get("username"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        self.trace.emit(
            began,
            Actor::Alb,
            Actor::Cognito,
            "GET /oauth2/userInfo".into(),
            status,
            format!("claims of {who}"),
        );
        match (status, json) {
            (200, Some(j)) => Ok(j),
            _ => Err(alb_page(
                561,
                &format!("AuthUserinfoEpRequestFailed: HTTP {status}"),
            )),
        }
    }

    async fn back_channel(
        &self,
        req: Result<Request<Full<Bytes>>, http::Error>,
        what: &str,
    ) -> Result<(u16, Bytes), String> {
        let req = req.map_err(|e| format!("{what}: {e}"))?;
        let call = async {
            let resp = self.http.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), 1 << 20)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        tokio::time::timeout(BACK_CHANNEL_TIMEOUT, call)
            .await
            .map_err(|_| format!("{what}: no answer in {BACK_CHANNEL_TIMEOUT:?}"))?
    }

    /// Sends the request on to `target`, with the ALB's headers.
    async fn forward(&self, req: &Req, target: &str, user: Option<&Opened>) -> Resp {
        let pq = req.parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = Request::builder()
            .method(req.parts.method.clone())
            .uri(format!("{}{pq}", target.trim_end_matches('/')));
        let mut xff: Option<String> = None;
        let mut trace_id: Option<String> = None;
        if let Some(h) = out.headers_mut() {
            for (name, value) in &req.parts.headers {
                let n = name.as_str();
                if HOP_BY_HOP.contains(&n)
                    || n.starts_with("x-amzn-oidc-")
                    || n == "x-forwarded-proto"
                    || n == "x-forwarded-port"
                {
                    continue;
                }
                match n {
                    "x-forwarded-for" => xff = value.to_str().ok().map(str::to_owned),
                    "x-amzn-trace-id" => trace_id = value.to_str().ok().map(str::to_owned),
                    _ => {
                        h.append(name.clone(), value.clone());
                    }
                }
            }
            let client = req.peer.ip().to_string();
            let xff = match xff {
                Some(x) if !x.trim().is_empty() => format!("{x}, {client}"),
                _ => client,
            };
            let mut set = |k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            set("x-forwarded-for", xff);
            set("x-amzn-trace-id", trace_header(trace_id.as_deref()));
            h.insert("x-forwarded-proto", HeaderValue::from_static("http"));
            h.insert("x-forwarded-port", self.forwarded_port.clone());
            if let Some(o) = user {
                if let Some(data) = self.data_token(o) {
                    h.insert("x-amzn-oidc-data", data);
                }
                if let Some(v) = &o.access {
                    h.insert("x-amzn-oidc-accesstoken", v.clone());
                }
                if let Some(v) = &o.identity {
                    h.insert("x-amzn-oidc-identity", v.clone());
                }
            }
        }
        let label = format!("{} {pq}", req.parts.method);
        let began = self.trace.begin();
        let sent = match out.body(Full::new(req.body.clone())) {
            Ok(r) => tokio::time::timeout(Duration::from_secs(60), self.http.request(r)).await,
            Err(_) => return alb_page(400, "the request could not be forwarded"),
        };
        let resp = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.trace.emit(
                    began,
                    Actor::Alb,
                    Actor::App,
                    label,
                    502,
                    format!("target unreachable: {e}"),
                );
                return alb_page(502, &format!("target {target} unreachable"));
            }
            Err(_) => {
                self.trace.emit(
                    began,
                    Actor::Alb,
                    Actor::App,
                    label,
                    504,
                    "target timed out".into(),
                );
                return alb_page(504, "target timed out");
            }
        };
        let (parts, body) = resp.into_parts();
        let body = match Limited::new(body, 64 << 20).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return alb_page(502, "the target's response broke off"),
        };
        let note = user.map(|o| {
            let s = &o.session;
            let who = s
                .userinfo
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or(&s.sub);
            format!("with x-amzn-oidc-* for {who}")
        });
        self.trace.emit(
            began,
            Actor::Alb,
            Actor::App,
            label,
            parts.status.as_u16(),
            note.unwrap_or_default(),
        );
        let mut r = http::Response::new(crate::http::Body::whole(body));
        *r.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                r.headers_mut().append(name.clone(), value.clone());
            }
        }
        r
    }
}

impl crate::http::Service for Alb {
    fn call(&self, req: Req) -> impl Future<Output = Resp> + Send {
        self.handle(req)
    }
}

impl Alb {
    /// The session in the request's `<name>-0…3` cookies, if they open.
    fn open_session(&self, req: &Req, name: &str) -> Option<Arc<Opened>> {
        let joined = unshard(name, |n| req.cookie(n))?;
        if let Some(o) = self.sessions.get(name, &joined) {
            return Some(o);
        }
        let o = Arc::new(Opened::new(self.sealer.open(&joined, name)?));
        self.sessions.insert(name, &joined, o.clone());
        Some(o)
    }

    /// `x-amzn-oidc-data` for a session: `exp` is the request time plus 120 s, as captured from
    /// real ALBs. Within one second a session's token is signed once and reused; its claims
    /// would be the same anyway, and signing is the dearest step of a forwarded request.
    fn data_token(&self, o: &Opened) -> Option<HeaderValue> {
        let t = now();
        o.data_token(t, || {
            let header = AlbHeader {
                issuer: &self.idp.issuer,
                client: &self.idp.client_id,
                signer: &self.arn,
                exp: t + DATA_TTL,
            };
            self.signer.sign(&header, &o.session.userinfo).ok()
        })
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

/// `SessionTimeout` of the rule whose cookie this is.
fn cookie_timeout(rules: &[Rule], cookie: &str) -> u64 {
    rules
        .iter()
        .flat_map(|r| &r.actions)
        .find_map(|a| match a {
            Action::AuthenticateCognito { config } if config.session_cookie_name == cookie => {
                Some(config.session_timeout)
            }
            _ => None,
        })
        .unwrap_or(604_800)
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
