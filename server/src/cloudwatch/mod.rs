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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use cognito_learning_tokens::time::{now_millis, utc_millis};

mod body;

use body::{Batch, body_start, truncate};

pub use cognito_learning_contract::cloudwatch::{
    EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS, MAX_EVENT_BYTES,
};
/// Bytes of events held for shipping at most (about eight full batches); past it, lines are
/// counted as dropped, and `server.log` has them.
const MAX_HELD: usize = 8 * MAX_BATCH_BYTES;
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
}
