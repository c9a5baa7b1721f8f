//! Verifying the ALB's `x-amzn-oidc-data` header.
//!
//! The ALB signs `base64url(header) "." base64url(payload)` *with* `=` padding and sends the raw
//! 64-byte r‖s signature, also padded. Most JWT libraries strip or reject the padding and so fail
//! on real tokens; this verifier checks the signature over the text exactly as received.

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::error::TokenError;
use crate::jwt::{Jwt, numeric_date};
use crate::keys::AlbKeys;
use crate::verified::Verified;

/// What a token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbExpectations {
    /// The load balancer's ARN: the header's `signer`.
    pub signer: String,
    /// The identity provider's issuer (Cognito: `https://cognito-idp.<region>.amazonaws.com/<pool>`).
    pub issuer: Option<String>,
    /// The app client id: the header's `client`.
    pub client: Option<String>,
}

/// Verifies `x-amzn-oidc-data` tokens from one load balancer.
#[derive(Debug)]
pub struct AlbVerifier {
    keys: AlbKeys,
    expect: AlbExpectations,
    /// Seconds of clock skew tolerated after `exp`.
    pub leeway: u64,
}

impl AlbVerifier {
    /// What [`AlbVerifier::verify`] checks of a token it passes, for a learner to read.
    pub const CHECKS: &'static [&'static str] = &["signature", "signer", "client", "iss", "exp"];

    pub fn new(keys: AlbKeys, expect: AlbExpectations) -> Self {
        Self {
            keys,
            expect,
            leeway: 0,
        }
    }

    pub fn keys(&self) -> &AlbKeys {
        &self.keys
    }

    pub fn expectations(&self) -> &AlbExpectations {
        &self.expect
    }

    /// Checks `token` at time `now` (Unix seconds).
    ///
    /// The order matters: everything that can be checked without a key (algorithm, `kid`,
    /// `signer`) is checked before a key is fetched, so a forged token cannot make us fetch.
    pub async fn verify(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        let jwt = Jwt::parse(token)?;
        let kid = self.precheck(&jwt)?;
        let key = self.keys.get(kid).await?;
        self.finish(jwt, &key, now)
    }

    fn precheck<'t>(&self, jwt: &'t Jwt<'_>) -> Result<&'t str, TokenError> {
        jwt.require_alg("ES256")?;
        let kid = jwt.header_str("kid").ok_or(TokenError::Missing("kid"))?;
        // The kid becomes part of a URL: only the UUID alphabet may pass (no `/`, `?`, `..`).
        if kid.is_empty()
            || kid.len() > 64
            || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(TokenError::BadKid(kid.to_owned()));
        }
        let signer = jwt
            .header_str("signer")
            .ok_or(TokenError::Missing("signer"))?;
        if signer != self.expect.signer {
            return Err(TokenError::Signer {
                got: signer.to_owned(),
                want: self.expect.signer.clone(),
            });
        }
        Ok(kid)
    }

    fn finish(&self, jwt: Jwt<'_>, key: &DecodingKey, now: u64) -> Result<Verified, TokenError> {
        if jwt.signature.len() != 64 {
            return Err(TokenError::Signature {
                hint: Some("ES256 needs a raw 64-byte r‖s signature"),
            });
        }
        // jsonwebtoken checks the signature over the padded text exactly as received. Its
        // `decode` takes only unpadded segments, so the ALB's tokens go through `verify`, with
        // just the signature's own `=` dropped (it decodes the signature without padding).
        let signed = jsonwebtoken::crypto::verify(
            jwt.signature_text.trim_end_matches('='),
            jwt.signing_input.as_bytes(),
            key,
            Algorithm::ES256,
        );
        if !matches!(signed, Ok(true)) {
            return Err(TokenError::Signature {
                hint: (!jwt.padded).then_some(
                    "the ALB signs its base64url text with = padding; was the padding stripped?",
                ),
            });
        }
        let exp = numeric_date(&jwt.header, "exp")?.ok_or(TokenError::Missing("exp"))?;
        if let Some(payload_exp) = numeric_date(&jwt.claims, "exp")?
            && payload_exp != exp
        {
            return Err(TokenError::ExpMismatch {
                header: exp,
                payload: payload_exp,
            });
        }
        if now > exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired { exp, now });
        }
        let iss = jwt.header_str("iss").ok_or(TokenError::Missing("iss"))?;
        if let Some(want) = &self.expect.issuer
            && iss != want
        {
            return Err(TokenError::Issuer {
                got: iss.to_owned(),
                want: want.clone(),
            });
        }
        if let Some(payload_iss) = jwt.claim_str("iss")
            && payload_iss != iss
        {
            return Err(TokenError::Issuer {
                got: payload_iss.to_owned(),
                want: iss.to_owned(),
            });
        }
        let client = jwt
            .header_str("client")
            .ok_or(TokenError::Missing("client"))?;
        if let Some(want) = &self.expect.client
            && client != want
        {
            return Err(TokenError::Client {
                got: client.to_owned(),
                want: want.clone(),
            });
        }
        if jwt.claim_str("sub").is_none() {
            return Err(TokenError::Missing("sub"));
        }
        Ok(Verified {
            header: jwt.header,
            claims: jwt.claims,
            exp,
        })
    }
}
