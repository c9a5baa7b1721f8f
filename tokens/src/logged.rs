//! The tokens of a request as the app logged it: its three ALB headers, each checked again
//! here as of when it was logged, beside the app's own verdict. A lab guide buffers thousands
//! of these, so a token's text is kept compact and decoded only when it is shown.

use serde_json::Value;

use cognito_learning_contract::log::{RequestRecord, TokenRecord};
use cognito_learning_contract::trace::Client;

use crate::alb::AlbVerifier;
use crate::cognito::{CognitoVerifier, TokenUse};

/// A line of the app's log, wherever it was read from.
pub trait LoggedLine {
    /// When it was logged (Unix milliseconds).
    fn timestamp_ms(&self) -> i64;
    /// The line itself.
    fn message(&self) -> &str;
}

/// A token header as the app received it, checked again here. A guide buffers thousands of
/// these, so the text is kept as the bytes its base64url stands for (three quarters of the
/// size) and decoded only for the one on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenToken {
    text: Compact,
    /// `Ok(())` when it verified; else why not.
    pub verdict: Result<(), String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Compact {
    /// A JWT's three parts decoded, with the part lengths and whether the text was padded.
    Jwt {
        bytes: Box<[u8]>,
        header: u32,
        payload: u32,
        padded: bool,
    },
    /// Anything that does not turn back into exactly the same text.
    Text(Box<str>),
}

impl Compact {
    fn new(raw: &str) -> Self {
        use base64::Engine;
        let jwt = || -> Option<Compact> {
            let [h, p, s] = crate::jwt::segments(raw).ok()?;
            let padded = raw.contains('=');
            let decode = |t: &str| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.trim_end_matches('='))
            };
            let (h, p, s) = (decode(h).ok()?, decode(p).ok()?, decode(s).ok()?);
            let compact = Compact::Jwt {
                header: u32::try_from(h.len()).ok()?,
                payload: u32::try_from(p.len()).ok()?,
                bytes: [h, p, s].concat().into_boxed_slice(),
                padded,
            };
            // Kept this way only if the text comes back exactly.
            (compact.text() == raw).then_some(compact)
        };
        jwt().unwrap_or_else(|| Compact::Text(raw.into()))
    }

    /// A JWT's header and payload JSON, as stored.
    fn json(&self) -> Option<(&[u8], &[u8])> {
        match self {
            Compact::Jwt {
                bytes,
                header,
                payload,
                ..
            } => {
                let (h, rest) = bytes.split_at(*header as usize);
                Some((h, &rest[..*payload as usize]))
            }
            Compact::Text(_) => None,
        }
    }

    fn text(&self) -> String {
        use base64::Engine;
        match self {
            Compact::Text(t) => t.to_string(),
            Compact::Jwt {
                bytes,
                header,
                payload,
                padded,
            } => {
                let (h, rest) = bytes.split_at(*header as usize);
                let (p, s) = rest.split_at(*payload as usize);
                let engine = if *padded {
                    &base64::engine::general_purpose::URL_SAFE
                } else {
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                };
                format!(
                    "{}.{}.{}",
                    engine.encode(h),
                    engine.encode(p),
                    engine.encode(s)
                )
            }
        }
    }
}

impl SeenToken {
    pub fn new(raw: &str, verdict: Result<(), String>) -> Self {
        Self {
            text: Compact::new(raw),
            verdict,
        }
    }

    /// The token as the app received it.
    pub fn raw(&self) -> String {
        self.text.text()
    }

    /// The token's header and claims (empty if it is not a JWT of JSON objects).
    pub fn parts(
        &self,
    ) -> (
        serde_json::Map<String, Value>,
        serde_json::Map<String, Value>,
    ) {
        match (&self.text, self.text.json()) {
            (_, Some((h, p))) => (
                serde_json::from_slice(h).unwrap_or_default(),
                serde_json::from_slice(p).unwrap_or_default(),
            ),
            (Compact::Text(t), None) => crate::decoded::Decoded::parse(t, 0)
                .map(|d| (d.header, d.claims))
                .unwrap_or_default(),
            (Compact::Jwt { .. }, None) => Default::default(),
        }
    }

    /// The token's claims.
    pub fn claims(&self) -> serde_json::Map<String, Value> {
        self.parts().1
    }

    /// Whether the token's header or claims JSON holds `needle` (lower case), ignoring ASCII
    /// case; read in place, without decoding.
    pub fn json_contains(&self, needle: &str) -> bool {
        match (&self.text, self.text.json()) {
            (_, Some((h, p))) => {
                contains_ignoring_case(h, needle.as_bytes())
                    || contains_ignoring_case(p, needle.as_bytes())
            }
            (Compact::Jwt { .. }, None) => false,
            (Compact::Text(t), None) => {
                let (h, c) = self.parts();
                let json = format!("{} {}", Value::Object(h), Value::Object(c));
                contains_ignoring_case(json.as_bytes(), needle.as_bytes()) || t.contains(needle)
            }
        }
    }
}

/// `needle` (lower case) in `hay`, ASCII letters matched in either case.
pub fn contains_ignoring_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// What one request to the app carried from the ALB.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvent {
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub status: u64,
    pub data: Option<SeenToken>,
    pub access: Option<SeenToken>,
    pub identity: Option<String>,
    /// What the app itself decided about each header, as it logged it: the lesson is that the
    /// app verifies, so its word is shown beside the guide's own check.
    pub app: AppVerdicts,
    /// Who sent the request: the learner, or the guide's checks (by its `User-Agent`).
    pub client: Client,
    /// The request came straight to the app, not through the ALB (it has no `X-Amzn-Trace-Id`).
    pub direct: bool,
}

/// The app's verdicts on one request's headers ("valid", "invalid: bad signature", …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppVerdicts {
    pub data: Option<String>,
    pub access: Option<String>,
    pub identity: Option<String>,
}

/// How to check tokens again (the lab's keys or the account's).
#[derive(Debug)]
pub struct Checks {
    pub alb: AlbVerifier,
    pub cognito: CognitoVerifier,
}

impl TokenEvent {
    /// The token event in a server log line, if the request carried ALB headers. Each token is
    /// verified as of the request's time, so an old line reads as it did when it was logged.
    pub async fn from_line(line: &impl LoggedLine, checks: &Checks) -> Option<TokenEvent> {
        let v = RequestRecord::parse(line.message())?;
        let client = Client::from_user_agent(v.request_header("user-agent").as_deref());
        let direct = v.trace_id.is_none();
        let alb = v.alb?;
        // As of the time the app verified them: a lab's moved clock, else the line's.
        let at = v
            .verified_at
            .unwrap_or_else(|| u64::try_from(line.timestamp_ms() / 1000).unwrap_or(0));
        // A redacted token cannot be checked again; the app's word is all there is.
        let usable = |t: &Option<TokenRecord<'_>>| -> Option<String> {
            t.as_ref()
                .filter(|t| !t.is_redacted())
                .map(|t| t.raw.clone().into_owned())
        };
        let data = match usable(&alb.data) {
            Some(r) => {
                let verdict = checks.alb.verify(&r, at).await;
                Some(seen(&r, verdict))
            }
            None => None,
        };
        let access = match usable(&alb.accesstoken) {
            Some(r) => {
                let verdict = checks.cognito.verify(&r, TokenUse::Access, at).await;
                Some(seen(&r, verdict))
            }
            None => None,
        };
        Some(TokenEvent {
            at_ms: line.timestamp_ms(),
            method: v.method.into_owned(),
            path: v.path.into_owned(),
            status: u64::from(v.status),
            data,
            access,
            app: AppVerdicts {
                data: alb.data.as_ref().map(TokenRecord::said),
                access: alb.accesstoken.as_ref().map(TokenRecord::said),
                identity: alb.identity.as_ref().map(|i| i.verdict.as_str().to_owned()),
            },
            identity: alb.identity.map(|i| i.raw.into_owned()),
            client,
            direct,
        })
    }
}

fn seen<T>(raw: &str, res: Result<T, crate::error::TokenError>) -> SeenToken {
    SeenToken::new(raw, res.map(|_| ()).map_err(|e| e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_back_exactly_from_its_compact_form() {
        let real = include_str!("../tests/data/alb-real-token.txt").trim();
        let unpadded = real.replace('=', "");
        for raw in [
            real,
            unpadded.as_str(),
            "not.a.jwt!",
            "a.b",
            "",
            "e30.e30.e30.e30",
        ] {
            let t = SeenToken::new(raw, Ok(()));
            assert_eq!(t.raw(), raw);
        }
        let t = SeenToken::new(real, Ok(()));
        assert!(matches!(t.text, Compact::Jwt { .. }));
        assert_eq!(t.claims()["email"], "duke@sun.com");
        assert_eq!(t.parts().0["alg"], "ES256");
        // Text that base64 would not give back the same (a stray character, bits past the
        // end) is kept as text, so it still reads back exactly.
        let unpadded_head = real.split('.').next().unwrap().trim_end_matches('=');
        let last = unpadded_head.chars().last().unwrap();
        let nudged = if last == 'A' { 'B' } else { 'A' };
        for odd in [
            format!("{real}B"),
            real.replacen(
                unpadded_head,
                &format!("{}{nudged}", &unpadded_head[..unpadded_head.len() - 1]),
                1,
            ),
        ] {
            assert_eq!(SeenToken::new(&odd, Ok(())).raw(), odd);
        }
    }
}
