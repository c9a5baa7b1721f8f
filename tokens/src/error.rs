use crate::time::{ago, utc};

/// Why a token was not accepted. `Display` is one line, meant for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("empty token")]
    Empty,
    #[error("token is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("not a JWT: expected 3 dot-separated parts, found {0}")]
    Parts(usize),
    #[error("{part} is not base64url: {reason}")]
    Base64 { part: &'static str, reason: String },
    #[error("{part} is not a JSON object: {reason}")]
    Json { part: &'static str, reason: String },
    #[error("alg is {got}, expected {want}")]
    Alg { got: String, want: &'static str },
    #[error("missing claim {0}")]
    Missing(&'static str),
    #[error("claim {name} is malformed: {reason}")]
    Claim { name: &'static str, reason: String },
    #[error("kid {0:?} is not a key id this verifier will look up")]
    BadKid(String),
    #[error("unknown kid {kid}: {reason}")]
    UnknownKid { kid: String, reason: String },
    #[error("could not fetch keys from {url}: {reason}")]
    KeyFetch { url: String, reason: String },
    #[error("bad signature{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Signature { hint: Option<&'static str> },
    #[error("wrong signer {got}, expected {want}")]
    Signer { got: String, want: String },
    #[error("wrong issuer {got}, expected {want}")]
    Issuer { got: String, want: String },
    #[error("wrong client {got}, expected {want}")]
    Client { got: String, want: String },
    #[error("wrong audience {got}, expected {want}")]
    Audience { got: String, want: String },
    #[error("token_use is {got}, expected {want}")]
    TokenUse { got: String, want: &'static str },
    #[error("exp in the header ({header}) differs from exp in the payload ({payload})")]
    ExpMismatch { header: u64, payload: u64 },
    #[error("expired {} (exp {})", ago(*now, *exp), utc(*exp))]
    Expired { exp: u64, now: u64 },
    #[error("not verified: {0}")]
    NotConfigured(&'static str),
}
