//! Following the app's log group live, and turning its lines into token events.
//!
//! The same code reads the local lab's CloudWatch Logs stand-in and a learner's real account:
//! only the client differs. It polls FilterLogEvents (the lab does not serve StartLiveTail's
//! event stream) from a little before the newest event seen, pages until no `nextToken` comes
//! back, and drops event ids it has delivered already, so late batches are neither lost nor
//! repeated.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use cognito_learning_tokens::{AlbVerifier, CognitoVerifier, TokenUse};
use serde_json::Value;

/// How far back each poll looks: the shipper sends batches within a quarter of a second and
/// retries for a few seconds, so a line may land after a newer one was already read.
const LOOKBACK_MS: i64 = 10_000;

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
    seen: BTreeMap<i64, HashSet<String>>,
}

impl Cursor {
    /// Starts at `from_ms` (Unix milliseconds): earlier lines are not delivered.
    pub fn from(from_ms: i64) -> Self {
        Self {
            newest: from_ms,
            seen: BTreeMap::new(),
        }
    }

    fn start_time(&self) -> i64 {
        self.newest.saturating_sub(LOOKBACK_MS)
    }

    /// Whether a line is new; remembers it if so.
    fn admit(&mut self, line: &LogLine) -> bool {
        if line.timestamp < self.start_time() {
            return false;
        }
        let fresh = self
            .seen
            .entry(line.timestamp)
            .or_default()
            .insert(line.event_id.clone());
        self.newest = self.newest.max(line.timestamp);
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
}

impl Follower {
    pub fn new(client: Client, group: impl Into<String>, cursor: Cursor) -> Self {
        Self {
            client,
            group: group.into(),
            cursor,
        }
    }

    /// Keeps the cursor, changes the client (new credentials, a restarted lab).
    pub fn set_client(&mut self, client: Client) {
        self.client = client;
    }

    /// The lines that arrived since the last poll, oldest first. `Err` is a sentence for the
    /// learner; the cursor is unchanged, so the next poll resumes where this one failed.
    pub async fn poll(&mut self) -> Result<Vec<LogLine>, String> {
        let mut lines = Vec::new();
        let mut token: Option<String> = None;
        let start = self.cursor.start_time();
        loop {
            let page = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .start_time(start)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| explain(&e, &self.group))?;
            for e in page.events() {
                lines.push(LogLine {
                    event_id: e.event_id().unwrap_or_default().to_owned(),
                    timestamp: e.timestamp().unwrap_or_default(),
                    stream: e.log_stream_name().unwrap_or_default().to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let fresh: Vec<LogLine> = lines.into_iter().filter(|l| self.cursor.admit(l)).collect();
        self.cursor.prune();
        Ok(fresh)
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
            tokio::time::sleep(wait).await;
        }
    }
}

/// A token header as the app received it, checked again here.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenToken {
    pub raw: String,
    pub claims: serde_json::Map<String, Value>,
    /// `Ok(())` when it verified; else why not.
    pub verdict: Result<(), String>,
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
        let v: Value = serde_json::from_str(&line.message).ok()?;
        if v["event"] != "request" {
            return None;
        }
        let alb = v.get("alb")?;
        let at = u64::try_from(line.timestamp / 1000).unwrap_or(0);
        let raw = |k: &str| {
            alb.get(k)
                .and_then(|t| t["raw"].as_str())
                .map(str::to_owned)
        };
        let data = match raw("data") {
            Some(r) => Some(seen(
                r.clone(),
                checks.alb.verify(&r, at).await.map(|v| v.claims),
            )),
            None => None,
        };
        let access = match raw("accesstoken") {
            Some(r) => Some(seen(
                r.clone(),
                checks
                    .cognito
                    .verify(&r, TokenUse::Access, at)
                    .await
                    .map(|v| v.claims),
            )),
            None => None,
        };
        Some(TokenEvent {
            at_ms: line.timestamp,
            method: v["method"].as_str().unwrap_or_default().to_owned(),
            path: v["path"].as_str().unwrap_or_default().to_owned(),
            status: v["status"].as_u64().unwrap_or_default(),
            data,
            access,
            identity: alb
                .get("identity")
                .and_then(|i| i["raw"].as_str())
                .map(str::to_owned),
        })
    }
}

fn seen(
    raw: String,
    res: Result<serde_json::Map<String, Value>, cognito_learning_tokens::TokenError>,
) -> SeenToken {
    match res {
        Ok(claims) => SeenToken {
            raw,
            claims,
            verdict: Ok(()),
        },
        Err(e) => {
            let claims = cognito_learning_tokens::Decoded::parse(&raw, 0)
                .map(|d| d.claims)
                .unwrap_or_default();
            SeenToken {
                raw,
                claims,
                verdict: Err(e.to_string()),
            }
        }
    }
}
