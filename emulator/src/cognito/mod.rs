//! The Cognito stand-in: a user pool's hosted UI and OAuth 2.0 / OIDC endpoints.
//!
//! Reproduces what AWS documents (and, where it is silent, what real captures show): the issuer
//! with discovery and JWKS under it, `/oauth2/authorize` with exact `redirect_uri` matching and
//! PKCE S256, the hosted-UI `/login` with its `XSRF-TOKEN` cookie, `/oauth2/token` for the code,
//! refresh and client-credentials grants, `/oauth2/userInfo` with Cognito's string booleans, and
//! `/logout` in both documented forms. The hosted UI keeps its own `cognito` session cookie for
//! an hour: while it lives, `/oauth2/authorize` issues a new code without showing the form.

pub mod config;
pub mod directory;
mod hosted_ui;
mod lockout;
mod logout;
mod pages;
mod store;
mod token;
mod userinfo;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{Method, StatusCode, header};
use serde_json::{Map, Value, json};

use cognito_learning_tokens::sign::RsaSigner;
use cognito_learning_tokens::time::Clock;

pub use config::{AppClient, Lifetimes, PoolConfig, User};
pub use directory::Directory;

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

/// A user who gave a temporary password and must now choose one (`NEW_PASSWORD_REQUIRED`).
#[derive(Debug)]
struct NewPassword {
    username: String,
    expires: u64,
}

impl Expiring for NewPassword {
    fn expires(&self) -> u64 {
        self.expires
    }
}

/// How long the hosted UI waits for the new password (an auth session, `AuthSessionValidity`'s
/// 3-minute default).
const NEW_PASSWORD_WINDOW: u64 = 180;

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
    new_passwords: Store<NewPassword>,
    /// By username; only users of the pool are counted, so it is as bounded as the pool.
    failures: HashMap<String, Failures>,
}

/// A user pool with its domain.
#[derive(Debug)]
pub struct Cognito {
    /// The domain, e.g. `http://127.0.0.1:9229`.
    pub base: String,
    /// The pools the control plane holds; the data plane serves one of them.
    pub directory: Arc<Directory>,
    id_key: RsaSigner,
    access_key: RsaSigner,
    trace: Arc<Trace>,
    state: Mutex<State>,
    /// The lab's clock: codes, tokens, refresh tokens and the hosted-UI session expire by it.
    pub clock: Clock,
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
        directory: Arc<Directory>,
        id_key: RsaSigner,
        access_key: RsaSigner,
        trace: Arc<Trace>,
    ) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            directory,
            id_key,
            access_key,
            trace,
            state: Mutex::default(),
            clock: Clock::default(),
        }
    }

    /// `<domain>/<pool id>`: on AWS this is `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub fn issuer(&self) -> String {
        format!("{}/{}", self.base, self.directory.served_id())
    }

    /// The served pool as it is now: what the last control-plane change left.
    pub fn pool(&self) -> Arc<PoolConfig> {
        self.directory.served()
    }

    /// Revokes every refresh token issued to `username` (a global sign-out, a deleted user):
    /// an ALB holding one is sent to sign in at its next refresh. The hosted-UI session is not
    /// a token, and stays.
    pub fn sign_out_everywhere(&self, username: &str) {
        self.state()
            .refresh
            .map
            .retain(|_, g| g.username != username);
    }

    /// `RevokeToken`: the refresh token, and every one issued from the same sign-in, if it was
    /// issued to `client`.
    pub fn revoke_refresh_token(&self, token: &str, client: &str) {
        let mut st = self.state();
        let origin = st
            .refresh
            .map
            .get(token)
            .filter(|g| g.client_id == client)
            .map(|g| g.origin_jti.clone());
        if let Some(origin) = origin {
            st.refresh.map.retain(|_, g| g.origin_jti != origin);
        }
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
        let served = self.pool();
        let pool = format!("/{}", served.pool_id);
        let path = req.path().to_owned();
        let under_issuer = path.starts_with(&format!("{pool}/"));
        let resp = match (&req.parts.method, path.as_str()) {
            // A deleted pool has no issuer; a pool without a domain has no hosted UI or OAuth
            // endpoints (on AWS its domain name would not resolve at all).
            _ if under_issuer && !served.exists => json_resp(
                StatusCode::BAD_REQUEST,
                &json!({"__type": "ResourceNotFoundException", "message": format!("User pool {} does not exist.", served.pool_id)}),
            ),
            _ if !under_issuer && served.domain_version.is_none() => html(
                StatusCode::NOT_FOUND,
                pages::error(
                    "This user pool has no domain, so it has no sign-in pages or OAuth 2.0 endpoints (aws cognito-idp create-user-pool-domain gives it one).",
                ),
            ),
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
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| format!("→ {}", short(l)));
            let cookies = crate::trace::cookie_note(resp.headers());
            let note = [location, cookies]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            let ex = crate::trace::request(
                &req.parts.method,
                crate::trace::url_of(&req.parts),
                &req.parts.headers,
                &req.body,
            );
            self.trace.emit(
                began,
                (from, Actor::Cognito),
                format!("{} {}", req.parts.method, path),
                resp.status().as_u16(),
                note,
                crate::trace::answered(ex, resp.headers(), resp.body().bytes()),
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

/// Secrets compared without leaking, through timing, how much of them matched.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
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
            oauth_enabled: true,
            identity_providers: vec![],
            branded: true,
        });
        Cognito::new(
            "http://127.0.0.1:9229",
            Arc::new(Directory::open(None, &config).unwrap()),
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
