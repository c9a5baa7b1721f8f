//! A compact JWT split into its parts, trusting none of them.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::error::TokenError;

/// The largest token we look at. The ALB refuses user claims over 11 KB and Cognito tokens are a
/// few KB, so anything near this is an attack or a paste error.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// base64url that takes segments with or without `=` padding (the ALB pads, Cognito does not),
/// and rejects non-zero trailing bits so that no two texts decode to the same bytes.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A parsed, unverified JWT.
#[derive(Debug, Clone)]
pub struct Jwt<'a> {
    /// `header.payload` exactly as received: what the signature covers.
    pub signing_input: &'a str,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signature: Vec<u8>,
    /// The signature segment as received.
    pub signature_text: &'a str,
    /// Whether any segment carried `=` padding (the ALB's quirk).
    pub padded: bool,
}

impl<'a> Jwt<'a> {
    /// Splits and decodes `raw`; surrounding whitespace is ignored.
    pub fn parse(raw: &'a str) -> Result<Self, TokenError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(TokenError::Empty);
        }
        if raw.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLarge {
                len: raw.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        let [h, p, s] = segments(raw)?;
        let header = object("header", h)?;
        let claims = object("payload", p)?;
        let signature = decode("signature", s)?;
        Ok(Jwt {
            signing_input: &raw[..h.len() + 1 + p.len()],
            header,
            claims,
            signature,
            signature_text: s,
            padded: raw.contains('='),
        })
    }

    /// The header's `alg`, or an empty string.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// A string from the header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Requires `alg` to be exactly `want`: the verifier decides the algorithm, never the token.
    pub fn require_alg(&self, want: &'static str) -> Result<(), TokenError> {
        match self.header.get("alg") {
            Some(Value::String(a)) if a == want => Ok(()),
            Some(Value::String(a)) => Err(TokenError::Alg {
                got: a.clone(),
                want,
            }),
            Some(other) => Err(TokenError::Alg {
                got: other.to_string(),
                want,
            }),
            None => Err(TokenError::Alg {
                got: "missing".into(),
                want,
            }),
        }
    }
}

/// The three dot-separated segments of a compact JWT: the one place a token is split.
pub fn segments(raw: &str) -> Result<[&str; 3], TokenError> {
    let mut parts = raw.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err(TokenError::Parts(raw.split('.').count())),
    }
}

fn decode(part: &'static str, text: &str) -> Result<Vec<u8>, TokenError> {
    B64.decode(text).map_err(|e| TokenError::Base64 {
        part,
        reason: e.to_string(),
    })
}

fn object(part: &'static str, text: &str) -> Result<Map<String, Value>, TokenError> {
    if text.is_empty() {
        return Err(TokenError::Base64 {
            part,
            reason: "empty".into(),
        });
    }
    let bytes = decode(part, text)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(TokenError::Json {
            part,
            reason: format!("found {}", kind(&other)),
        }),
        Err(e) => Err(TokenError::Json {
            part,
            reason: e.to_string(),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A numeric date claim (`exp`, `iat`, `auth_time`) as whole seconds.
pub(crate) fn numeric_date(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, TokenError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| TokenError::Claim {
            name,
            reason: format!("{n} is not a whole number of seconds"),
        }),
        Some(other) => Err(TokenError::Claim {
            name,
            reason: format!("{} is {}, expected a number", other, kind(other)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_padded_alb_style_tokens_and_keeps_the_signing_input() {
        let t = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0=.AAAA";
        let jwt = Jwt::parse(t).unwrap();
        assert_eq!(jwt.signing_input, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0=");
        assert_eq!(jwt.alg(), "ES256");
        assert_eq!(jwt.claim_str("sub"), Some("a"));
        assert!(jwt.padded);
        assert_eq!(jwt.signature, vec![0, 0, 0]);
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(Jwt::parse(" ").unwrap_err(), TokenError::Empty);
        assert_eq!(Jwt::parse("a.b").unwrap_err(), TokenError::Parts(2));
        assert_eq!(Jwt::parse("a.b.c.d").unwrap_err(), TokenError::Parts(4));
        assert!(matches!(
            Jwt::parse("!!.e30.").unwrap_err(),
            TokenError::Base64 { part: "header", .. }
        ));
        assert!(matches!(
            Jwt::parse("e30.WzFd.").unwrap_err(),
            TokenError::Json { part: "payload", reason } if reason == "found an array"
        ));
        let huge = format!("{}.e30.", "A".repeat(MAX_TOKEN_LEN));
        assert!(matches!(
            Jwt::parse(&huge).unwrap_err(),
            TokenError::TooLarge { .. }
        ));
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"a":1687748045,"b":"1687748045","c":-1}"#).unwrap();
        assert_eq!(numeric_date(&map, "a").unwrap(), Some(1_687_748_045));
        assert!(numeric_date(&map, "b").is_err());
        assert!(numeric_date(&map, "c").is_err());
        assert_eq!(numeric_date(&map, "d").unwrap(), None);
    }
}
