//! Shipping log lines to CloudWatch Logs without ever making a request wait.
//!
//! Requests `try_send` into a bounded queue; one task drains it into batches that respect the
//! PutLogEvents limits (1,048,576 bytes counting 26 bytes an event, 10,000 events, time-ordered,
//! spanning under 24 h) and sends them after at most a quarter of a second. Failures are retried with
//! backoff; a batch that still fails, and every event the full queue refuses, is counted and
//! reported in `server.log`, which always has the full record.
//!
//! The task is woken by the first line after a pause, and then not again until a quarter of a
//! second has passed or the queue is three-quarters full: under load, a request's only cost is
//! its copy of the line and one non-blocking send, not a wake-up of the shipper per line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use cognito_learning_tokens::time::{now_millis, utc_millis};

pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
pub const MAX_BATCH_EVENTS: usize = 10_000;
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 3600 * 1000 - 1;
/// Per-event size: AWS raised it to 1 MB in 2025; the older 256 KB is kept so older endpoints
/// (and other implementations of the API) accept every event too.
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD;
const QUEUE: usize = 8192;
/// The shipper is woken early when no more than this much room is left in the queue.
const LOW_ROOM: usize = QUEUE / 4;
/// How long a batch waits for company before it is sent: short, so that a learner sees a
/// request's tokens in the lab guide well within a second, and far below any PutLogEvents quota.
const LINGER: Duration = Duration::from_millis(250);
const ATTEMPTS: u32 = 4;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ShipperConfig {
    pub region: Option<String>,
    pub group: String,
    pub stream: String,
    /// Overrides the SDK's endpoint resolution (which already honours AWS_ENDPOINT_URL).
    pub endpoint_url: Option<String>,
    /// Overrides the standard credential chain.
    pub credentials: Option<crate::config::StaticCredentials>,
}

#[derive(Debug)]
struct Event {
    ts: i64,
    msg: String,
}

/// The request side of the shipper.
#[derive(Debug)]
pub struct Shipper {
    tx: mpsc::Sender<Event>,
    filling: Arc<Notify>,
    close: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    dropped: Arc<AtomicU64>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Shipper {
    /// Starts the shipping task; `notes` receives status lines for `server.log`.
    pub fn start(config: ShipperConfig, notes: Sender<String>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (close, closed) = oneshot::channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let filling = Arc::new(Notify::new());
        let task = tokio::spawn(ship(
            config,
            rx,
            filling.clone(),
            closed,
            Notes(notes),
            dropped.clone(),
        ));
        Self {
            tx,
            filling,
            close: std::sync::Mutex::new(Some(close)),
            dropped,
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Queues a line, or counts it as dropped when the queue is full.
    pub fn push(&self, ts_ms: u64, line: &str) {
        let msg = truncate(line);
        let ev = Event {
            ts: i64::try_from(ts_ms).unwrap_or(i64::MAX),
            msg,
        };
        if self.tx.try_send(ev).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if self.tx.capacity() <= LOW_ROOM {
            self.filling.notify_one();
        }
    }

    /// Events refused because the queue was full or CloudWatch kept failing.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sends what is queued (giving up after a few seconds) and stops.
    pub async fn close(&self) {
        // The task closes its receiver, drains what was queued, sends it and ends.
        if let Some(close) = self.close.lock().ok().and_then(|mut c| c.take()) {
            let _ = close.send(());
        }
        let Some(task) = self.task.lock().await.take() else {
            return;
        };
        let abort = task.abort_handle();
        if timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
            eprintln!(
                "CloudWatch Logs: gave up flushing after {SHUTDOWN_GRACE:?}; server.log has every event"
            );
        }
    }
}

fn truncate(line: &str) -> String {
    if line.len() <= MAX_EVENT_BYTES {
        return line.to_owned();
    }
    let mut cut = MAX_EVENT_BYTES - 16;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[truncated]", &line[..cut])
}

struct Notes(Sender<String>);

impl Notes {
    fn say(&self, level: &str, message: &str) {
        eprintln!("{message}");
        let line = json!({"ts": utc_millis(now_millis()), "level": level, "event": "cloudwatch", "message": message});
        let _ = self.0.send(line.to_string());
    }
}

/// A batch within the PutLogEvents limits.
#[derive(Debug, Default)]
struct Batch {
    events: Vec<Event>,
    bytes: usize,
    first_ts: i64,
}

impl Batch {
    fn fits(&self, ev: &Event) -> bool {
        self.events.is_empty()
            || (self.events.len() < MAX_BATCH_EVENTS
                && self.bytes + ev.msg.len() + EVENT_OVERHEAD <= MAX_BATCH_BYTES
                && (ev.ts - self.first_ts).abs() <= MAX_BATCH_SPAN_MS)
    }

    fn push(&mut self, ev: Event) {
        if self.events.is_empty() {
            self.first_ts = ev.ts;
        }
        self.bytes += ev.msg.len() + EVENT_OVERHEAD;
        self.events.push(ev);
    }

    fn take(&mut self) -> Vec<Event> {
        let mut events = std::mem::take(&mut self.events);
        *self = Batch::default();
        // Concurrent requests may log a millisecond out of order; PutLogEvents wants order.
        events.sort_by_key(|e| e.ts);
        events
    }
}

async fn ship(
    config: ShipperConfig,
    mut rx: mpsc::Receiver<Event>,
    filling: Arc<Notify>,
    mut closed: oneshot::Receiver<()>,
    notes: Notes,
    dropped: Arc<AtomicU64>,
) {
    let client = match connect(&config).await {
        Ok(c) => c,
        Err(why) => {
            notes.say(
                "WARN",
                &format!(
                    "CloudWatch Logs off: {why}. The server runs on; server.log has every event."
                ),
            );
            rx.close();
            return;
        }
    };
    ensure_stream(&client, &config, &notes).await;
    let mut shipper = Outbox {
        client,
        config,
        notes,
        dropped,
        failing: false,
        reported_drops: 0,
    };
    let mut pending = Vec::with_capacity(QUEUE);
    let mut closing = false;
    loop {
        // The first line after a pause (or the end).
        tokio::select! {
            _ = &mut closed, if !closing => {
                closing = true;
                rx.close();
                continue;
            }
            n = rx.recv_many(&mut pending, QUEUE) => if n == 0 {
                break;
            },
        }
        // Company for it, without a wake-up per line.
        if !closing {
            tokio::select! {
                () = sleep(LINGER) => {}
                () = filling.notified() => {}
                _ = &mut closed => {
                    closing = true;
                    rx.close();
                }
            }
        }
        // What arrived meanwhile, bounded so that a steady stream cannot keep this loop here.
        for _ in 0..QUEUE {
            let Ok(ev) = rx.try_recv() else { break };
            pending.push(ev);
        }
        let mut batch = Batch::default();
        for ev in pending.drain(..) {
            if !batch.fits(&ev) {
                shipper.send(batch.take()).await;
            }
            batch.push(ev);
        }
        shipper.send(batch.take()).await;
    }
}

async fn connect(config: &ShipperConfig) -> Result<Client, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = &config.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(u) = &config.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some(c) = &config.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            None,
            None,
            "cognito-learning lab",
        ));
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err("no AWS region (set --region or AWS_REGION)".into());
    }
    let Some(creds) = sdk.credentials_provider() else {
        return Err("no AWS credentials provider".into());
    };
    match timeout(Duration::from_secs(10), creds.provide_credentials()).await {
        Ok(Ok(_)) => Ok(Client::new(&sdk)),
        Ok(Err(e)) => Err(format!("no AWS credentials ({e})")),
        Err(_) => Err("no AWS credentials (the credential chain did not answer in 10 s)".into()),
    }
}

/// Creates the group and the stream; one that already exists is fine.
async fn ensure_stream(client: &Client, config: &ShipperConfig, notes: &Notes) {
    let group = client
        .create_log_group()
        .log_group_name(&config.group)
        .send()
        .await
        .map(drop);
    complain(notes, "log group", &config.group, group);
    let stream = client
        .create_log_stream()
        .log_group_name(&config.group)
        .log_stream_name(&config.stream)
        .send()
        .await
        .map(drop);
    complain(notes, "log stream", &config.stream, stream);
}

fn complain<E: ProvideErrorMetadata + std::error::Error>(
    notes: &Notes,
    what: &str,
    name: &str,
    res: Result<(), E>,
) {
    if let Err(e) = res
        && e.code() != Some("ResourceAlreadyExistsException")
    {
        notes.say(
            "WARN",
            &format!(
                "CloudWatch Logs: cannot create {what} {name}: {}",
                describe(&e)
            ),
        );
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// The PutLogEvents request body. Written here rather than by the SDK, whose serializer escapes a
/// message a character at a time: under load that was the largest part of shipping's cost, where
/// serde_json copies the runs between escapes whole. The SDK still signs, sends and retries it.
fn put_body(group: &str, stream: &str, events: &[Event]) -> Bytes {
    let size: usize = events.iter().map(|e| e.msg.len() + 48).sum();
    let mut out = Vec::with_capacity(size + group.len() + stream.len() + 64);
    let string = |out: &mut Vec<u8>, s: &str| {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    };
    out.extend_from_slice(b"{\"logGroupName\":");
    string(&mut out, group);
    out.extend_from_slice(b",\"logStreamName\":");
    string(&mut out, stream);
    out.extend_from_slice(b",\"logEvents\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"timestamp\":");
        out.extend_from_slice(e.ts.to_string().as_bytes());
        out.extend_from_slice(b",\"message\":");
        string(&mut out, &e.msg);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

struct Outbox {
    client: Client,
    config: ShipperConfig,
    notes: Notes,
    dropped: Arc<AtomicU64>,
    failing: bool,
    reported_drops: u64,
}

impl Outbox {
    async fn send(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let n = events.len() as u64;
        let body = put_body(&self.config.group, &self.config.stream, &events);
        let mut delay = Duration::from_millis(250);
        let mut sent = false;
        for attempt in 1..=ATTEMPTS {
            let body = body.clone();
            let res = self
                .client
                .put_log_events()
                .log_group_name(&self.config.group)
                .log_stream_name(&self.config.stream)
                .set_log_events(Some(Vec::new()))
                .customize()
                // Before signing, so the signature covers the events.
                .mutate_request(move |req| {
                    req.headers_mut()
                        .insert("content-length", body.len().to_string());
                    *req.body_mut() = SdkBody::from(body.clone());
                })
                .send()
                .await;
            match res {
                Ok(out) => {
                    if let Some(r) = out.rejected_log_events_info() {
                        self.notes.say(
                            "WARN",
                            &format!("CloudWatch Logs rejected some events: {r:?}"),
                        );
                    }
                    if std::mem::replace(&mut self.failing, false) {
                        self.notes.say("INFO", "CloudWatch Logs shipping resumed");
                    }
                    sent = true;
                    break;
                }
                Err(e) if e.code() == Some("ResourceNotFoundException") && attempt < ATTEMPTS => {
                    ensure_stream(&self.client, &self.config, &self.notes).await;
                }
                Err(e) => {
                    if !std::mem::replace(&mut self.failing, true) {
                        self.notes.say(
                            "WARN",
                            &format!("CloudWatch Logs unavailable ({}); retrying, server.log keeps every event", describe(&e)),
                        );
                    }
                    if attempt < ATTEMPTS {
                        sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(4));
                    }
                }
            }
        }
        if !sent {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported_drops {
            self.notes.say(
                "WARN",
                &format!(
                    "CloudWatch Logs: {} events not shipped so far ({} new); they are in server.log",
                    dropped,
                    dropped - self.reported_drops
                ),
            );
            self.reported_drops = dropped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, len: usize) -> Event {
        Event {
            ts,
            msg: "x".repeat(len),
        }
    }

    #[test]
    fn batches_respect_the_byte_count_with_26_bytes_an_event() {
        let mut b = Batch::default();
        let size = 100_000 - EVENT_OVERHEAD;
        for _ in 0..10 {
            assert!(b.fits(&ev(1, size)));
            b.push(ev(1, size));
        }
        assert_eq!(b.bytes, 1_000_000);
        assert!(b.fits(&ev(1, 48_576 - EVENT_OVERHEAD)));
        assert!(!b.fits(&ev(1, 48_576 - EVENT_OVERHEAD + 1)));
    }

    #[test]
    fn batches_hold_at_most_10000_events_within_24_hours_in_order() {
        let mut b = Batch::default();
        for i in 0..MAX_BATCH_EVENTS {
            b.push(ev(10_000 - i as i64, 1));
        }
        assert!(!b.fits(&ev(1, 1)));
        let events = b.take();
        assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts));
        let mut b = Batch::default();
        b.push(ev(0, 1));
        assert!(b.fits(&ev(MAX_BATCH_SPAN_MS, 1)));
        assert!(!b.fits(&ev(MAX_BATCH_SPAN_MS + 1, 1)));
    }

    #[test]
    fn the_put_body_is_the_documented_json_with_every_message_intact() {
        let events = [
            ev(1, 0),
            Event {
                ts: 1_764_000_000_123,
                msg: r#"{"path":"/v1/secrets","tab":"\t","é":"\u{1}","q":"\"x\""}"#.into(),
            },
        ];
        let body = put_body("cognito-learning", "api \"1\"", &events);
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(doc["logGroupName"], "cognito-learning");
        assert_eq!(doc["logStreamName"], "api \"1\"");
        assert_eq!(doc["logEvents"][0], json!({"timestamp": 1, "message": ""}));
        assert_eq!(doc["logEvents"][1]["timestamp"], 1_764_000_000_123_i64);
        assert_eq!(doc["logEvents"][1]["message"], events[1].msg.as_str());
        assert_eq!(
            put_body("g", "s", &[]).as_ref(),
            br#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#
        );
    }

    #[test]
    fn oversized_lines_are_cut_at_a_character_boundary() {
        let line = "é".repeat(MAX_EVENT_BYTES);
        let cut = truncate(&line);
        assert!(cut.len() <= MAX_EVENT_BYTES);
        assert!(cut.ends_with("…[truncated]"));
    }
}
