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

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use cognito_learning_tokens::time::{now_millis, utc_millis};

pub use cognito_learning_contract::cloudwatch::{
    EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS, MAX_EVENT_BYTES,
};
/// Bytes of events held for shipping at most (about eight full batches); past it, lines are
/// counted as dropped, and `server.log` has them.
const MAX_HELD: usize = 8 * MAX_BATCH_BYTES;
/// A full batch's body: the messages, a backslash for every fifth byte of them, and 40 bytes of
/// framing an event. A body that outgrows it is still sent; it just moved once on the way.
const BODY_ROOM: usize = MAX_BATCH_BYTES + MAX_BATCH_BYTES / 5 + 40 * 2048;
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

/// One PutLogEvents request body, written as events arrive. Written here rather than by the
/// SDK, whose serializer escapes a message a character at a time; the SDK still signs, sends and
/// retries it.
#[derive(Debug)]
struct Batch {
    /// The body so far, without its closing `]}`.
    json: Vec<u8>,
    events: usize,
    /// As PutLogEvents counts them: each message's UTF-8 bytes plus 26.
    bytes: usize,
    first_ts: i64,
    last_ts: i64,
}

/// The start of every body for this group and stream, up to the events.
fn body_start(group: &str, stream: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(group.len() + stream.len() + 64);
    out.extend_from_slice(b"{\"logGroupName\":");
    json_string(&mut out, group);
    out.extend_from_slice(b",\"logStreamName\":");
    json_string(&mut out, stream);
    out.extend_from_slice(b",\"logEvents\":[");
    out
}

impl Batch {
    fn new(start: &[u8]) -> Self {
        // Room for a full batch with its escapes and framing, so that it never moves as it grows.
        let mut json = Vec::with_capacity(BODY_ROOM + start.len());
        json.extend_from_slice(start);
        Self {
            json,
            events: 0,
            bytes: 0,
            first_ts: 0,
            last_ts: 0,
        }
    }

    fn fits(&self, len: usize, ts: i64) -> bool {
        self.events == 0
            || (self.events < MAX_BATCH_EVENTS
                && self.bytes + len + EVENT_OVERHEAD <= MAX_BATCH_BYTES
                && ts.max(self.last_ts) - self.first_ts <= MAX_BATCH_SPAN_MS)
    }

    /// Appends an event. Its timestamp is never earlier than the one before it: PutLogEvents
    /// wants a batch in order, and concurrent requests may log a millisecond out of turn.
    fn push(&mut self, ts: i64, msg: &str) {
        let ts = if self.events == 0 {
            self.first_ts = ts;
            ts
        } else {
            self.json.push(b',');
            ts.max(self.last_ts)
        };
        self.last_ts = ts;
        self.json.extend_from_slice(b"{\"timestamp\":");
        // Writing into a Vec cannot fail.
        let _ = write!(self.json, "{ts}");
        self.json.extend_from_slice(b",\"message\":");
        json_string(&mut self.json, msg);
        self.json.push(b'}');
        self.events += 1;
        self.bytes += msg.len() + EVENT_OVERHEAD;
    }

    /// The finished body.
    fn into_body(mut self) -> Bytes {
        self.json.extend_from_slice(b"]}");
        Bytes::from(self.json)
    }
}

/// `s` as a JSON string, as serde_json writes it, straight into the body.
///
/// Lines are JSON themselves, with a quote every few bytes, so a byte-at-a-time loop spends its
/// time on branches it mispredicts. This reads eight bytes at a time: a word with nothing to
/// escape is one store, and each quote or backslash in it costs a backslash and one more store
/// of the word's rest. Control characters (which serde_json never leaves in a line, but a note
/// might carry) go the slow way, through serde_json.
fn json_string(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    if !escape_words(out, s.as_bytes()) {
        out.truncate(start);
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = ONES * 0x7f;
const HIGH: u64 = ONES * 0x80;

/// The high bit of every byte of `x` that is zero, and no other bit.
const fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Writes `"b"` escaped for JSON and returns true, or returns false (having written part of it)
/// when `b` holds a control character.
fn escape_words(out: &mut Vec<u8>, b: &[u8]) -> bool {
    let start = out.len();
    // Room for every byte escaped, both quotes, and a word's overhang past the end.
    out.resize(start + 2 * b.len() + 2 + 8, 0);
    let dst = &mut out[start..];
    dst[0] = b'"';
    let mut j = 1;
    let mut control = 0;
    let mut words = b.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let mut marks =
            zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        // Bytes under 0x20: their low seven bits plus 0x60 stay under 0x80, and the top bit is clear.
        control |= !(((w & LOW7) + ONES * 0x60) | w) & HIGH;
        dst[j..j + 8].copy_from_slice(&bytes);
        let mut escaped = 0;
        while marks != 0 {
            let k = (marks.trailing_zeros() / 8) as usize;
            let at = j + k + escaped;
            dst[at] = b'\\';
            dst[at + 1..at + 9].copy_from_slice(&(w >> (8 * k)).to_le_bytes());
            escaped += 1;
            marks &= marks - 1;
        }
        j += 8 + escaped;
    }
    for &c in words.remainder() {
        control |= u64::from(c < 0x20);
        if c == b'"' || c == b'\\' {
            dst[j] = b'\\';
            j += 1;
        }
        dst[j] = c;
        j += 1;
    }
    dst[j] = b'"';
    out.truncate(start + j + 1);
    control == 0
}

/// Events waiting to be shipped: the batch being filled and those already full.
#[derive(Debug)]
struct Held {
    start: Vec<u8>,
    open: Batch,
    full: VecDeque<Batch>,
    bytes: usize,
    closed: bool,
}

impl Held {
    fn new(start: Vec<u8>) -> Self {
        Self {
            open: Batch::new(&start),
            start,
            full: VecDeque::new(),
            bytes: 0,
            closed: false,
        }
    }

    /// The open batch, replaced by an empty one.
    fn seal(&mut self) -> Batch {
        std::mem::replace(&mut self.open, Batch::new(&self.start))
    }
}

#[derive(Debug)]
struct Shared {
    held: Mutex<Held>,
    /// The first line after a pause.
    arrived: Notify,
    /// A batch is full.
    filled: Notify,
    dropped: AtomicU64,
}

/// The request side of the shipper.
#[derive(Debug)]
pub struct Shipper {
    shared: Arc<Shared>,
    close: Mutex<Option<oneshot::Sender<()>>>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Shipper {
    /// Starts the shipping task; `notes` receives status lines for `server.log`.
    pub fn start(config: ShipperConfig, notes: Sender<String>) -> Self {
        let (close, closed) = oneshot::channel();
        let shared = Arc::new(Shared {
            held: Mutex::new(Held::new(body_start(&config.group, &config.stream))),
            arrived: Notify::new(),
            filled: Notify::new(),
            dropped: AtomicU64::new(0),
        });
        let task = tokio::spawn(ship(config, shared.clone(), closed, Notes(notes)));
        Self {
            shared,
            close: Mutex::new(Some(close)),
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Adds a line to the batch being filled, or counts it as dropped when too much is held.
    pub fn push(&self, ts_ms: u64, line: &str) {
        let msg = truncate(line);
        let ts = i64::try_from(ts_ms).unwrap_or(i64::MAX);
        let size = msg.len() + EVENT_OVERHEAD;
        let (first, sealed) = {
            let Ok(mut held) = self.shared.held.lock() else {
                return;
            };
            if held.closed || held.bytes + size > MAX_HELD {
                drop(held);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let first = held.open.events == 0 && held.full.is_empty();
            let sealed = !held.open.fits(msg.len(), ts);
            if sealed {
                let full = held.seal();
                held.full.push_back(full);
            }
            held.open.push(ts, &msg);
            held.bytes += size;
            (first, sealed)
        };
        if first {
            self.shared.arrived.notify_one();
        }
        if sealed {
            self.shared.filled.notify_one();
        }
    }

    /// Events refused because too much was held or CloudWatch kept failing.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Sends what is held (giving up after a few seconds) and stops.
    pub async fn close(&self) {
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

fn truncate(line: &str) -> Cow<'_, str> {
    if line.len() <= MAX_EVENT_BYTES {
        return Cow::Borrowed(line);
    }
    let mut cut = MAX_EVENT_BYTES - 16;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}…[truncated]", &line[..cut]))
}

struct Notes(Sender<String>);

impl Notes {
    fn say(&self, level: &str, message: &str) {
        eprintln!("{message}");
        let line = json!({"ts": utc_millis(now_millis()), "level": level, "event": "cloudwatch", "message": message});
        let _ = self.0.send(line.to_string());
    }
}

async fn ship(
    config: ShipperConfig,
    shared: Arc<Shared>,
    mut closed: oneshot::Receiver<()>,
    notes: Notes,
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
            // What came already, and every line from now on, is counted as not shipped.
            if let Ok(mut held) = shared.held.lock() {
                held.closed = true;
                let waiting: usize =
                    held.full.drain(..).map(|b| b.events).sum::<usize>() + held.seal().events;
                held.bytes = 0;
                shared.dropped.fetch_add(waiting as u64, Ordering::Relaxed);
            }
            return;
        }
    };
    ensure_stream(&client, &config, &notes).await;
    let mut outbox = Outbox {
        client,
        config,
        notes,
        shared: shared.clone(),
        failing: false,
        reported_drops: 0,
    };
    let mut closing = false;
    while !closing {
        // The first line after a pause, or the end.
        tokio::select! {
            () = shared.arrived.notified() => {}
            _ = &mut closed => closing = true,
        }
        // Company for it: no wake-up per line, only a timer or a full batch.
        if !closing {
            tokio::select! {
                () = sleep(LINGER) => {}
                () = shared.filled.notified() => {}
                _ = &mut closed => closing = true,
            }
        }
        let batches: Vec<Batch> = {
            let Ok(mut held) = shared.held.lock() else {
                return;
            };
            held.closed = closing;
            held.bytes = 0;
            let open = held.seal();
            let mut out: Vec<Batch> = held.full.drain(..).collect();
            if open.events > 0 {
                out.push(open);
            }
            out
        };
        for batch in batches {
            outbox.send(batch).await;
        }
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

struct Outbox {
    client: Client,
    config: ShipperConfig,
    notes: Notes,
    shared: Arc<Shared>,
    failing: bool,
    reported_drops: u64,
}

impl Outbox {
    async fn send(&mut self, batch: Batch) {
        if batch.events == 0 {
            return;
        }
        let n = batch.events as u64;
        let body = batch.into_body();
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
            self.shared.dropped.fetch_add(n, Ordering::Relaxed);
        }
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
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
    use proptest::prelude::*;

    fn batch() -> Batch {
        Batch::new(&body_start("g", "s"))
    }

    fn parsed(b: Batch) -> serde_json::Value {
        serde_json::from_slice(&b.into_body()).unwrap_or_default()
    }

    #[test]
    fn batches_respect_the_byte_count_with_26_bytes_an_event() {
        let mut b = batch();
        let size = 100_000 - EVENT_OVERHEAD;
        let msg = "x".repeat(size);
        for _ in 0..10 {
            assert!(b.fits(size, 1));
            b.push(1, &msg);
        }
        assert_eq!(b.bytes, 1_000_000);
        assert!(b.fits(48_576 - EVENT_OVERHEAD, 1));
        assert!(!b.fits(48_576 - EVENT_OVERHEAD + 1, 1));
    }

    #[test]
    fn batches_hold_at_most_10000_events_within_24_hours_in_order() {
        let mut b = batch();
        for i in 0..MAX_BATCH_EVENTS {
            b.push(10_000 - i as i64, "x");
        }
        assert!(!b.fits(1, 1));
        // Out of turn, an event takes the time of the one before it.
        let doc = parsed(b);
        let ts: Vec<i64> = doc["logEvents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["timestamp"].as_i64())
            .collect();
        assert_eq!(ts.len(), MAX_BATCH_EVENTS);
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        let mut b = batch();
        b.push(0, "x");
        assert!(b.fits(1, MAX_BATCH_SPAN_MS));
        assert!(!b.fits(1, MAX_BATCH_SPAN_MS + 1));
    }

    #[test]
    fn the_put_body_is_the_documented_json_with_every_message_intact() {
        let line = r#"{"path":"/v1/secrets","tab":"\t","é":"\u{1}","q":"\"x\\"}"#;
        let mut b = Batch::new(&body_start("cognito-learning", "api \"1\""));
        b.push(1, "");
        b.push(1_764_000_000_123, line);
        b.push(1_764_000_000_124, "a\nb\u{1}\u{7f}");
        let doc = parsed(b);
        assert_eq!(doc["logGroupName"], "cognito-learning");
        assert_eq!(doc["logStreamName"], "api \"1\"");
        assert_eq!(doc["logEvents"][0], json!({"timestamp": 1, "message": ""}));
        assert_eq!(doc["logEvents"][1]["timestamp"], 1_764_000_000_123_i64);
        assert_eq!(doc["logEvents"][1]["message"], line);
        assert_eq!(doc["logEvents"][2]["message"], "a\nb\u{1}\u{7f}");
        assert_eq!(
            batch().into_body().as_ref(),
            br#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#
        );
    }

    /// Every byte escaped is the most the escaping can write; at every length it stays in the room
    /// it makes.
    #[test]
    fn strings_of_nothing_but_escapes_fit() {
        for len in 0..40 {
            for c in ["\"", "\\", "\n"] {
                let s = c.repeat(len);
                let mut out = Vec::new();
                json_string(&mut out, &s);
                assert_eq!(out, serde_json::to_vec(&s).unwrap_or_default());
            }
        }
    }

    proptest! {
        #[test]
        fn any_string_survives_the_escaping(s in ".*") {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap_or_default();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn escaping_writes_what_serde_json_writes(s in "(?s)[a\"\\\\é\u{1}\n\u{7f}\u{1f} {}:,]{0,80}|.*") {
            let mut out = b"[".to_vec();
            json_string(&mut out, &s);
            let expected = format!("[{}", serde_json::to_string(&s).unwrap_or_default());
            prop_assert_eq!(String::from_utf8_lossy(&out), expected);
        }

        #[test]
        fn quotes_and_backslashes_survive_at_every_offset(s in "[a\"\\\\é{}:,]{0,40}") {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap_or_default();
            prop_assert_eq!(back, s);
        }
    }

    /// While CloudWatch cannot be reached, what is held stays under its bound and the rest is
    /// counted, never queued without limit.
    #[tokio::test]
    async fn held_lines_are_bounded_and_the_overflow_counted() {
        let (notes, _rx) = std::sync::mpsc::channel();
        let shipper = Shipper::start(
            ShipperConfig {
                region: Some("eu-west-1".into()),
                group: "g".into(),
                stream: "s".into(),
                endpoint_url: Some("http://127.0.0.1:1".into()),
                credentials: Some(crate::config::StaticCredentials {
                    access_key_id: "AKIDEXAMPLE".into(),
                    secret_access_key: "secret".into(),
                }),
            },
            notes,
        );
        let line = "x".repeat(1000);
        for _ in 0..9000 {
            shipper.push(1, &line);
        }
        let fits = MAX_HELD / (1000 + EVENT_OVERHEAD);
        assert_eq!(shipper.dropped(), (9000 - fits) as u64);
    }

    #[test]
    fn oversized_lines_are_cut_at_a_character_boundary() {
        let line = "é".repeat(MAX_EVENT_BYTES);
        let cut = truncate(&line);
        assert!(cut.len() <= MAX_EVENT_BYTES);
        assert!(cut.ends_with("…[truncated]"));
    }
}
