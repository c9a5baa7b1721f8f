//! Public keys fetched by `kid` and cached: the ALB's PEM keys and Cognito's JWKS.
//!
//! Both stores check a key once when it arrives and keep it as a `jsonwebtoken` [`DecodingKey`],
//! because verification sits on every request to `/v1/secrets`. Fetches are serialised by one async mutex so that a burst of requests carrying a
//! new `kid` causes one fetch, not a stampede; lookups never wait for it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};

use crate::error::TokenError;
use crate::jwt::B64;

/// How long an unknown `kid` is remembered before the endpoint is asked again. A forged token
/// with a made-up `kid` must not turn every request into a key fetch.
const NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// The least time between two JWKS downloads triggered by an unknown `kid`.
const JWKS_REFETCH_GAP: Duration = Duration::from_secs(30);
const MAX_REMEMBERED_MISSES: usize = 1024;

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

type Cache = RwLock<HashMap<String, Arc<DecodingKey>>>;

fn cached(cache: &Cache, kid: &str) -> Option<Arc<DecodingKey>> {
    cache.read().ok()?.get(kid).cloned()
}

fn store(cache: &Cache, kid: String, key: DecodingKey) -> Arc<DecodingKey> {
    let key = Arc::new(key);
    if let Ok(mut map) = cache.write() {
        map.insert(kid, key.clone());
    }
    key
}

/// The ALB's signing keys: one PEM (SubjectPublicKeyInfo, P-256) per `kid`, at `<base>/<kid>`.
#[derive(Debug)]
pub struct AlbKeys {
    base: Option<String>,
    http: reqwest::Client,
    cache: Cache,
    misses: tokio::sync::Mutex<HashMap<String, Instant>>,
}

impl AlbKeys {
    /// Keys fetched from `base` (for AWS `https://public-keys.auth.elb.<region>.amazonaws.com`).
    pub fn new(base: impl Into<String>) -> Self {
        Self::build(Some(base.into().trim_end_matches('/').to_owned()))
    }

    /// The ALB key endpoint of an AWS region.
    pub fn for_region(region: &str) -> Self {
        Self::new(Self::region_url(region))
    }

    /// `https://public-keys.auth.elb.<region>.amazonaws.com`.
    pub fn region_url(region: &str) -> String {
        format!("https://public-keys.auth.elb.{region}.amazonaws.com")
    }

    /// No endpoint: only keys added with [`AlbKeys::insert_pem`] are known.
    pub fn offline() -> Self {
        Self::build(None)
    }

    fn build(base: Option<String>) -> Self {
        Self {
            base,
            http: http_client(),
            cache: RwLock::default(),
            misses: tokio::sync::Mutex::default(),
        }
    }

    /// Adds a key by hand (a saved PEM, or the lab's own key).
    pub fn insert_pem(&self, kid: &str, pem: &str) -> Result<(), TokenError> {
        let key = parse_ec_pem(pem).map_err(|reason| TokenError::UnknownKid {
            kid: kid.to_owned(),
            reason,
        })?;
        store(&self.cache, kid.to_owned(), key);
        Ok(())
    }

    /// The key for `kid`, from the cache or the endpoint.
    pub async fn get(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        if let Some(key) = cached(&self.cache, kid) {
            return Ok(key);
        }
        let Some(base) = &self.base else {
            return Err(TokenError::UnknownKid {
                kid: kid.to_owned(),
                reason: "no ALB key URL is configured".into(),
            });
        };
        let mut misses = self.misses.lock().await;
        if let Some(key) = cached(&self.cache, kid) {
            return Ok(key);
        }
        if misses.get(kid).is_some_and(|t| t.elapsed() < NEGATIVE_TTL) {
            return Err(TokenError::UnknownKid {
                kid: kid.to_owned(),
                reason: format!("not published at {base} (asked less than a minute ago)"),
            });
        }
        let url = format!("{base}/{kid}");
        let fetched = async {
            let resp = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN
            {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let body = resp.text().await.map_err(|e| e.to_string())?;
            parse_ec_pem(&body).map(Some)
        }
        .await;
        match fetched {
            Ok(Some(key)) => {
                misses.remove(kid);
                Ok(store(&self.cache, kid.to_owned(), key))
            }
            Ok(None) => {
                if misses.len() >= MAX_REMEMBERED_MISSES {
                    misses.retain(|_, t| t.elapsed() < NEGATIVE_TTL);
                }
                if misses.len() < MAX_REMEMBERED_MISSES {
                    misses.insert(kid.to_owned(), Instant::now());
                }
                Err(TokenError::UnknownKid {
                    kid: kid.to_owned(),
                    reason: format!("{url} has no such key"),
                })
            }
            Err(reason) => Err(TokenError::KeyFetch { url, reason }),
        }
    }
}

/// Reads a `-----BEGIN PUBLIC KEY-----` PEM holding a P-256 key (its SubjectPublicKeyInfo is
/// checked to be one here, so that a bad key is reported when it arrives).
pub fn parse_ec_pem(pem: &str) -> Result<DecodingKey, String> {
    let der = pem_body(pem, "PUBLIC KEY")?;
    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &der)
        .map_err(|e| format!("not a P-256 public key: {e}"))?;
    Ok(DecodingKey::from_ec_der(&der))
}

/// The DER inside the first PEM block labelled `label`.
pub fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| format!("no {begin} line"))? + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no {end} line"))?
        + start;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("PEM body is not base64: {e}"))
}

/// A Cognito user pool's JSON Web Key Set, at `<issuer>/.well-known/jwks.json`.
#[derive(Debug)]
pub struct Jwks {
    url: String,
    http: reqwest::Client,
    cache: Cache,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    /// The key set of `issuer` (the user pool's issuer URL).
    pub fn for_issuer(issuer: &str) -> Self {
        Self::new(format!(
            "{}/.well-known/jwks.json",
            issuer.trim_end_matches('/')
        ))
    }

    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: http_client(),
            cache: RwLock::default(),
            last_fetch: tokio::sync::Mutex::default(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key for `kid`; an unknown `kid` refetches the set once (at most every 30 s).
    pub async fn get(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        if let Some(key) = cached(&self.cache, kid) {
            return Ok(key);
        }
        let mut last = self.last_fetch.lock().await;
        if let Some(key) = cached(&self.cache, kid) {
            return Ok(key);
        }
        if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_GAP) {
            return Err(self.unknown(kid));
        }
        *last = Some(Instant::now());
        let set = self.fetch().await?;
        if let Ok(mut map) = self.cache.write() {
            *map = set;
        }
        cached(&self.cache, kid).ok_or_else(|| self.unknown(kid))
    }

    fn unknown(&self, kid: &str) -> TokenError {
        TokenError::UnknownKid {
            kid: kid.to_owned(),
            reason: format!("not in {}", self.url),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, TokenError> {
        let err = |reason: String| TokenError::KeyFetch {
            url: self.url.clone(),
            reason,
        };
        let resp = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| err(e.to_string()))?;
        parse_jwks(&bytes).map_err(err)
    }
}

/// The RS256 signing keys of a JWKS document, by `kid`. Each key is read as a `jsonwebtoken`
/// [`Jwk`] on its own, so one key of a kind this project does not use (EC, another algorithm)
/// is skipped rather than spoiling the set; each RSA key is checked to be one when it arrives.
pub fn parse_jwks(json: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(json).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let usable = jwk
            .common
            .key_algorithm
            .is_none_or(|a| a == KeyAlgorithm::RS256)
            && jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature);
        let (Some(kid), AlgorithmParameters::RSA(rsa), true) =
            (jwk.common.key_id.clone(), &jwk.algorithm, usable)
        else {
            continue;
        };
        let n = B64
            .decode(&rsa.n)
            .map_err(|e| format!("key {kid}: n: {e}"))?;
        let e = B64
            .decode(&rsa.e)
            .map_err(|e| format!("key {kid}: e: {e}"))?;
        RsaPublicKeyComponents { n: &n, e: &e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|err| format!("key {kid}: {err}"))?;
        // The components already decoded and checked become the key.
        keys.insert(kid, Arc::new(DecodingKey::from_rsa_raw_components(&n, &e)));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../tests/data/alb-real-key.pem");

    #[test]
    fn reads_the_real_alb_key() {
        assert!(parse_ec_pem(REAL).is_ok());
        assert!(
            parse_ec_pem("nothing")
                .unwrap_err()
                .contains("BEGIN PUBLIC KEY")
        );
        let broken = REAL.replace("MFkw", "MFkx");
        assert!(parse_ec_pem(&broken).is_err());
    }

    #[test]
    fn jwks_skips_keys_it_cannot_use() {
        let doc = br#"{"keys":[{"kty":"EC","kid":"x"},{"kty":"RSA","kid":"y","alg":"RS512","n":"AQAB","e":"AQAB"}]}"#;
        assert!(parse_jwks(doc).unwrap().is_empty());
        assert!(parse_jwks(b"[]").is_err());
    }
}
