//! The ALB's sealed values: the session cookie (sharded at 4 KB) and the `state` parameter.
//!
//! Both are AES-256-GCM with the lab's session key, the cookie name (or "state") as associated
//! data, and standard base64 on the wire as real ALB cookies show (`+`, `/`, `=`; never
//! URL-encoded). A changed byte, a shard from another cookie or a value sealed for another
//! purpose fails to open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

/// A cookie larger than this is split into `<name>-0`, `<name>-1`, …
pub const SHARD: usize = 4000;
/// The ALB supports up to 16K of cookie in total: 4 shards.
pub const MAX_SHARDS: usize = 4;
/// User claims plus access token above this give HTTP 500 (`ELBAuthUserClaimsSizeExceeded`).
pub const MAX_CLAIMS: usize = 11 * 1024;

/// What the session cookie carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub sub: String,
    /// The userInfo response, as received: the payload of `x-amzn-oidc-data`.
    pub userinfo: Map<String, Value>,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub access_exp: u64,
    /// Login time plus `SessionTimeout`.
    pub session_exp: u64,
}

/// What the `state` parameter carries across the login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// Equals the `AWSALBAuthNonce` cookie.
    pub nonce: String,
    /// Path and query to return to.
    pub uri: String,
    /// When the login started (the ALB allows 15 minutes).
    pub started: u64,
    /// The rule's session cookie name and app client, which say which rule to finish.
    pub cookie: String,
    #[serde(default)]
    pub client: String,
}

pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .unwrap_or_else(|_| unreachable!("32 bytes is an AES-256 key"));
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    pub fn seal<T: Serialize>(&self, value: &T, purpose: &str) -> Option<String> {
        let mut data = serde_json::to_vec(value).ok()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(STANDARD.encode(out))
    }

    pub fn open<T: DeserializeOwned>(&self, text: &str, purpose: &str) -> Option<T> {
        let mut bytes = STANDARD.decode(text).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let mut data = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose), &mut data)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

/// `(name, value)` pairs for a sealed session, or `None` when it needs more than 4 shards.
pub fn shard(name: &str, sealed: &str) -> Option<Vec<(String, String)>> {
    let chunks: Vec<&str> = sealed
        .as_bytes()
        .chunks(SHARD)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    (chunks.len() <= MAX_SHARDS).then(|| {
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{name}-{i}"), (*c).to_owned()))
            .collect()
    })
}

/// Joins `<name>-0…` from the request's cookies, stopping at the first missing shard.
pub fn unshard<'a>(name: &str, mut cookie: impl FnMut(&str) -> Option<&'a str>) -> Option<String> {
    let mut out = String::new();
    for i in 0..MAX_SHARDS {
        match cookie(&format!("{name}-{i}")) {
            Some(v) => out.push_str(v),
            None => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(size: usize) -> Session {
        Session {
            sub: "s".into(),
            userinfo: Map::new(),
            access_token: "a".repeat(size),
            refresh_token: None,
            access_exp: 1,
            session_exp: 2,
        }
    }

    #[test]
    fn sealed_sessions_open_only_with_their_name_and_key() {
        let s = Sealer::new(&[7; 32]);
        let sealed = s.seal(&session(10), "AWSELBAuthSessionCookie").unwrap();
        assert_eq!(
            s.open::<Session>(&sealed, "AWSELBAuthSessionCookie"),
            Some(session(10))
        );
        assert_eq!(s.open::<Session>(&sealed, "OtherCookie"), None);
        assert_eq!(
            Sealer::new(&[8; 32]).open::<Session>(&sealed, "AWSELBAuthSessionCookie"),
            None
        );
        let mut tampered = sealed.clone().into_bytes();
        tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            s.open::<Session>(
                std::str::from_utf8(&tampered).unwrap(),
                "AWSELBAuthSessionCookie"
            ),
            None
        );
    }

    #[test]
    fn large_sessions_shard_at_4k_and_rejoin() {
        let s = Sealer::new(&[7; 32]);
        let sealed = s.seal(&session(9000), "C").unwrap();
        let shards = shard("C", &sealed).unwrap();
        assert_eq!(shards.len(), sealed.len().div_ceil(SHARD));
        assert!(shards.len() > 1);
        assert!(shards.iter().all(|(_, v)| v.len() <= SHARD));
        let joined = unshard("C", |n| {
            shards.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str())
        })
        .unwrap();
        assert_eq!(joined, sealed);
        assert!(shard("C", &"x".repeat(SHARD * MAX_SHARDS + 1)).is_none());
    }
}
