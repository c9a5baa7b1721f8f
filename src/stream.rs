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
pub use cognito_learning_tokens::logged::{
    AppVerdicts, Checks, LoggedLine, SeenToken, TokenEvent, contains_ignoring_case,
};

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

impl LoggedLine for LogLine {
    fn timestamp_ms(&self) -> i64 {
        self.timestamp
    }

    fn message(&self) -> &str {
        &self.message
    }
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
}
