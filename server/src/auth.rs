//! What the ALB sent, checked once per request: the route decides with it and the log records it.
//!
//! The app never trusts a header it cannot verify: `x-amzn-oidc-data` must carry a valid ALB
//! signature from the configured load balancer, `x-amzn-oidc-identity` must equal its `sub`, and
//! groups are read only from an access token that verifies and belongs to the same `sub`.

use std::sync::Arc;

use cognito_learning_tokens::cache::DigestCache;
use cognito_learning_tokens::keys::AlbKeys;
use cognito_learning_tokens::{
    AlbExpectations, AlbVerifier, CognitoVerifier, TokenError, TokenUse, Verified,
};
use http::HeaderMap;

use crate::config::Config;
use crate::error::ApiError;

pub use cognito_learning_contract::headers::{
    OIDC_ACCESS_TOKEN as ACCESS, OIDC_DATA as DATA, OIDC_IDENTITY as IDENTITY,
};

/// One token header and what became of it.
#[derive(Debug)]
pub struct TokenReport {
    pub raw: String,
    pub outcome: Result<Arc<Verified>, TokenError>,
}

/// The three ALB headers of one request, verified.
#[derive(Debug, Default)]
pub struct AuthReport {
    pub data: Option<TokenReport>,
    pub access: Option<TokenReport>,
    pub identity: Option<String>,
}

impl AuthReport {
    pub fn is_empty(&self) -> bool {
        self.data.is_none() && self.access.is_none() && self.identity.is_none()
    }
}

/// Who called `/v1/secrets`, from verified tokens only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Caller {
    pub sub: String,
    pub username: Option<String>,
    pub email: Option<String>,
    /// From the verified access token; absent when no access token was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// Tokens verified once are remembered by the SHA-256 of their text: the same text is the same
/// token. Expiry is still checked on every use.
const CACHE_CAP: usize = 4096;

/// The server's verifiers, built once from the configuration.
#[derive(Debug)]
pub struct Verifiers {
    alb: Option<AlbVerifier>,
    cognito: Option<CognitoVerifier>,
    cache: DigestCache<Arc<Verified>>,
    pub required_group: Option<String>,
}

impl Verifiers {
    pub fn new(config: &Config) -> Self {
        let alb = config.alb.as_ref().map(|a| {
            AlbVerifier::new(
                AlbKeys::new(&a.key_url),
                AlbExpectations {
                    signer: a.arn.clone(),
                    issuer: config.issuer.clone(),
                    client: config.client_id.clone(),
                },
            )
        });
        let cognito = match (&config.issuer, &config.client_id) {
            (Some(iss), Some(client)) => Some(CognitoVerifier::new(iss, client)),
            _ => None,
        };
        Self {
            alb,
            cognito,
            cache: DigestCache::new(CACHE_CAP),
            required_group: config.required_group.clone(),
        }
    }

    /// Reads and verifies the three headers (whichever are present) at time `now`.
    pub async fn report(&self, headers: &HeaderMap, now: u64) -> AuthReport {
        let text = |name| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let mut report = AuthReport {
            identity: text(IDENTITY),
            ..AuthReport::default()
        };
        if let Some(raw) = text(DATA) {
            let outcome = match &self.alb {
                None => Err(TokenError::NotConfigured(
                    "this server has no --alb-arn to check the signer against",
                )),
                Some(v) => self.cached(&raw, now, v.verify(&raw, now)).await,
            };
            report.data = Some(TokenReport { raw, outcome });
        }
        if let Some(raw) = text(ACCESS) {
            let outcome = match &self.cognito {
                None => Err(TokenError::NotConfigured(
                    "set --client-id and --user-pool-id (or --cognito-issuer) to verify access tokens",
                )),
                Some(v) => {
                    self.cached(&raw, now, v.verify(&raw, TokenUse::Access, now))
                        .await
                }
            };
            report.access = Some(TokenReport { raw, outcome });
        }
        report
    }

    async fn cached(
        &self,
        raw: &str,
        now: u64,
        verify: impl Future<Output = Result<Verified, TokenError>>,
    ) -> Result<Arc<Verified>, TokenError> {
        let key = DigestCache::<Arc<Verified>>::key(&[raw.as_bytes()]);
        if let Some(hit) = self.cache.get(&key) {
            return if now > hit.exp {
                Err(TokenError::Expired { exp: hit.exp, now })
            } else {
                Ok(hit)
            };
        }
        let v = Arc::new(verify.await?);
        self.cache.insert(key, v.clone());
        Ok(v)
    }

    /// May this request read `/v1/secrets`? Only verified facts count.
    pub fn authorize(&self, report: &AuthReport) -> Result<Caller, ApiError> {
        let unauth = |r: String| Err(ApiError::Unauthenticated(r));
        if self.alb.is_none() {
            return unauth(
                "this server is not set up to verify the ALB's tokens (start it with --alb-arn)"
                    .into(),
            );
        }
        let Some(data) = &report.data else {
            return unauth(format!(
                "no {DATA} header: only requests through the load balancer's authenticate-cognito rule are served"
            ));
        };
        let claims = match &data.outcome {
            Ok(v) => v,
            Err(e) => return unauth(format!("{DATA}: {e}")),
        };
        let sub = claims.claim_str("sub").unwrap_or_default();
        if let Some(id) = &report.identity
            && id != sub
        {
            return unauth(format!(
                "{IDENTITY} {id} does not match the verified sub {sub}"
            ));
        }
        let mut caller = Caller {
            sub: sub.to_owned(),
            username: claims.claim_str("username").map(str::to_owned),
            email: claims.claim_str("email").map(str::to_owned),
            groups: None,
        };
        if let Some(access) = report.access.as_ref().and_then(|a| a.outcome.as_ref().ok())
            && access.claim_str("sub") == Some(sub)
        {
            caller.groups = Some(access.groups().into_iter().map(str::to_owned).collect());
        }
        let Some(group) = &self.required_group else {
            return Ok(caller);
        };
        let access = match &report.access {
            None => return unauth(format!("no {ACCESS} header, so no groups to check")),
            Some(TokenReport {
                outcome: Err(e), ..
            }) => return unauth(format!("{ACCESS}: {e}")),
            Some(TokenReport { outcome: Ok(a), .. }) => a,
        };
        let access_sub = access.claim_str("sub").unwrap_or_default();
        if access_sub != sub {
            return unauth(format!(
                "the access token belongs to {access_sub}, the user claims to {sub}"
            ));
        }
        let groups = access.groups();
        if !groups.contains(&group.as_str()) {
            let who = caller.username.as_deref().unwrap_or(sub);
            let have = if groups.is_empty() {
                "none".into()
            } else {
                groups.join(", ")
            };
            return Err(ApiError::Forbidden(format!(
                "{who} is not in group {group} (groups: {have})"
            )));
        }
        Ok(caller)
    }
}
