//! The user pool, its app client and users: what a lab config file may set.

use serde::{Deserialize, Serialize};

/// A user of the lab's pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub password: String,
    pub email: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Stable across restarts; derived from the username when not given.
    #[serde(default)]
    pub sub: Option<String>,
    /// `FORCE_CHANGE_PASSWORD`: made by AdminCreateUser, or given a password that is not
    /// permanent; the hosted UI asks for a new password after the temporary one.
    #[serde(default)]
    pub must_change_password: bool,
}

impl User {
    pub fn sub(&self) -> String {
        self.sub
            .clone()
            .unwrap_or_else(|| stable_uuid(&self.username))
    }
}

/// A UUID-shaped id derived from a name, so the demo users keep their `sub` across restarts.
pub fn stable_uuid(name: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    crate::state::format_uuid(b)
}

/// An app client, as `CreateUserPoolClient` describes one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AppClient {
    pub client_id: String,
    /// `None`: a public client.
    pub client_secret: Option<String>,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub allowed_oauth_scopes: Vec<String>,
    /// `code`, `implicit`, `client_credentials`.
    pub allowed_oauth_flows: Vec<String>,
    /// `AllowedOAuthFlowsUserPoolClient`: without it the client has no OAuth at all.
    #[serde(default = "yes")]
    pub oauth_enabled: bool,
    /// `SupportedIdentityProviders`: the hosted UI offers its own form only with `COGNITO`.
    #[serde(default = "cognito_provider")]
    pub identity_providers: Vec<String>,
    /// Whether the client has a managed-login branding style (needed on a version 2 domain).
    #[serde(default = "yes")]
    pub branded: bool,
}

fn yes() -> bool {
    true
}

fn cognito_provider() -> Vec<String> {
    vec!["COGNITO".into()]
}

/// Token lifetimes in seconds (AWS defaults: 1 h, 1 h, 30 days; hosted-UI session 1 h).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    pub id_token: u64,
    pub access_token: u64,
    pub refresh_token: u64,
    pub hosted_ui_session: u64,
    pub auth_code: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            id_token: 3600,
            access_token: 3600,
            refresh_token: 30 * 86_400,
            hosted_ui_session: 3600,
            auth_code: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoolConfig {
    pub region: String,
    pub pool_id: String,
    pub clients: Vec<AppClient>,
    pub users: Vec<User>,
    pub lifetimes: Lifetimes,
    /// The managed-login version of the pool's domain; `None` when the pool has no domain (or,
    /// deleted, no longer exists), and then the hosted UI has nothing to serve.
    #[serde(default = "classic")]
    pub domain_version: Option<u8>,
    /// `false` once the pool is deleted: its issuer's discovery and keys are gone too.
    #[serde(default = "yes")]
    pub exists: bool,
}

fn classic() -> Option<u8> {
    Some(1)
}

impl AppClient {
    /// Whether `given` is this client's secret (compared in constant time), or both are absent
    /// for a public client.
    pub fn secret_matches(&self, given: Option<&str>) -> bool {
        match (&self.client_secret, given) {
            (Some(want), Some(got)) => super::constant_time_eq(want, got),
            (None, None) => true,
            _ => false,
        }
    }
}

impl PoolConfig {
    /// The demo pool: users alice (in `secret-readers`) and bob, one confidential client whose
    /// callback and sign-out URLs point at `site` (the ALB stand-in's URL).
    pub fn demo(site: &str, client_id: &str, client_secret: &str) -> Self {
        let user = |name: &str, groups: &[&str]| User {
            username: name.into(),
            password: "Passw0rd!".into(),
            email: format!("{name}@example.com"),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            sub: None,
            must_change_password: false,
        };
        Self {
            region: "eu-west-1".into(),
            pool_id: "eu-west-1_LocalLab1".into(),
            clients: vec![AppClient {
                client_id: client_id.into(),
                client_secret: Some(client_secret.into()),
                callback_urls: vec![format!("{site}/oauth2/idpresponse")],
                logout_urls: vec![format!("{site}/logout")],
                allowed_oauth_scopes: vec!["openid".into(), "email".into(), "profile".into()],
                allowed_oauth_flows: vec!["code".into()],
                oauth_enabled: true,
                identity_providers: cognito_provider(),
                branded: true,
            }],
            users: vec![user("alice", &["secret-readers"]), user("bob", &[])],
            lifetimes: Lifetimes::default(),
            domain_version: classic(),
            exists: true,
        }
    }

    pub fn client(&self, id: &str) -> Option<&AppClient> {
        self.clients.iter().find(|c| c.client_id == id)
    }

    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn user_by_sub(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub() == sub)
    }
}
