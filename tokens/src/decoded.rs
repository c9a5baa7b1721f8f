//! A JWT made readable: what kind it is, its header and claims, and its times in words.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::TokenError;
use crate::jwt::Jwt;
use crate::time::{ago, left, utc};

/// What a token looks like it is (from its shape, not from a verified signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// `x-amzn-oidc-data`: ES256, `signer` in the header.
    AlbData,
    /// A Cognito access token (`token_use: access`).
    CognitoAccess,
    /// A Cognito ID token (`token_use: id`).
    CognitoId,
    /// Some other JWT.
    Jwt,
}

impl TokenKind {
    pub fn label(self) -> &'static str {
        match self {
            TokenKind::AlbData => "ALB user claims (x-amzn-oidc-data)",
            TokenKind::CognitoAccess => "Cognito access token",
            TokenKind::CognitoId => "Cognito ID token",
            TokenKind::Jwt => "JWT",
        }
    }
}

/// One of `exp`, `iat`, `auth_time`, `nbf` in readable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeClaim {
    pub name: &'static str,
    pub unix: u64,
    pub utc: String,
    /// `59 min left`, `expired 3 min ago`, `2 h ago`.
    pub relative: String,
}

/// A decoded, unverified token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decoded {
    pub kind: TokenKind,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub times: Vec<TimeClaim>,
    /// Whether the text carried `=` padding (the ALB always pads).
    pub padded: bool,
}

impl Decoded {
    /// Decodes `token`, describing its times relative to `now`.
    pub fn parse(token: &str, now: u64) -> Result<Self, TokenError> {
        let jwt = Jwt::parse(token)?;
        let kind = if jwt.header.contains_key("signer") {
            TokenKind::AlbData
        } else {
            match jwt.claim_str("token_use") {
                Some("access") => TokenKind::CognitoAccess,
                Some("id") => TokenKind::CognitoId,
                _ => TokenKind::Jwt,
            }
        };
        let mut times = Vec::new();
        for name in ["exp", "iat", "auth_time", "nbf"] {
            // The ALB puts exp in the header too; the payload's copy is the one shown.
            let value = jwt
                .claims
                .get(name)
                .or_else(|| jwt.header.get(name))
                .and_then(Value::as_u64);
            if let Some(unix) = value {
                let relative = if name == "exp" {
                    left(now, unix)
                } else if unix > now {
                    format!("in {}", crate::time::span(unix - now))
                } else {
                    ago(now, unix)
                };
                times.push(TimeClaim {
                    name,
                    unix,
                    utc: utc(unix),
                    relative,
                });
            }
        }
        Ok(Decoded {
            kind,
            header: jwt.header,
            claims: jwt.claims,
            times,
            padded: jwt.padded,
        })
    }

    /// Header, claims and times as indented text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.kind.label());
        let pretty = |m: &Map<String, Value>| {
            serde_json::to_string_pretty(m).unwrap_or_else(|e| e.to_string())
        };
        out.push_str(&format!("header  {}\n", indent(&pretty(&self.header))));
        out.push_str(&format!("claims  {}\n", indent(&pretty(&self.claims))));
        for t in &self.times {
            out.push_str(&format!(
                "{:<9} {} ({}, {})\n",
                t.name, t.unix, t.utc, t.relative
            ));
        }
        if self.padded {
            out.push_str("encoding  base64url with = padding, as the ALB sends it\n");
        }
        out
    }
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n        ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../tests/data/alb-real-token.txt");

    #[test]
    fn recognises_the_real_alb_token_and_its_times() {
        let d = Decoded::parse(REAL, 1_687_747_925).unwrap();
        assert_eq!(d.kind, TokenKind::AlbData);
        assert_eq!(d.claims["username"], "duke");
        assert_eq!(d.claims["email_verified"], "true");
        assert_eq!(d.times.len(), 1, "the ALB token has exp but no iat");
        assert_eq!(d.times[0].relative, "2 min left");
        assert_eq!(d.times[0].utc, "2023-06-26T02:54:05Z");
        let text = d.to_text();
        assert!(text.contains("ALB user claims"));
        assert!(text.contains("\"signer\": \"arn:aws:elasticloadbalancing:eu-central-1"));
        assert!(text.contains("= padding"));
    }
}
