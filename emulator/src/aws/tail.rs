//! StartLiveTail: a Live Tail session as the event stream AWS documents.
//!
//! The response is `application/vnd.amazon.eventstream`: one `sessionStart` event, then a
//! `sessionUpdate` every second with what was ingested since the one before (an empty list when
//! nothing was), at most 500 events an update, beyond which the update is a sample marked
//! `sampled`. After three hours the session ends with a `SessionTimeoutException` event. Events
//! reach sessions through a broadcast from PutLogEvents; a session too far behind to keep up
//! loses the oldest, and says `sampled` too, as AWS does for a slow reader.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::filter::Pattern;

/// How often a session sends what arrived.
pub const UPDATE_EVERY: Duration = Duration::from_secs(1);
/// The most events one update carries.
pub const MAX_RESULTS: usize = 500;
/// How long a session lasts.
pub const SESSION_LIMIT: Duration = Duration::from_secs(3 * 3600);
/// PutLogEvents calls a session may fall behind by before it loses the oldest.
pub const BACKLOG: usize = 1024;
/// Updates held for a slow reader.
pub const BUFFERED_UPDATES: usize = 10;

/// What one PutLogEvents call stored, as sessions see it.
#[derive(Debug)]
pub struct Ingested {
    pub group: String,
    pub stream: String,
    /// Timestamp, message, ingestion time.
    pub events: Vec<(i64, String, i64)>,
}

/// What a session reads: the events stored, and the lab's stop.
#[derive(Debug)]
pub struct Feed {
    pub ingested: broadcast::Receiver<Arc<Ingested>>,
    pub ending: tokio::sync::watch::Receiver<bool>,
}

/// A validated StartLiveTail request.
#[derive(Debug)]
pub struct Session {
    /// Each group's name and its identifier as the request gave it.
    pub groups: Vec<(String, String)>,
    pub stream_names: Option<Vec<String>>,
    pub stream_prefixes: Option<Vec<String>>,
    pub pattern_text: Option<String>,
    pub pattern: Pattern,
    pub request_id: String,
    pub session_id: String,
}

impl Session {
    /// Whether the session follows this group's stream (its filter pattern aside).
    fn follows(&self, group: &str, stream: &str) -> bool {
        self.groups.iter().any(|(g, _)| g == group)
            && self
                .stream_names
                .as_ref()
                .is_none_or(|n| n.iter().any(|s| s == stream))
            && self
                .stream_prefixes
                .as_ref()
                .is_none_or(|p| p.iter().any(|s| stream.starts_with(s.as_str())))
    }

    fn identifier<'a>(&'a self, group: &'a str) -> &'a str {
        self.groups
            .iter()
            .find(|(g, _)| g == group)
            .map_or(group, |(_, id)| id.as_str())
    }

    fn start_event(&self) -> Value {
        let ids: Vec<&str> = self.groups.iter().map(|(_, id)| id.as_str()).collect();
        let mut v = json!({
            "requestId": self.request_id,
            "sessionId": self.session_id,
            "logGroupIdentifiers": ids,
        });
        if let Some(n) = &self.stream_names {
            v["logStreamNames"] = json!(n);
        }
        if let Some(p) = &self.stream_prefixes {
            v["logStreamNamePrefixes"] = json!(p);
        }
        if let Some(p) = &self.pattern_text {
            v["logEventFilterPattern"] = json!(p);
        }
        v
    }
}

/// One event-stream message: an event of `kind`, or an exception of that type.
fn frame(message_type: &str, kind: &str, payload: &Value) -> Bytes {
    let type_header = if message_type == "exception" {
        ":exception-type"
    } else {
        ":event-type"
    };
    let message = Message::new(payload.to_string())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_owned().into()),
        ))
        .add_header(Header::new(
            type_header,
            HeaderValue::String(kind.to_owned().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut out = Vec::with_capacity(256);
    // Headers of these sizes always fit the format's limits.
    let _ = aws_smithy_eventstream::frame::write_message_to(&message, &mut out);
    Bytes::from(out)
}

/// Runs a session until the client goes or its time is up, writing frames to `out`.
pub async fn run(session: Session, feed: Feed, out: mpsc::Sender<Bytes>) {
    let Feed {
        mut ingested,
        mut ending,
    } = feed;
    if out
        .send(frame("event", "sessionStart", &session.start_event()))
        .await
        .is_err()
    {
        return;
    }
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval_at(started + UPDATE_EVERY, UPDATE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = out.closed() => return,
            // The stream just ends, as when a connection to AWS drops.
            _ = ending.changed() => return,
        }
        if started.elapsed() >= SESSION_LIMIT {
            let _ = out
                .send(frame(
                    "exception",
                    "SessionTimeoutException",
                    &json!({"message": "Session timed out after 3 hours"}),
                ))
                .await;
            return;
        }
        // What matched since the last update, by batch and index: only the events sent are
        // turned into JSON.
        let mut matched: Vec<(Arc<Ingested>, usize)> = Vec::new();
        let mut lagged = false;
        loop {
            match ingested.try_recv() {
                Ok(batch) if session.follows(&batch.group, &batch.stream) => {
                    for (i, (_, message, _)) in batch.events.iter().enumerate() {
                        if session.pattern.matches(message) {
                            matched.push((batch.clone(), i));
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => break,
            }
        }
        // Past the limit, an even sample of what matched.
        let (n, sent) = (matched.len(), matched.len().min(MAX_RESULTS));
        let sampled = lagged || n > sent;
        let results: Vec<Value> = (0..sent)
            .map(|i| {
                let (batch, at) = &matched[i * n / sent];
                let (ts, message, ingested_at) = &batch.events[*at];
                json!({
                    "logStreamName": batch.stream,
                    "logGroupIdentifier": session.identifier(&batch.group),
                    "message": message,
                    "timestamp": ts,
                    "ingestionTime": ingested_at,
                })
            })
            .collect();
        let update = json!({
            "sessionMetadata": {"sampled": sampled},
            "sessionResults": results,
        });
        if out
            .send(frame("event", "sessionUpdate", &update))
            .await
            .is_err()
        {
            return;
        }
    }
}
