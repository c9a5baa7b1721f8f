//! The Cognito stand-in: a user pool's hosted UI and OAuth 2.0 / OIDC endpoints.
//!
//! Reproduces what AWS documents (and, where it is silent, what real captures show): the issuer
//! with discovery and JWKS under it, `/oauth2/authorize` with exact `redirect_uri` matching and
//! PKCE S256, the hosted-UI `/login` with its `XSRF-TOKEN` cookie, `/oauth2/token` for the code,
//! refresh and client-credentials grants, `/oauth2/userInfo` with Cognito's string booleans, and
//! `/logout` in both documented forms. The hosted UI keeps its own `cognito` session cookie for
//! an hour: while it lives, `/oauth2/authorize` issues a new code without showing the form.

pub mod config;
mod lockout;
mod pages;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{Method, StatusCode, header};
use serde_json::{Map, Value, json};

use cognito_learning_tokens::sign::RsaSigner;
use cognito_learning_tokens::time::{now, now_millis};

pub use config::{AppClient, Lifetimes, PoolConfig, User};

use crate::http::{Req, Resp, add_cookie, html, json as json_resp, query_string, redirect};
use crate::state::{random_token, uuid};
use crate::trace::{Actor, Trace, short};
use lockout::Failures;
use store::{Expiring, Store};

/// The hosted UI's session cookie, on the Cognito domain.
pub const SESSION_COOKIE: &str = "cognito";
const CSRF_COOKIE: &str = "XSRF-TOKEN";

#[derive(Debug)]
struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    username: String,
    challenge: Option<String>,
    nonce: Option<String>,
    auth_time: u64,
    session: String,
    expires: u64,
}

#[derive(Debug)]
struct HostedSession {
    username: String,
    auth_time: u64,
    expires: u64,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    username: String,
    scopes: Vec<String>,
    auth_time: u64,
    origin_jti: String,
    session: String,
    expires: u64,
}

impl Expiring for CodeGrant {
    fn expires(&self) -> u64 {
        self.expires
    }
}

impl Expiring for HostedSession {
    fn expires(&self) -> u64 {
        self.expires
    }
}

impl Expiring for RefreshGrant {
    fn expires(&self) -> u64 {
        self.expires
    }
}

#[derive(Debug, Default)]
struct State {
    codes: Store<CodeGrant>,
    sessions: Store<HostedSession>,
    refresh: Store<RefreshGrant>,
    /// By username; only users of the pool are counted, so it is as bounded as the pool.
    failures: HashMap<String, Failures>,
}

/// A user pool with its domain.
#[derive(Debug)]
pub struct Cognito {
    /// The domain, e.g. `http://127.0.0.1:9229`.
    pub base: String,
    pub config: PoolConfig,
    id_key: RsaSigner,
    access_key: RsaSigner,
    trace: Arc<Trace>,
    state: Mutex<State>,
}

/// A checked `/oauth2/authorize` (or `/login`) request.
#[derive(Debug, Clone)]
struct Authz {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<String>,
    nonce: Option<String>,
}

/// An OAuth error from the token endpoint: `400 {"error": …}`.
fn oauth_error(error: &str, description: Option<&str>) -> Resp {
    let mut body = json!({ "error": error });
    if let Some(d) = description {
        body["error_description"] = d.into();
    }
    json_resp(StatusCode::BAD_REQUEST, &body)
}

impl Cognito {
    pub fn new(
        base: &str,
        config: PoolConfig,
        id_key: RsaSigner,
        access_key: RsaSigner,
        trace: Arc<Trace>,
    ) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            config,
            id_key,
            access_key,
            trace,
            state: Mutex::default(),
        }
    }

    /// `<domain>/<pool id>`: on AWS this is `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub fn issuer(&self) -> String {
        format!("{}/{}", self.base, self.config.pool_id)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock means a handler panicked mid-update; the maps are still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers one request.
    pub async fn handle(&self, req: Req) -> Resp {
        let began = self.trace.begin();
        let pool = format!("/{}", self.config.pool_id);
        let path = req.path().to_owned();
        let resp = match (&req.parts.method, path.as_str()) {
            (&Method::GET, p) if p == format!("{pool}/.well-known/openid-configuration") => {
                json_resp(StatusCode::OK, &self.discovery())
            }
            (&Method::GET, p) if p == format!("{pool}/.well-known/jwks.json") => json_resp(
                StatusCode::OK,
                &json!({"keys": [self.id_key.jwk(), self.access_key.jwk()]}),
            ),
            (&Method::GET, "/oauth2/authorize") => self.authorize(&req),
            (&Method::GET, "/login") => self.login_page(&req),
            (&Method::POST, "/login") => self.login_submit(&req),
            (&Method::POST, "/oauth2/token") => self.token(&req),
            (_, "/oauth2/token") => oauth_error("invalid_request", Some("use POST")),
            (&Method::GET | &Method::POST, "/oauth2/userInfo") => self.userinfo(&req),
            (&Method::GET, "/logout") => self.logout(&req),
            (&Method::GET, "/error") => {
                let q = req.query();
                let detail = q.get("error").map_or("", String::as_str);
                html(StatusCode::BAD_REQUEST, pages::error(detail))
            }
            _ => html(
                StatusCode::NOT_FOUND,
                pages::error("This page does not exist."),
            ),
        };
        // The ALB stand-in records its own back-channel calls. Key and discovery documents are
        // what a verifier fetches (the app checking an access token); the rest is the browser.
        if !matches!(path.as_str(), "/oauth2/token" | "/oauth2/userInfo") {
            let from = if path.ends_with("/.well-known/jwks.json")
                || path.ends_with("/.well-known/openid-configuration")
            {
                Actor::App
            } else {
                Actor::Browser
            };
            let note = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| format!("→ {}", short(l)))
                .unwrap_or_default();
            self.trace.emit(
                began,
                from,
                Actor::Cognito,
                format!("{} {}", req.parts.method, path),
                resp.status().as_u16(),
                note,
            );
        }
        resp
    }

    fn discovery(&self) -> Value {
        json!({
            "authorization_endpoint": format!("{}/oauth2/authorize", self.base),
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": self.issuer(),
            "jwks_uri": format!("{}/.well-known/jwks.json", self.issuer()),
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint": format!("{}/oauth2/token", self.base),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": format!("{}/oauth2/userInfo", self.base),
        })
    }

    /// Validates an authorize-style query. `Err` is the response to send instead.
    fn check_authz(&self, q: &HashMap<String, String>) -> Result<Authz, Resp> {
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
        let Some(client) = get("client_id").and_then(|id| self.config.client(&id)) else {
            return Err(html(
                StatusCode::BAD_REQUEST,
                pages::error("client_id is missing or not a client of this user pool"),
            ));
        };
        let redirect_uri = get("redirect_uri").unwrap_or_default();
        if !client.callback_urls.contains(&redirect_uri) {
            return Err(redirect(&format!(
                "{}/error?{}",
                self.base,
                query_string(&[
                    ("error", "redirect_mismatch"),
                    ("client_id", &client.client_id)
                ])
            )));
        }
        let state = get("state");
        let back = |error: &str, description: &str| {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(s) = &state {
                pairs.push(("state", s));
            }
            Err(redirect(&append_query(
                &redirect_uri,
                &query_string(&pairs),
            )))
        };
        let response_type = get("response_type").unwrap_or_default();
        let flow = match response_type.as_str() {
            "code" => "code",
            "token" => "implicit",
            "" => return back("invalid_request", "response_type is required"),
            _ => {
                return back(
                    "unsupported_response_type",
                    "response_type must be code or token",
                );
            }
        };
        if !client.allowed_oauth_flows.iter().any(|f| f == flow) {
            return back("unauthorized_client", "this client may not use this flow");
        }
        let challenge = get("code_challenge");
        if challenge.as_deref().is_some_and(|c| !pkce_shaped(c)) {
            return back(
                "invalid_request",
                "code_challenge must be 43 to 128 characters of the base64url alphabet",
            );
        }
        match (challenge.is_some(), get("code_challenge_method").as_deref()) {
            (true, Some("S256")) | (false, None) => {}
            (true, None) => return back("invalid_request", "code_challenge_method is required"),
            (true, Some(_)) => return back("invalid_request", "only S256 is supported"),
            (false, Some(_)) => return back("invalid_request", "code_challenge is required"),
        }
        let scopes: Vec<String> = match get("scope") {
            None => client.allowed_oauth_scopes.clone(),
            Some(s) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if let Some(bad) = scopes
            .iter()
            .find(|s| !client.allowed_oauth_scopes.contains(s))
        {
            return back(
                "invalid_scope",
                &format!("{bad} is not allowed for this client"),
            );
        }
        let needs_openid = scopes
            .iter()
            .any(|s| matches!(s.as_str(), "email" | "phone" | "profile"));
        if needs_openid && !scopes.iter().any(|s| s == "openid") {
            return back("invalid_scope", "email, phone and profile need openid");
        }
        Ok(Authz {
            client_id: client.client_id.clone(),
            redirect_uri,
            response_type,
            state,
            scopes,
            challenge,
            nonce: get("nonce"),
        })
    }

    fn session_user(&self, req: &Req) -> Option<(String, String, u64)> {
        let sid = req.cookie(SESSION_COOKIE)?;
        let mut st = self.state();
        let t = now();
        let s = st.sessions.live(sid, t)?;
        // Continuing a session refreshes it to a full hour.
        s.expires = t + self.config.lifetimes.hosted_ui_session;
        Some((sid.to_owned(), s.username.clone(), s.auth_time))
    }

    fn session_cookie(&self, sid: &str) -> String {
        format!(
            "{SESSION_COOKIE}={sid}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.config.lifetimes.hosted_ui_session,
            self.secure()
        )
    }

    fn secure(&self) -> &'static str {
        if self.base.starts_with("https://") {
            "; Secure"
        } else {
            ""
        }
    }

    fn authorize(&self, req: &Req) -> Resp {
        let authz = match self.check_authz(&req.query()) {
            Ok(a) => a,
            Err(resp) => return resp,
        };
        match self.session_user(req) {
            // The hosted-UI session is alive: straight back with a new code, no form.
            Some((sid, username, auth_time)) => {
                let mut resp = self.grant(&authz, &username, auth_time, &sid);
                add_cookie(&mut resp, &self.session_cookie(&sid));
                resp
            }
            None => redirect(&format!(
                "{}/login?{}",
                self.base,
                req.parts.uri.query().unwrap_or("")
            )),
        }
    }

    fn login_page(&self, req: &Req) -> Resp {
        if let Err(resp) = self.check_authz(&req.query()) {
            return resp;
        }
        self.form(req, StatusCode::OK, None, "")
    }

    fn form(&self, req: &Req, status: StatusCode, error: Option<&str>, username: &str) -> Resp {
        let csrf = req
            .cookie(CSRF_COOKIE)
            .filter(|c| c.len() == 36)
            .map_or_else(uuid, str::to_owned);
        let query = req.parts.uri.query().unwrap_or("");
        let mut resp = html(status, pages::login(query, &csrf, error, username));
        add_cookie(
            &mut resp,
            &format!(
                "{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Lax{}",
                self.secure()
            ),
        );
        add_cookie(&mut resp, "cognito-fl=\"W10=\"; Path=/; HttpOnly");
        resp
    }

    fn login_submit(&self, req: &Req) -> Resp {
        let authz = match self.check_authz(&req.query()) {
            Ok(a) => a,
            Err(resp) => return resp,
        };
        let form = req.form();
        let field = |k: &str| form.get(k).map_or("", String::as_str);
        let csrf_ok = req
            .cookie(CSRF_COOKIE)
            .is_some_and(|c| !c.is_empty() && constant_time_eq(c, field("_csrf")));
        if !csrf_ok {
            return self.form(
                req,
                StatusCode::FORBIDDEN,
                Some("This form expired or was not sent from this page. Please sign in again."),
                field("username"),
            );
        }
        let t = now();
        let t_ms = now_millis();
        let known = self.config.user(field("username"));
        let user = match known {
            Some(u) => {
                let mut st = self.state();
                let failures = st.failures.entry(u.username.clone()).or_default();
                if failures.locked(t_ms) {
                    // Refused without looking at the password, and not counted.
                    drop(st);
                    return self.form(
                        req,
                        StatusCode::OK,
                        Some("Password attempts exceeded"),
                        field("username"),
                    );
                }
                if constant_time_eq(&u.password, field("password")) {
                    st.failures.remove(&u.username);
                    Some(u)
                } else {
                    failures.failed(t_ms);
                    None
                }
            }
            None => None,
        };
        let Some(user) = user else {
            return self.form(
                req,
                StatusCode::OK,
                Some("Incorrect username or password."),
                field("username"),
            );
        };
        let sid = random_token(32);
        self.state().sessions.insert(
            sid.clone(),
            HostedSession {
                username: user.username.clone(),
                auth_time: t,
                expires: t + self.config.lifetimes.hosted_ui_session,
            },
            t,
        );
        let mut resp = self.grant(&authz, &user.username, t, &sid);
        add_cookie(&mut resp, &self.session_cookie(&sid));
        resp
    }

    /// The successful end of authorize: a code (or, for the implicit flow, tokens) for the client.
    fn grant(&self, a: &Authz, username: &str, auth_time: u64, session: &str) -> Resp {
        if a.response_type == "token" {
            let Some(user) = self.config.user(username) else {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::error("user vanished"),
                );
            };
            let (access, id) = self.tokens(
                &a.client_id,
                user,
                &a.scopes,
                auth_time,
                a.nonce.as_deref(),
                &uuid(),
            );
            let expires = self.config.lifetimes.access_token.to_string();
            let mut pairs = vec![("access_token", access.as_str())];
            if let Some(id) = &id {
                pairs.push(("id_token", id));
            }
            pairs.extend([("token_type", "Bearer"), ("expires_in", expires.as_str())]);
            if let Some(s) = &a.state {
                pairs.push(("state", s));
            }
            return redirect(&format!("{}#{}", a.redirect_uri, query_string(&pairs)));
        }
        let code = uuid();
        let t = now();
        self.state().codes.insert(
            code.clone(),
            CodeGrant {
                client_id: a.client_id.clone(),
                redirect_uri: a.redirect_uri.clone(),
                scopes: a.scopes.clone(),
                username: username.to_owned(),
                challenge: a.challenge.clone(),
                nonce: a.nonce.clone(),
                auth_time,
                session: session.to_owned(),
                expires: t + self.config.lifetimes.auth_code,
            },
            t,
        );
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = &a.state {
            pairs.push(("state", s));
        }
        redirect(&append_query(&a.redirect_uri, &query_string(&pairs)))
    }

    /// An access token and, when `openid` was granted, an ID token.
    fn tokens(
        &self,
        client_id: &str,
        user: &User,
        scopes: &[String],
        auth_time: u64,
        nonce: Option<&str>,
        origin_jti: &str,
    ) -> (String, Option<String>) {
        let t = now();
        let sub = user.sub();
        let event_id = uuid();
        let mut access = Map::new();
        access.insert("sub".into(), sub.clone().into());
        if !user.groups.is_empty() {
            access.insert("cognito:groups".into(), json!(user.groups));
        }
        access.insert("iss".into(), self.issuer().into());
        access.insert("version".into(), 2.into());
        access.insert("client_id".into(), client_id.into());
        access.insert("origin_jti".into(), origin_jti.into());
        access.insert("event_id".into(), event_id.clone().into());
        access.insert("token_use".into(), "access".into());
        access.insert("scope".into(), scopes.join(" ").into());
        access.insert("auth_time".into(), auth_time.into());
        access.insert(
            "exp".into(),
            (t + self.config.lifetimes.access_token).into(),
        );
        access.insert("iat".into(), t.into());
        access.insert("jti".into(), uuid().into());
        access.insert("username".into(), user.username.clone().into());
        let access = self.access_key.sign(&access).unwrap_or_default();
        if !scopes.iter().any(|s| s == "openid") {
            return (access, None);
        }
        let mut id = Map::new();
        id.insert("at_hash".into(), at_hash(&access).into());
        id.insert("sub".into(), sub.into());
        if !user.groups.is_empty() {
            id.insert("cognito:groups".into(), json!(user.groups));
        }
        id.insert("email_verified".into(), true.into());
        id.insert("iss".into(), self.issuer().into());
        id.insert("cognito:username".into(), user.username.clone().into());
        if let Some(n) = nonce {
            id.insert("nonce".into(), n.into());
        }
        id.insert("origin_jti".into(), origin_jti.into());
        id.insert("aud".into(), client_id.into());
        id.insert("event_id".into(), event_id.into());
        id.insert("token_use".into(), "id".into());
        id.insert("auth_time".into(), auth_time.into());
        id.insert("exp".into(), (t + self.config.lifetimes.id_token).into());
        id.insert("iat".into(), t.into());
        id.insert("jti".into(), uuid().into());
        id.insert("email".into(), user.email.clone().into());
        (access, self.id_key.sign(&id).ok())
    }

    /// Who is calling the token endpoint: `client_secret_basic` or `client_secret_post`.
    fn client_auth(&self, req: &Req, form: &HashMap<String, String>) -> Result<&AppClient, Resp> {
        let basic = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(i, p)| (i.to_owned(), p.to_owned())));
        let (id, secret) = match basic {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (
                form.get("client_id").cloned(),
                form.get("client_secret").cloned(),
            ),
        };
        let client = id
            .as_deref()
            .and_then(|i| self.config.client(i))
            .ok_or_else(|| oauth_error("invalid_client", None))?;
        match (&client.client_secret, secret.as_deref()) {
            (Some(want), Some(got)) if constant_time_eq(want, got) => Ok(client),
            (None, None) => Ok(client),
            (Some(_), _) => Err(oauth_error("invalid_client", Some("invalid_client_secret"))),
            (None, Some(_)) => Err(oauth_error(
                "invalid_client",
                Some("this client has no secret"),
            )),
        }
    }

    fn token(&self, req: &Req) -> Resp {
        let form_type = req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return oauth_error(
                "invalid_request",
                Some("Content-Type must be application/x-www-form-urlencoded"),
            );
        }
        let form = req.form();
        let client = match self.client_auth(req, &form) {
            Ok(c) => c.clone(),
            Err(resp) => return resp,
        };
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.code_grant(&client, &form),
            Some("refresh_token") => self.refresh_grant(&client, &form),
            Some("client_credentials") => self.client_credentials(&client, &form),
            None => oauth_error("invalid_request", Some("grant_type is required")),
            Some(_) => oauth_error("unsupported_grant_type", None),
        }
    }

    fn code_grant(&self, client: &AppClient, form: &HashMap<String, String>) -> Resp {
        if !client.allowed_oauth_flows.iter().any(|f| f == "code") {
            return oauth_error("unauthorized_client", None);
        }
        // Taken out on first use, whatever happens next: a code is good for one try only.
        let grant = form
            .get("code")
            .and_then(|c| self.state().codes.map.remove(c));
        let Some(g) = grant.filter(|g| g.expires > now() && g.client_id == client.client_id) else {
            return oauth_error("invalid_grant", None);
        };
        if form.get("redirect_uri") != Some(&g.redirect_uri) {
            return oauth_error(
                "unauthorized_client",
                Some("redirect_uri does not match the authorize request"),
            );
        }
        if let Some(challenge) = &g.challenge {
            let ok = form.get("code_verifier").is_some_and(|v| {
                verifier_shaped(v)
                    && URL_SAFE_NO_PAD.encode(digest(&SHA256, v.as_bytes())) == *challenge
            });
            if !ok {
                return oauth_error(
                    "invalid_grant",
                    Some("code_verifier does not match the code_challenge"),
                );
            }
        }
        let Some(user) = self.config.user(&g.username).cloned() else {
            return oauth_error("invalid_grant", None);
        };
        let origin_jti = uuid();
        let (access, id) = self.tokens(
            &client.client_id,
            &user,
            &g.scopes,
            g.auth_time,
            g.nonce.as_deref(),
            &origin_jti,
        );
        let refresh = format!(
            "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.{}",
            random_token(96)
        );
        let t = now();
        self.state().refresh.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client.client_id.clone(),
                username: user.username.clone(),
                scopes: g.scopes.clone(),
                auth_time: g.auth_time,
                origin_jti,
                session: g.session,
                expires: t + self.config.lifetimes.refresh_token,
            },
            t,
        );
        self.token_response(id, access, Some(refresh))
    }

    /// `200 {"id_token"?, "access_token", "refresh_token"?, "expires_in", "token_type"}`.
    fn token_response(&self, id: Option<String>, access: String, refresh: Option<String>) -> Resp {
        let mut body = Map::new();
        if let Some(id) = id {
            body.insert("id_token".into(), id.into());
        }
        body.insert("access_token".into(), access.into());
        if let Some(r) = refresh {
            body.insert("refresh_token".into(), r.into());
        }
        body.insert(
            "expires_in".into(),
            self.config.lifetimes.access_token.into(),
        );
        body.insert("token_type".into(), "Bearer".into());
        json_resp(StatusCode::OK, &Value::Object(body))
    }

    fn refresh_grant(&self, client: &AppClient, form: &HashMap<String, String>) -> Resp {
        let grant = form
            .get("refresh_token")
            .and_then(|r| self.state().refresh.live(r, now()).cloned())
            .filter(|g| g.client_id == client.client_id);
        let Some(g) = grant else {
            return oauth_error("invalid_grant", Some("Invalid Refresh Token"));
        };
        let Some(user) = self.config.user(&g.username).cloned() else {
            return oauth_error("invalid_grant", None);
        };
        let (access, id) = self.tokens(
            &client.client_id,
            &user,
            &g.scopes,
            g.auth_time,
            None,
            &g.origin_jti,
        );
        // No new refresh token: this pool does not rotate them.
        self.token_response(id, access, None)
    }

    fn client_credentials(&self, client: &AppClient, form: &HashMap<String, String>) -> Resp {
        let only_cc = client.allowed_oauth_flows == ["client_credentials"];
        if !only_cc || client.client_secret.is_none() {
            return oauth_error("unauthorized_client", None);
        }
        let custom: Vec<&String> = client
            .allowed_oauth_scopes
            .iter()
            .filter(|s| s.contains('/'))
            .collect();
        let scopes: Vec<String> = match form.get("scope") {
            None => custom.iter().map(|s| (*s).clone()).collect(),
            Some(s) => {
                let asked: Vec<String> = s
                    .split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect();
                if asked.iter().any(|a| !custom.contains(&a)) {
                    return oauth_error("invalid_scope", None);
                }
                asked
            }
        };
        let t = now();
        let claims = json!({
            "sub": client.client_id, "token_use": "access", "scope": scopes.join(" "),
            "auth_time": t, "iss": self.issuer(), "exp": t + self.config.lifetimes.access_token,
            "iat": t, "version": 2, "jti": uuid(), "client_id": client.client_id,
        });
        let access = claims
            .as_object()
            .and_then(|c| self.access_key.sign(c).ok())
            .unwrap_or_default();
        json_resp(
            StatusCode::OK,
            &json!({"access_token": access, "expires_in": self.config.lifetimes.access_token, "token_type": "Bearer"}),
        )
    }

    fn userinfo(&self, req: &Req) -> Resp {
        let fail = |status: StatusCode, challenge: &str| {
            let mut r = json_resp(
                status,
                &json!({"error": if status == StatusCode::BAD_REQUEST {"invalid_request"} else {"invalid_token"}}),
            );
            if let Ok(v) = http::HeaderValue::from_str(challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        };
        let bad_request = || {
            fail(
                StatusCode::BAD_REQUEST,
                r#"error="invalid_request", error_description="Bad OAuth2 request at UserInfo Endpoint""#,
            )
        };
        let invalid = || {
            fail(
                StatusCode::UNAUTHORIZED,
                r#"error="invalid_token", error_description="Access token is expired, disabled, or deleted, or the user has globally signed out.""#,
            )
        };
        let Some(token) = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return bad_request();
        };
        let Ok(claims) = self.access_key.verify(token.trim()) else {
            return invalid();
        };
        let str_claim = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
        let live = claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|e| e > now());
        let openid = str_claim("scope").split(' ').any(|s| s == "openid");
        if !live
            || str_claim("iss") != self.issuer()
            || str_claim("token_use") != "access"
            || !openid
        {
            return invalid();
        }
        let Some(user) = self.config.user_by_sub(str_claim("sub")) else {
            return invalid();
        };
        // Cognito's userInfo sends booleans as strings, and the username alongside.
        json_resp(
            StatusCode::OK,
            &json!({"sub": user.sub(), "email_verified": "true", "email": user.email, "username": user.username}),
        )
    }

    fn logout(&self, req: &Req) -> Resp {
        let q = req.query();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        let client = get("client_id").and_then(|id| self.config.client(id));
        let missing = || {
            redirect(&format!(
                "{}/error?{}",
                self.base,
                query_string(&[
                    ("error", "Required parameters missing"),
                    ("client_id", get("client_id").map_or("", |s| s.as_str()))
                ])
            ))
        };
        let Some(client) = client else {
            return missing();
        };
        let mut resp = if let Some(uri) = get("logout_uri") {
            if !client.logout_urls.contains(uri) {
                return missing();
            }
            redirect(uri)
        } else if let (Some(uri), Some(rt)) = (get("redirect_uri"), get("response_type")) {
            if !client.callback_urls.contains(uri) {
                return missing();
            }
            let scope = get("scope")
                .cloned()
                .unwrap_or_else(|| client.allowed_oauth_scopes.join(" "));
            let mut pairs = vec![
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", uri),
                ("response_type", rt),
                ("scope", &scope),
            ];
            if let Some(s) = get("state") {
                pairs.push(("state", s));
            }
            redirect(&format!("{}/login?{}", self.base, query_string(&pairs)))
        } else {
            return missing();
        };
        if let Some(sid) = req.cookie(SESSION_COOKIE) {
            let mut st = self.state();
            st.sessions.map.remove(sid);
            // The session's refresh tokens end with it, so an ALB that still holds one cannot
            // quietly renew a session the user ended.
            st.refresh.map.retain(|_, g| g.session != sid);
        }
        add_cookie(
            &mut resp,
            &format!(
                "{SESSION_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{}",
                self.secure()
            ),
        );
        resp
    }
}

/// RFC 7636 sizes PKCE values at 43 to 128 characters.
const PKCE_LEN: std::ops::RangeInclusive<usize> = 43..=128;

/// A `code_challenge`: 43 to 128 characters of the base64url alphabet.
fn pkce_shaped(c: &str) -> bool {
    PKCE_LEN.contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `code_verifier`: 43 to 128 of RFC 3986's unreserved characters (RFC 7636 4.1).
fn verifier_shaped(v: &str) -> bool {
    PKCE_LEN.contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn append_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// base64url of the left half of SHA-256 of the access token (OIDC Core 3.1.3.6).
fn at_hash(access: &str) -> String {
    URL_SAFE_NO_PAD.encode(&digest(&SHA256, access.as_bytes()).as_ref()[..16])
}

/// Secrets compared without leaking, through timing, how much of them matched.
fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

impl crate::http::Service for Cognito {
    fn call(&self, req: Req) -> impl Future<Output = Resp> + Send {
        self.handle(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_with_machine_client() -> Cognito {
        let mut config = PoolConfig::demo("http://localhost:8080", "webclient", "websecret");
        config.clients.push(AppClient {
            client_id: "machine".into(),
            client_secret: Some("machinesecret".into()),
            callback_urls: vec![],
            logout_urls: vec![],
            allowed_oauth_scopes: vec!["lab/read".into(), "lab/write".into()],
            allowed_oauth_flows: vec!["client_credentials".into()],
        });
        Cognito::new(
            "http://127.0.0.1:9229",
            config,
            RsaSigner::generate("id=").unwrap(),
            RsaSigner::generate("access=").unwrap(),
            Arc::new(Trace::default()),
        )
    }

    fn token_request(body: &str, basic: &str) -> Req {
        let req = http::Request::post("/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {}", STANDARD.encode(basic)))
            .body(())
            .unwrap();
        Req {
            parts: req.into_parts().0,
            body: bytes::Bytes::from(body.to_owned()),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    async fn call(c: &Cognito, body: &str, basic: &str) -> (u16, Value) {
        use http_body_util::BodyExt;
        let resp = c.handle(token_request(body, basic)).await;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn client_credentials_gives_an_access_token_with_custom_scopes_only() {
        let c = pool_with_machine_client();
        let (status, body) =
            call(&c, "grant_type=client_credentials", "machine:machinesecret").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let claims = c
            .access_key
            .verify(body["access_token"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims["scope"], "lab/read lab/write");
        assert_eq!(claims["sub"], "machine");
        let (status, body) = call(
            &c,
            "grant_type=client_credentials&scope=lab%2Fread",
            "machine:machinesecret",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            c.access_key
                .verify(body["access_token"].as_str().unwrap())
                .unwrap()["scope"],
            "lab/read"
        );
        let (_, body) = call(
            &c,
            "grant_type=client_credentials&scope=openid",
            "machine:machinesecret",
        )
        .await;
        assert_eq!(body["error"], "invalid_scope");
        let (_, body) = call(&c, "grant_type=client_credentials", "webclient:websecret").await;
        assert_eq!(
            body["error"], "unauthorized_client",
            "a code-flow client may not"
        );
        let (_, body) = call(&c, "grant_type=client_credentials", "machine:wrong").await;
        assert_eq!(body["error"], "invalid_client");
    }
}
