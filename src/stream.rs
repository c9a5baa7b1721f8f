//! Following the app's log group live, and turning its lines into token events.
//!
//! The same code reads the local lab's CloudWatch Logs stand-in and a learner's real account:
//! only the client differs. It polls FilterLogEvents (the lab does not serve StartLiveTail's
//! event stream) from a little before the newest event seen, pages until no `nextToken` comes
//! back, and drops event ids it has delivered already, so late batches are neither lost nor
//! repeated.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use cognito_learning_tokens::{AlbVerifier, CognitoVerifier, TokenUse};
use serde::Deserialize;
use serde_json::Value;

/// How far back each poll looks behind the newest line seen. One server's shipper sends its
/// batches one after another, so its lines land in order; lines from two servers (or two
/// streams) can land out of order by about the shipper's linger (250 ms) plus the network.
/// The window closes as time passes without newer lines, so an idle follower re-reads only
/// the lines at the newest timestamp rather than a whole burst on every poll. It is measured
/// on this machine's monotonic clock, so a learner's clock that is off changes nothing.
const LOOKBACK_MS: i64 = 3_000;
/// Events per FilterLogEvents page.
const PAGE: i32 = 200;
/// About the most lines one poll delivers.
pub const MAX_LINES: usize = 200;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub event_id: String,
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

/// A client for the lab's endpoint with its credentials.
pub fn lab_client(endpoint: &str, region: &str, key: &str, secret: &str) -> Client {
    Client::new(&crate::aws::lab_config(endpoint, region, key, secret))
}

/// A client for a real account, from the standard chain.
pub async fn aws_client(profile: Option<&str>, region: Option<&str>) -> Client {
    Client::new(&crate::aws::account_config(profile, region).await)
}

/// A failed poll, in words a learner can act on.
fn explain<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E>,
    group: &str,
) -> String {
    match err.code() {
        Some("ResourceNotFoundException") => {
            format!("log group {group} does not exist yet: the app creates it when it starts")
        }
        _ => crate::aws::explain(err, "CloudWatch Logs"),
    }
}

/// Where a follower has got to: the newest timestamp seen and the ids delivered near it.
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    newest: i64,
    /// When `newest` last moved.
    moved: Option<std::time::Instant>,
    seen: BTreeMap<i64, HashSet<String>>,
}

impl Cursor {
    /// Starts at `from_ms` (Unix milliseconds): earlier lines are not delivered.
    pub fn from(from_ms: i64) -> Self {
        Self {
            newest: from_ms,
            moved: None,
            seen: BTreeMap::new(),
        }
    }

    fn start_time(&self) -> i64 {
        let quiet = self.moved.map_or(0, |m| {
            i64::try_from(m.elapsed().as_millis()).unwrap_or(i64::MAX)
        });
        self.newest
            .saturating_sub(LOOKBACK_MS.saturating_sub(quiet).max(0))
    }

    fn is_new(&self, id: &str, ts: i64) -> bool {
        ts >= self.start_time() && !self.seen.get(&ts).is_some_and(|s| s.contains(id))
    }

    /// Whether a line is new; remembers it if so.
    fn admit(&mut self, line: &LogLine) -> bool {
        // The query bounded the time already; here only repeats are dropped.
        let fresh = self
            .seen
            .entry(line.timestamp)
            .or_default()
            .insert(line.event_id.clone());
        if fresh && line.timestamp > self.newest {
            self.newest = line.timestamp;
            self.moved = Some(std::time::Instant::now());
        }
        fresh
    }

    fn prune(&mut self) {
        let keep = self.start_time();
        self.seen = self.seen.split_off(&keep);
    }
}

/// Follows one log group.
#[derive(Debug)]
pub struct Follower {
    client: Client,
    group: String,
    pub cursor: Cursor,
    /// A query a poll left unfinished: its start time and next token.
    resume: Option<(i64, String)>,
}

impl Follower {
    pub fn new(client: Client, group: impl Into<String>, cursor: Cursor) -> Self {
        Self {
            client,
            group: group.into(),
            cursor,
            resume: None,
        }
    }

    /// Keeps the cursor, changes the client (new credentials, a restarted lab).
    pub fn set_client(&mut self, client: Client) {
        self.client = client;
    }

    /// The lines that arrived since the last poll, oldest first, at most about
    /// [`MAX_LINES`] at a time (see [`Follower::behind`]). `Err` is a sentence for the learner;
    /// the cursor is unchanged, so the next poll resumes where this one failed.
    pub async fn poll(&mut self) -> Result<Vec<LogLine>, String> {
        let (start, mut token) = match self.resume.take() {
            Some((start, token)) => (start, Some(token)),
            None => (self.cursor.start_time(), None),
        };
        let mut fresh = Vec::new();
        loop {
            let sent = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .start_time(start)
                // Small pages: a burst is read a page at a time rather than as one large
                // response.
                .limit(PAGE)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match sent {
                Ok(p) => p,
                // What was read is delivered; the error comes back on the next poll.
                Err(_) if !fresh.is_empty() => break,
                Err(e) => return Err(explain(&e, &self.group)),
            };
            // Only lines not delivered before are copied: after a burst, a poll pages through
            // many that were.
            for e in page.events() {
                let (id, ts) = (
                    e.event_id().unwrap_or_default(),
                    e.timestamp().unwrap_or_default(),
                );
                if self.cursor.is_new(id, ts) {
                    let line = LogLine {
                        event_id: id.to_owned(),
                        timestamp: ts,
                        stream: e.log_stream_name().unwrap_or_default().to_owned(),
                        message: e.message().unwrap_or_default().to_owned(),
                    };
                    if self.cursor.admit(&line) {
                        fresh.push(line);
                    }
                }
            }
            match page.next_token() {
                None => break,
                // Enough for one delivery: the rest of this query is read by the next poll,
                // so a burst is never held in memory whole.
                Some(t) if fresh.len() >= MAX_LINES => {
                    self.resume = Some((start, t.to_owned()));
                    break;
                }
                Some(t) => token = Some(t.to_owned()),
            }
        }
        // While a query is half read, the ids it may return again must stay known.
        if self.resume.is_none() {
            self.cursor.prune();
        }
        Ok(fresh)
    }

    /// Whether the last poll stopped with more lines waiting.
    pub fn behind(&self) -> bool {
        self.resume.is_some()
    }

    /// Polls every `every`, sending lines (or a status sentence) until the receiver goes away.
    /// Failures back off up to ten seconds; the first success after one says so.
    pub async fn run(
        mut self,
        every: Duration,
        tx: tokio::sync::mpsc::Sender<Result<Vec<LogLine>, String>>,
    ) {
        let mut wait = every;
        loop {
            let res = self.poll().await;
            wait = if res.is_ok() {
                every
            } else {
                (wait * 2).clamp(Duration::from_secs(1), Duration::from_secs(10))
            };
            let skip = matches!(&res, Ok(v) if v.is_empty());
            if !skip && tx.send(res).await.is_err() {
                return;
            }
            // More of a burst waits: read on once the receiver has taken this part.
            if !self.behind() {
                tokio::time::sleep(wait).await;
            }
        }
    }
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
            let mut parts = raw.split('.');
            let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
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
            (Compact::Text(t), None) => cognito_learning_tokens::Decoded::parse(t, 0)
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
    pub async fn from_line(line: &LogLine, checks: &Checks) -> Option<TokenEvent> {
        // Only the fields used here are read, borrowed from the line where they can be.
        let v: RequestLine<'_> = serde_json::from_str(&line.message).ok()?;
        if v.event.as_deref() != Some("request") {
            return None;
        }
        let alb = v.alb?;
        let at = u64::try_from(line.timestamp / 1000).unwrap_or(0);
        fn raw(t: Option<RawOf<'_>>) -> Option<Cow<'_, str>> {
            t.and_then(|t| t.raw)
        }
        let data = match raw(alb.data) {
            Some(r) => {
                let verdict = checks.alb.verify(&r, at).await;
                Some(seen(&r, verdict))
            }
            None => None,
        };
        let access = match raw(alb.accesstoken) {
            Some(r) => {
                let verdict = checks.cognito.verify(&r, TokenUse::Access, at).await;
                Some(seen(&r, verdict))
            }
            None => None,
        };
        Some(TokenEvent {
            at_ms: line.timestamp,
            method: v.method.into_owned(),
            path: v.path.into_owned(),
            status: v.status,
            data,
            access,
            identity: raw(alb.identity).map(Cow::into_owned),
        })
    }
}

/// The part of the server's request record that token events need.
#[derive(Deserialize)]
struct RequestLine<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow)]
    path: Cow<'a, str>,
    #[serde(default)]
    status: u64,
    #[serde(borrow)]
    alb: Option<AlbHeaders<'a>>,
}

#[derive(Deserialize)]
struct AlbHeaders<'a> {
    #[serde(borrow)]
    data: Option<RawOf<'a>>,
    #[serde(borrow)]
    accesstoken: Option<RawOf<'a>>,
    #[serde(borrow)]
    identity: Option<RawOf<'a>>,
}

#[derive(Deserialize)]
struct RawOf<'a> {
    #[serde(borrow)]
    raw: Option<Cow<'a, str>>,
}

fn seen<T>(raw: &str, res: Result<T, cognito_learning_tokens::TokenError>) -> SeenToken {
    SeenToken::new(raw, res.map(|_| ()).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_back_exactly_from_its_compact_form() {
        let real = include_str!("../tokens/tests/data/alb-real-token.txt").trim();
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
