//! Verifying Cognito ID and access tokens (RS256, keys from the pool's JWKS).

use crate::error::TokenError;
use crate::jwt::{Jwt, numeric_date};
use crate::keys::Jwks;
use crate::verified::Verified;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

/// Which Cognito token is expected: the two carry different claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// `token_use: "id"`, audience in `aud`.
    Id,
    /// `token_use: "access"`, client in `client_id`, no `aud`.
    Access,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// Verifies the tokens of one user pool and app client.
#[derive(Debug)]
pub struct CognitoVerifier {
    issuer: String,
    client_id: String,
    jwks: Jwks,
    /// Seconds of clock skew tolerated after `exp`.
    pub leeway: u64,
}

impl CognitoVerifier {
    /// What [`CognitoVerifier::verify`] checks of a `want` token it passes, for a learner to
    /// read.
    pub fn checks(want: TokenUse) -> &'static [&'static str] {
        match want {
            TokenUse::Access => &["signature", "iss", "client_id", "token_use", "exp"],
            TokenUse::Id => &["signature", "iss", "aud", "token_use", "exp"],
        }
    }

    /// Keys from `<issuer>/.well-known/jwks.json`.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let jwks = Jwks::for_issuer(&issuer);
        Self::with_jwks(issuer, client_id, jwks)
    }

    pub fn with_jwks(issuer: impl Into<String>, client_id: impl Into<String>, jwks: Jwks) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            jwks,
            leeway: 0,
        }
    }

    /// The issuer of a Cognito user pool on AWS.
    pub fn aws_issuer(region: &str, user_pool_id: &str) -> String {
        format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Checks `token` as a `want` token at time `now` (Unix seconds).
    pub async fn verify(
        &self,
        token: &str,
        want: TokenUse,
        now: u64,
    ) -> Result<Verified, TokenError> {
        let jwt = Jwt::parse(token)?;
        jwt.require_alg("RS256")?;
        let kid = jwt.header_str("kid").ok_or(TokenError::Missing("kid"))?;
        // Claims that need no key come first, so a token from elsewhere costs no JWKS fetch.
        let iss = jwt.claim_str("iss").ok_or(TokenError::Missing("iss"))?;
        if iss != self.issuer {
            return Err(TokenError::Issuer {
                got: iss.to_owned(),
                want: self.issuer.clone(),
            });
        }
        let token_use = jwt
            .claim_str("token_use")
            .ok_or(TokenError::Missing("token_use"))?;
        if token_use != want.as_str() {
            return Err(TokenError::TokenUse {
                got: token_use.to_owned(),
                want: want.as_str(),
            });
        }
        let (name, client) = match want {
            TokenUse::Access => ("client_id", jwt.claim_str("client_id")),
            TokenUse::Id => ("aud", jwt.claim_str("aud")),
        };
        let client = client.ok_or(TokenError::Missing(name))?;
        if client != self.client_id {
            let (got, expected) = (client.to_owned(), self.client_id.clone());
            return Err(match want {
                TokenUse::Id => TokenError::Audience {
                    got,
                    want: expected,
                },
                TokenUse::Access => TokenError::Client {
                    got,
                    want: expected,
                },
            });
        }
        let key = self.jwks.get(kid).await?;
        // The signature, issuer and audience as jsonwebtoken checks them. The reasons above
        // came first because they say more than its errors; `exp` is checked below against the
        // caller's `now`, which may be the time a logged request was made.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[self.issuer.as_str()]);
        match want {
            TokenUse::Id => validation.set_audience(&[self.client_id.as_str()]),
            TokenUse::Access => validation.validate_aud = false,
        }
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token.trim(),
            &key,
            &validation,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Signature { hint: None },
            _ => TokenError::Signature {
                hint: Some("the token's text does not decode as Cognito encodes it"),
            },
        })?;
        let exp = numeric_date(&jwt.claims, "exp")?.ok_or(TokenError::Missing("exp"))?;
        if now > exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired { exp, now });
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
