//! The app's request record: one JSON line per request in `server.log` and in the log group's
//! stream, written by the server (borrowing from the request, for speed) and read here by the
//! guide. The server's tests parse what it writes into [`RequestRecord`].
//!
//! ```json
//! {"ts":"2026-12-01T10:00:00.123Z","level":"INFO","event":"request","method":"GET",
//!  "path":"/v1/secrets","query":null,"status":200,"latency_ms":0.412,"client_ip":"10.0.1.5",
//!  "forwarded_for":"10.0.1.5","peer":"127.0.0.1:51234","trace_id":"Root=1-…",
//!  "request_headers":{…},"cookies":{…},"response_headers":{…},
//!  "alb":{"data":{"raw":"eyJ…","verdict":"valid","header":{…},"claims":{…},"exp":"…"},
//!         "accesstoken":{…},"identity":{"raw":"e4c1…","verdict":"matches the verified sub"}}}
//! ```
//!
//! Other lines of the same log (start-up, the CloudWatch shipper's notes) carry another
//! `event`. Header maps and decoded token parts are kept as the JSON text they were written
//! as, so that a reader pays only for what it opens.

use std::borrow::Cow;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The `event` of a request record.
pub const REQUEST_EVENT: &str = "request";

/// The app's word on one token header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Signature, issuer, audience, use and expiry all checked.
    Valid,
    /// A check failed; `reason` says which.
    Invalid,
    /// The app was not configured to check it (no ALB ARN, no issuer).
    Unverified,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unverified => "unverified",
        }
    }
}

/// The app's word on `x-amzn-oidc-identity`, which is not signed: it is trusted only as far
/// as it equals the `sub` of a verified `x-amzn-oidc-data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityVerdict {
    #[serde(rename = "matches the verified sub")]
    Matches,
    #[serde(rename = "does not match the verified sub")]
    DoesNotMatch,
    #[serde(rename = "unchecked: no verified x-amzn-oidc-data")]
    Unchecked,
}

impl IdentityVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityVerdict::Matches => "matches the verified sub",
            IdentityVerdict::DoesNotMatch => "does not match the verified sub",
            IdentityVerdict::Unchecked => "unchecked: no verified x-amzn-oidc-data",
        }
    }
}

/// One request, as read back.
#[derive(Debug, Deserialize)]
pub struct RequestRecord<'a> {
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    #[serde(borrow)]
    pub level: Cow<'a, str>,
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    #[serde(borrow)]
    pub path: Cow<'a, str>,
    #[serde(borrow)]
    pub query: Option<Cow<'a, str>>,
    pub status: u16,
    pub latency_ms: f64,
    /// The address the ALB appended to X-Forwarded-For (the peer, without an ALB).
    #[serde(borrow)]
    pub client_ip: Cow<'a, str>,
    /// The whole X-Forwarded-For chain as received; the entries before the last are the
    /// client's own words.
    #[serde(default, borrow)]
    pub forwarded_for: Option<Cow<'a, str>>,
    pub peer: SocketAddr,
    #[serde(borrow)]
    pub trace_id: Option<Cow<'a, str>>,
    /// The request's headers but the cookies and the ALB's token headers (logged below).
    #[serde(borrow)]
    pub request_headers: &'a RawValue,
    #[serde(borrow)]
    pub cookies: &'a RawValue,
    #[serde(borrow)]
    pub response_headers: &'a RawValue,
    #[serde(default, borrow)]
    pub alb: Option<AlbRecord<'a>>,
    /// The time the app verified the tokens against (Unix seconds), when it is not the line's
    /// own: a local lab whose clock was moved forward.
    #[serde(default)]
    pub verified_at: Option<u64>,
}

/// The ALB's three headers, with what the app made of each.
#[derive(Debug, Default, Deserialize)]
pub struct AlbRecord<'a> {
    #[serde(default, borrow)]
    pub data: Option<TokenRecord<'a>>,
    #[serde(default, borrow)]
    pub accesstoken: Option<TokenRecord<'a>>,
    #[serde(default, borrow)]
    pub identity: Option<IdentityRecord<'a>>,
}

/// One token header: as received, the app's verdict, and its decoded parts when it decoded.
#[derive(Debug, Deserialize)]
pub struct TokenRecord<'a> {
    /// The header's text, or `[redacted N bytes]` when the app redacts tokens.
    #[serde(borrow)]
    pub raw: Cow<'a, str>,
    pub verdict: Verdict,
    #[serde(default, borrow)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub header: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub claims: Option<&'a RawValue>,
    /// Expiry in UTC, when it verified.
    #[serde(default, borrow)]
    pub exp: Option<Cow<'a, str>>,
}

impl TokenRecord<'_> {
    /// Whether `raw` is the token itself, not the redaction note.
    pub fn is_redacted(&self) -> bool {
        self.raw.starts_with("[redacted ")
    }

    /// The decoded claims, as the app logged them.
    pub fn claims(&self) -> Map<String, Value> {
        self.claims
            .and_then(|c| serde_json::from_str(c.get()).ok())
            .unwrap_or_default()
    }

    /// The app's word in a line: "valid", or "invalid: <reason>".
    pub fn said(&self) -> String {
        match &self.reason {
            Some(r) => format!("{}: {r}", self.verdict.as_str()),
            None => self.verdict.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct IdentityRecord<'a> {
    #[serde(borrow)]
    pub raw: Cow<'a, str>,
    pub verdict: IdentityVerdict,
}

impl<'a> RequestRecord<'a> {
    /// The request record in `line`; `None` for the log's other lines and for text that is not
    /// a record.
    pub fn parse(line: &'a str) -> Option<Self> {
        // Cheap first: most other lines say so early.
        if !line.contains("\"request\"") {
            return None;
        }
        serde_json::from_str::<RequestRecord<'a>>(line)
            .ok()
            .filter(|r| r.event == REQUEST_EVENT)
    }

    /// A request header's value, as logged (the first, if it came more than once).
    pub fn request_header(&self, name: &str) -> Option<String> {
        header_values(self.request_headers, name).into_iter().next()
    }

    /// Every value of a response header (each `Set-Cookie`), as logged.
    pub fn response_header_values(&self, name: &str) -> Vec<String> {
        header_values(self.response_headers, name)
    }
}

/// The values of header `name` in a logged header map: one string, or a list when it came more
/// than once.
fn header_values(headers: &RawValue, name: &str) -> Vec<String> {
    let m: Map<String, Value> = serde_json::from_str(headers.get()).unwrap_or_default();
    match m.get(name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_and_other_lines_do_not() {
        let line = r#"{"ts":"2026-12-01T10:00:00.123Z","level":"WARN","event":"request","method":"GET","path":"/v1/secrets","query":null,"status":401,"latency_ms":0.4,"client_ip":"10.0.1.5","forwarded_for":"1.2.3.4, 10.0.1.5","peer":"127.0.0.1:51234","trace_id":null,"request_headers":{"host":"localhost","accept":["a","b"]},"cookies":{},"response_headers":{},"alb":{"data":{"raw":"x.y.z","verdict":"invalid","reason":"bad \"sig\""},"identity":{"raw":"abc","verdict":"unchecked: no verified x-amzn-oidc-data"}}}"#;
        let r = RequestRecord::parse(line).expect("a record");
        assert_eq!((r.status, r.path.as_ref()), (401, "/v1/secrets"));
        assert_eq!(r.request_header("accept").as_deref(), Some("a"));
        let alb = r.alb.as_ref().expect("alb");
        let data = alb.data.as_ref().expect("data");
        assert_eq!(data.verdict, Verdict::Invalid);
        assert_eq!(data.said(), "invalid: bad \"sig\"");
        assert_eq!(
            alb.identity.as_ref().map(|i| i.verdict),
            Some(IdentityVerdict::Unchecked)
        );
        assert!(alb.accesstoken.is_none());
        let other = r#"{"ts":"…","level":"INFO","event":"cloudwatch","message":"shipping"}"#;
        assert!(RequestRecord::parse(other).is_none());
        assert!(RequestRecord::parse("not json \"event\":\"request\"").is_none());
    }
}
