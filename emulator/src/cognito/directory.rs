//! The user pools the lab holds, as Cognito's control plane describes them: pools with their
//! domain, app clients, groups and users. `aws cognito-idp` calls change them
//! (`crate::aws::cognito_idp`); the hosted UI, the token endpoint and userInfo read the pool the
//! lab serves through [`Directory::served`], a snapshot rebuilt after every change, so a change
//! takes effect at the next request.
//!
//! The whole directory is one small JSON file in the state directory (0600), written after each
//! change, so what a learner built survives a restart. It remembers the pool the lab was started
//! with (its seed); a lab started with another seed (another `--config`) starts from that one.
//! URLs on the lab's own ALB (`http://localhost:PORT`) follow the ALB to its port of the day.
//! Every list is bounded, so the file is too.

use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::config::{AppClient, Lifetimes, PoolConfig, User};
use crate::aws::ApiError;
use crate::saved::Saved;

pub const FILE: &str = "cognito-idp.json";
pub const ACCOUNT: &str = "123456789012";
pub const MAX_POOLS: usize = 20;
pub const MAX_CLIENTS: usize = 50;
pub const MAX_GROUPS: usize = 100;
pub const MAX_USERS: usize = 1000;
/// The domain prefix of the lab's own pool.
pub const LAB_DOMAIN: &str = "cognito-learning-lab";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub created: f64,
    pub modified: f64,
    pub tier: String,
    pub deletion_protection: String,
    pub admin_create_user_only: bool,
    pub domain: Option<Domain>,
    pub clients: Vec<Client>,
    pub groups: Vec<Group>,
    pub users: Vec<PoolUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Domain {
    pub prefix: String,
    pub managed_login_version: u8,
    /// When it was made: the lab's hosted UI serves the pool whose domain is newest.
    #[serde(default)]
    pub created: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret: Option<String>,
    pub created: f64,
    pub modified: f64,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub flows: Vec<String>,
    pub scopes: Vec<String>,
    pub oauth_enabled: bool,
    pub providers: Vec<String>,
    pub explicit_auth_flows: Vec<String>,
    /// The id of its managed-login branding style, once it has one.
    pub branding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub name: String,
    pub description: Option<String>,
    pub precedence: Option<i64>,
    pub created: f64,
    pub modified: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PoolUser {
    pub username: String,
    pub sub: String,
    pub password: String,
    /// `CONFIRMED` or `FORCE_CHANGE_PASSWORD`.
    pub status: String,
    pub enabled: bool,
    /// `email`, `email_verified`, … (`sub` is kept apart).
    pub attributes: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub created: f64,
    pub modified: f64,
}

impl PoolUser {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Pool {
    pub fn arn(&self, region: &str) -> String {
        format!(
            "arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{}",
            self.id
        )
    }
}

#[derive(Debug)]
pub struct Directory {
    pub region: String,
    /// The pool whose hosted UI, tokens and issuer the lab serves (the lab has one hosted-UI
    /// origin): the one the ALB's authenticate rule names, if it has a domain; else the one
    /// whose domain is newest; else the last one served.
    served_id: RwLock<String>,
    /// The pool the ALB's rule names.
    preferred: RwLock<Option<String>>,
    lifetimes: Lifetimes,
    saved: Saved<Vec<Pool>>,
    snapshot: RwLock<Arc<PoolConfig>>,
}

/// Seconds since the epoch, as the JSON protocol writes dates.
pub fn epoch() -> f64 {
    cognito_learning_tokens::time::now_millis() as f64 / 1000.0
}

impl Directory {
    /// The directory kept in `state_dir`, or a new one grown from `seed` (the lab's pool).
    pub fn open(state_dir: Option<&Path>, seed: &PoolConfig) -> anyhow::Result<Self> {
        Self::open_as(state_dir, seed, false)
    }

    /// With `blank`, the directory starts with no pool at all (`lab --blank`): the seed then
    /// gives only the region and token lifetimes.
    pub fn open_as(
        state_dir: Option<&Path>,
        seed: &PoolConfig,
        blank: bool,
    ) -> anyhow::Result<Self> {
        // The lab's own URLs move with its ports, so they are not part of what makes a seed.
        let mut key = seed.clone();
        for c in &mut key.clients {
            c.callback_urls.clear();
            c.logout_urls.clear();
        }
        let seed_json = if blank {
            "blank".to_owned()
        } else {
            serde_json::to_string(&key)?
        };
        let saved = Saved::open(
            state_dir.map(|d| d.join(FILE)),
            "its user pools",
            seed_json,
            || Ok(if blank { vec![] } else { vec![from_seed(seed)] }),
        )?;
        let dir = Self {
            region: seed.region.clone(),
            served_id: RwLock::new(if blank {
                String::new()
            } else {
                seed.pool_id.clone()
            }),
            preferred: RwLock::new(None),
            lifetimes: seed.lifetimes,
            snapshot: RwLock::new(Arc::new(seed.clone())),
            saved,
        };
        // URLs on the lab's own ALB follow it to its port of the day.
        if let Some(origin) = seed
            .clients
            .first()
            .and_then(|c| c.callback_urls.first())
            .and_then(|u| lab_origin(u))
        {
            dir.write(|pools| {
                for url in pools
                    .iter_mut()
                    .flat_map(|p| &mut p.clients)
                    .flat_map(|c| c.callback_urls.iter_mut().chain(c.logout_urls.iter_mut()))
                {
                    if let Some(old) = lab_origin(url) {
                        *url = format!("{origin}{}", &url[old.len()..]);
                    }
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        }
        dir.rebuild();
        Ok(dir)
    }

    /// The id of the pool the hosted UI serves.
    pub fn served_id(&self) -> String {
        self.served().pool_id.clone()
    }

    /// Serves `pool` (the one the ALB's rule names) whenever it has a domain.
    pub fn prefer(&self, pool: &str) {
        let mut preferred = self
            .preferred
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if preferred.as_deref() == Some(pool) {
            return;
        }
        *preferred = Some(pool.to_owned());
        drop(preferred);
        self.rebuild();
    }

    pub fn generation(&self) -> u64 {
        self.saved.generation()
    }

    /// What the data plane serves now.
    pub fn served(&self) -> Arc<PoolConfig> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn read<R>(&self, f: impl FnOnce(&[Pool]) -> R) -> R {
        self.saved.read(|pools| f(pools))
    }

    /// Runs a change; when it succeeds, the directory is saved and the data plane sees it. A
    /// change checks what it is given before it changes anything, so a refused one changes
    /// nothing.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Vec<Pool>) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        self.saved.write(f, || self.rebuild())
    }

    fn rebuild(&self) {
        let mut served_id = self
            .served_id
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let preferred = self
            .preferred
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let config = self.read(|pools| {
            if let Some(p) = pools
                .iter()
                .find(|p| Some(&p.id) == preferred.as_ref() && p.domain.is_some())
            {
                p.id.clone_into(&mut served_id);
            } else if let Some(newest) = pools
                .iter()
                .filter_map(|p| Some((p, p.domain.as_ref()?.created)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
            {
                newest.0.id.clone_into(&mut served_id);
            }
            let pool = pools.iter().find(|p| p.id == *served_id);
            to_config(&self.region, &served_id, self.lifetimes, pool)
        });
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
    }
}

/// `http://localhost:PORT` at the start of `url`: the lab's own ALB, wherever it listens.
fn lab_origin(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://localhost:")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| &url[.."http://localhost:".len() + digits])
}

/// The data plane's view of a pool (or of a deleted one).
fn to_config(region: &str, id: &str, lifetimes: Lifetimes, pool: Option<&Pool>) -> PoolConfig {
    let Some(pool) = pool else {
        return PoolConfig {
            region: region.into(),
            pool_id: id.into(),
            clients: vec![],
            users: vec![],
            lifetimes,
            domain_version: None,
            exists: false,
        };
    };
    PoolConfig {
        region: region.into(),
        pool_id: id.into(),
        clients: pool
            .clients
            .iter()
            .map(|c| AppClient {
                client_id: c.id.clone(),
                client_secret: c.secret.clone(),
                callback_urls: c.callback_urls.clone(),
                logout_urls: c.logout_urls.clone(),
                allowed_oauth_scopes: c.scopes.clone(),
                allowed_oauth_flows: c.flows.clone(),
                oauth_enabled: c.oauth_enabled,
                identity_providers: c.providers.clone(),
                branded: c.branding.is_some(),
            })
            .collect(),
        users: pool
            .users
            .iter()
            .filter(|u| u.enabled)
            .map(|u| User {
                username: u.username.clone(),
                password: u.password.clone(),
                email: u.attribute("email").unwrap_or_default().to_owned(),
                groups: u.groups.clone(),
                sub: Some(u.sub.clone()),
                must_change_password: u.status == "FORCE_CHANGE_PASSWORD",
            })
            .collect(),
        lifetimes,
        domain_version: pool.domain.as_ref().map(|d| d.managed_login_version),
        exists: true,
    }
}

/// The lab's own pool, as the control plane would describe it had a learner built it: an
/// admin-only pool with a classic hosted-UI domain, the ALB's client and the demo users.
fn from_seed(seed: &PoolConfig) -> Pool {
    let t = epoch();
    let mut groups: Vec<Group> = Vec::new();
    for g in seed.users.iter().flat_map(|u| &u.groups) {
        if !groups.iter().any(|x| &x.name == g) {
            groups.push(Group {
                name: g.clone(),
                description: None,
                precedence: None,
                created: t,
                modified: t,
            });
        }
    }
    Pool {
        id: seed.pool_id.clone(),
        name: "cognito-learning".into(),
        created: t,
        modified: t,
        tier: "ESSENTIALS".into(),
        deletion_protection: "INACTIVE".into(),
        admin_create_user_only: true,
        domain: seed.domain_version.map(|v| Domain {
            prefix: LAB_DOMAIN.into(),
            managed_login_version: v,
            created: t,
        }),
        clients: seed
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| Client {
                id: c.client_id.clone(),
                name: if i == 0 {
                    "alb".into()
                } else {
                    format!("client-{i}")
                },
                secret: c.client_secret.clone(),
                created: t,
                modified: t,
                callback_urls: c.callback_urls.clone(),
                logout_urls: c.logout_urls.clone(),
                flows: c.allowed_oauth_flows.clone(),
                scopes: c.allowed_oauth_scopes.clone(),
                oauth_enabled: c.oauth_enabled,
                providers: c.identity_providers.clone(),
                explicit_auth_flows: vec!["ALLOW_REFRESH_TOKEN_AUTH".into()],
                branding: c.branded.then(crate::state::uuid),
            })
            .collect(),
        groups,
        users: seed
            .users
            .iter()
            .map(|u| PoolUser {
                username: u.username.clone(),
                sub: u.sub(),
                password: u.password.clone(),
                status: if u.must_change_password {
                    "FORCE_CHANGE_PASSWORD".into()
                } else {
                    "CONFIRMED".into()
                },
                enabled: true,
                attributes: vec![
                    ("email".into(), u.email.clone()),
                    ("email_verified".into(), "true".into()),
                ],
                groups: u.groups.clone(),
                created: t,
                modified: t,
            })
            .collect(),
    }
}
