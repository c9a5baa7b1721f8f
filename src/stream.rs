//! Following the app's log group live, and turning its lines into token events.
//!
//! The same code reads the local lab's CloudWatch Logs stand-in and a learner's real account:
//! only the client differs. Two ways to read:
//!
//! - **Polling** FilterLogEvents from a little before the newest event seen, paging until no
//!   `nextToken` comes back, and dropping lines delivered already, so late batches are neither
//!   lost nor repeated.
//! - **Live Tail** (StartLiveTail's event stream, an update a second). Where the endpoint does
//!   not offer it, or forbids it, the follower polls instead. When an update says it was
//!   sampled, or the session breaks, a poll fills the gap before the next session, and the same
//!   record of what was delivered keeps that poll from repeating anything.
//!
//! Lines are told apart by their stream, timestamp and text (Live Tail's events have no ids).

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_cloudwatchlogs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream;
use aws_smithy_runtime_api::box_error::BoxError;
use cognito_learning_contract::log::{RequestRecord, TokenRecord};
use cognito_learning_tokens::{AlbVerifier, CognitoVerifier, TokenUse};
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
    /// CloudWatch's id for it; empty for a line from Live Tail, which gives none.
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
        Some("ResourceNotFoundException") => no_group(group),
        _ => crate::aws::explain(err, "CloudWatch Logs"),
    }
}

fn no_group(group: &str) -> String {
    format!("log group {group} does not exist yet: the app creates it when it starts")
}

/// Where a follower has got to: the newest timestamp seen and the ids delivered near it.
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    newest: i64,
    /// When `newest` last moved.
    moved: Option<std::time::Instant>,
    /// By timestamp, each line delivered: a hash of its stream and text.
    seen: BTreeMap<i64, HashSet<u64>>,
}

fn line_key(stream: &str, message: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    stream.hash(&mut h);
    message.hash(&mut h);
    h.finish()
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

    fn is_new(&self, key: u64, ts: i64) -> bool {
        ts >= self.start_time() && !self.seen.get(&ts).is_some_and(|s| s.contains(&key))
    }

    /// Whether the line with this key and timestamp is new; remembers it if so.
    fn admit(&mut self, key: u64, ts: i64) -> bool {
        // The query bounded the time already; here only repeats are dropped.
        let fresh = self.seen.entry(ts).or_default().insert(key);
        if fresh && ts > self.newest {
            self.newest = ts;
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
    /// Whether [`Follower::run`] tries Live Tail first.
    live_tail: bool,
    /// A new client to use from the next poll on (a restarted lab's credentials).
    updates: Option<tokio::sync::watch::Receiver<Client>>,
}

/// How a Live Tail session ended.
#[derive(Debug)]
enum TailEnd {
    /// Nobody is listening any more.
    Gone,
    /// The endpoint does not offer Live Tail, or the learner may not use it: poll from now on.
    Unsupported(String),
    /// Broken off (the network, the three-hour limit): catch up by polling, then start again.
    Broken(String),
}

/// Live Tail's host prefix (`stream-`) belongs to AWS's own endpoints. A custom endpoint (the
/// lab, another emulator) is reached at its own address, as other SDKs' "disable host prefix
/// injection" options do; the Rust SDK has no such option, so this interceptor removes the
/// prefix before the request is signed.
#[derive(Debug)]
struct OwnHost;

impl Intercept for OwnHost {
    fn name(&self) -> &'static str {
        "OwnHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = without_host_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// `uri` without Live Tail's host prefix, when its host is not one of AWS's.
fn without_host_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let rest = rest.strip_prefix("stream-")?;
    let host = rest.split(['/', ':', '?']).next()?;
    let aws = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
        .iter()
        .any(|d| host.ends_with(d));
    (!aws).then(|| format!("{scheme}://{rest}"))
}

impl Follower {
    pub fn new(client: Client, group: impl Into<String>, cursor: Cursor) -> Self {
        Self {
            client,
            group: group.into(),
            cursor,
            resume: None,
            live_tail: false,
            updates: None,
        }
    }

    /// Takes each client sent on `updates` from the next poll on; the cursor stays.
    #[must_use]
    pub fn with_client_updates(mut self, updates: tokio::sync::watch::Receiver<Client>) -> Self {
        self.updates = Some(updates);
        self
    }

    /// Follows with Live Tail where the endpoint offers it ([`Follower::run`]).
    #[must_use]
    pub fn with_live_tail(mut self, on: bool) -> Self {
        self.live_tail = on;
        self
    }

    /// The group's ARN, which StartLiveTail wants.
    async fn group_arn(&self) -> Result<String, String> {
        let page = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(&self.group)
            .send()
            .await
            .map_err(|e| explain(&e, &self.group))?;
        page.log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(self.group.as_str()))
            .and_then(|g| {
                g.log_group_arn()
                    .map(str::to_owned)
                    .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            })
            .ok_or_else(|| no_group(&self.group))
    }

    /// One Live Tail session, delivering each update's new lines to `tx` until it ends.
    async fn tail(
        &mut self,
        tx: &tokio::sync::mpsc::Sender<Result<Vec<LogLine>, String>>,
    ) -> TailEnd {
        let arn = match self.group_arn().await {
            Ok(a) => a,
            Err(why) => return TailEnd::Broken(why),
        };
        let started = self
            .client
            .start_live_tail()
            .log_group_identifiers(arn)
            .customize()
            .interceptor(OwnHost)
            .send()
            .await;
        let mut session = match started {
            Ok(s) => s,
            Err(e) => {
                // An answer that refuses (unknown operation, no permission, not implemented)
                // means polling from now on; no answer, throttling or a missing group may pass.
                let transient = match &e {
                    SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
                        matches!(
                            e.code(),
                            Some(
                                "ResourceNotFoundException"
                                    | "ThrottlingException"
                                    | "LimitExceededException"
                                    | "ServiceUnavailableException"
                            )
                        ) || e.raw_response().is_some_and(|r| r.status().as_u16() == 503)
                    }
                    _ => true,
                };
                let why = explain(&e, &self.group);
                return if transient {
                    TailEnd::Broken(why)
                } else {
                    TailEnd::Unsupported(why)
                };
            }
        };
        loop {
            let update = match session.response_stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionUpdate(u))) => u,
                // The session sees what arrives from now on; a poll reads what came before it
                // (history at the start, what arrived between sessions after a break).
                Ok(Some(StartLiveTailResponseStream::SessionStart(_))) => {
                    if let Err(end) = self.catch_up(tx).await {
                        return end;
                    }
                    continue;
                }
                Ok(Some(_)) => continue,
                Ok(None) => return TailEnd::Broken("the Live Tail session ended".into()),
                Err(e) => {
                    return TailEnd::Broken(format!(
                        "the Live Tail session broke off ({})",
                        e.message().unwrap_or("no reason given")
                    ));
                }
            };
            let mut fresh: Vec<LogLine> = update
                .session_results()
                .iter()
                .map(|e| LogLine {
                    event_id: String::new(),
                    timestamp: e.timestamp().unwrap_or_default(),
                    stream: e.log_stream_name().unwrap_or_default().to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                })
                .collect();
            fresh.sort_by_key(|l| l.timestamp);
            fresh.retain(|l| {
                self.cursor
                    .admit(line_key(&l.stream, &l.message), l.timestamp)
            });
            self.cursor.prune();
            if !fresh.is_empty() && tx.send(Ok(fresh)).await.is_err() {
                return TailEnd::Gone;
            }
            // A sampled update left lines out: a poll finds them (and only them).
            if update.session_metadata().is_some_and(|m| m.sampled())
                && let Err(end) = self.catch_up(tx).await
            {
                return end;
            }
        }
    }

    /// Polls until nothing is left to read, delivering what is new.
    async fn catch_up(
        &mut self,
        tx: &tokio::sync::mpsc::Sender<Result<Vec<LogLine>, String>>,
    ) -> Result<(), TailEnd> {
        loop {
            let lines = self.poll().await.map_err(TailEnd::Broken)?;
            if !lines.is_empty() && tx.send(Ok(lines)).await.is_err() {
                return Err(TailEnd::Gone);
            }
            if !self.behind() {
                return Ok(());
            }
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
        if let Some(rx) = self.updates.as_mut()
            && rx.has_changed().unwrap_or(false)
        {
            self.client = rx.borrow_and_update().clone();
        }
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
                let (stream, message, ts) = (
                    e.log_stream_name().unwrap_or_default(),
                    e.message().unwrap_or_default(),
                    e.timestamp().unwrap_or_default(),
                );
                let key = line_key(stream, message);
                if self.cursor.is_new(key, ts) && self.cursor.admit(key, ts) {
                    fresh.push(LogLine {
                        event_id: e.event_id().unwrap_or_default().to_owned(),
                        timestamp: ts,
                        stream: stream.to_owned(),
                        message: message.to_owned(),
                    });
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

    /// Follows the group, sending lines (or a status sentence) until the receiver goes away:
    /// with Live Tail when asked to and the endpoint offers it, else by polling every `every`.
    /// Failures back off up to ten seconds.
    pub async fn run(
        mut self,
        every: Duration,
        tx: tokio::sync::mpsc::Sender<Result<Vec<LogLine>, String>>,
    ) {
        let mut wait = every;
        while self.live_tail {
            let began = std::time::Instant::now();
            match self.tail(&tx).await {
                TailEnd::Gone => return,
                TailEnd::Unsupported(why) => {
                    self.live_tail = false;
                    let note = format!("Live Tail unavailable ({why}); polling instead");
                    if tx.send(Err(note)).await.is_err() {
                        return;
                    }
                }
                TailEnd::Broken(why) => {
                    if tx.send(Err(why)).await.is_err() {
                        return;
                    }
                    // A session that lasted a while starts the back-off afresh.
                    if began.elapsed() > Duration::from_secs(30) {
                        wait = every;
                    }
                    wait = (wait * 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
                    tokio::time::sleep(wait).await;
                    // Lines keep coming by polling while no session can be opened.
                    if let Err(TailEnd::Gone) = self.catch_up(&tx).await {
                        return;
                    }
                }
            }
        }
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
    /// What the app itself decided about each header, as it logged it: the lesson is that the
    /// app verifies, so its word is shown beside the guide's own check.
    pub app: AppVerdicts,
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
    pub async fn from_line(line: &LogLine, checks: &Checks) -> Option<TokenEvent> {
        let v = RequestRecord::parse(&line.message)?;
        let alb = v.alb?;
        let at = u64::try_from(line.timestamp / 1000).unwrap_or(0);
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
            at_ms: line.timestamp,
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
        })
    }
}

fn seen<T>(raw: &str, res: Result<T, cognito_learning_tokens::TokenError>) -> SeenToken {
    SeenToken::new(raw, res.map(|_| ()).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_tails_host_prefix_stays_on_aws_hosts_only() {
        assert_eq!(
            without_host_prefix("http://stream-127.0.0.1:4566/").as_deref(),
            Some("http://127.0.0.1:4566/")
        );
        assert_eq!(
            without_host_prefix("http://stream-localhost:4566").as_deref(),
            Some("http://localhost:4566")
        );
        for kept in [
            "https://stream-logs.eu-west-1.amazonaws.com/",
            "https://stream-logs.cn-north-1.amazonaws.com.cn/",
            "https://stream-logs.us-east-1.api.aws/",
            "http://127.0.0.1:4566/",
        ] {
            assert_eq!(without_host_prefix(kept), None, "{kept}");
        }
    }

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
