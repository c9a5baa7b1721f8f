//! Every exchange the lab sees, published for the lab guide's Flow pane.
//!
//! One event per exchange, published once its answer is known and stamped with when its request
//! arrived (a [`Began`] taken first): who called whom, what was asked, the status and a short
//! note (the redirect target, the cookie set, why something was refused). The ALB's calls to
//! Cognito's token and userInfo endpoints are marked as the back channel: the browser never
//! sees them. The event type is the contract crate's, which the guide reads.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

pub use cognito_learning_contract::trace::{Actor, TraceEvent, TracePage};
use cognito_learning_tokens::time::now_millis;

const KEEP: usize = 1000;

/// When an exchange began: its place in the lab's one sequence, and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Began {
    seq: u64,
    ms: u64,
}

/// A broadcast of trace events, with the latest kept for late subscribers.
#[derive(Debug)]
pub struct Trace {
    tx: broadcast::Sender<TraceEvent>,
    /// One counter for arrivals and publications, so that both orders compare.
    seq: AtomicU64,
    recent: Mutex<VecDeque<TraceEvent>>,
}

impl Default for Trace {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
            seq: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::with_capacity(KEEP)),
        }
    }
}

impl Trace {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Stamps an exchange's arrival; pass it to [`Trace::emit`] when the answer is known.
    pub fn begin(&self) -> Began {
        Began {
            seq: self.next(),
            ms: now_millis(),
        }
    }

    pub fn emit(
        &self,
        began: Began,
        from: Actor,
        to: Actor,
        request: String,
        status: u16,
        note: String,
    ) {
        let back_channel = matches!((from, to), (Actor::Alb, Actor::Cognito));
        let ev = TraceEvent {
            seq: self.next(),
            at_ms: now_millis(),
            start_seq: began.seq,
            start_ms: began.ms,
            from,
            to,
            request,
            status,
            note,
            back_channel,
        };
        if let Ok(mut r) = self.recent.lock() {
            if r.len() == KEEP {
                r.pop_front();
            }
            r.push_back(ev.clone());
        }
        // No subscriber is fine: the lab runs headless too.
        let _ = self.tx.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<TraceEvent> {
        self.tx.subscribe()
    }

    /// The latest events, oldest first.
    pub fn recent(&self) -> Vec<TraceEvent> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A URL shortened for a trace note: path and the names of its parameters.
pub fn short(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    if query.is_empty() {
        return path.to_owned();
    }
    let names: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .collect();
    format!("{path}?{}", names.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_that_began_first_sorts_first_though_it_ends_last() {
        let t = Trace::default();
        let outer = t.begin();
        let inner = t.begin();
        t.emit(
            inner,
            Actor::Alb,
            Actor::App,
            "GET /".into(),
            200,
            String::new(),
        );
        t.emit(
            outer,
            Actor::Browser,
            Actor::Alb,
            "GET /".into(),
            200,
            String::new(),
        );
        let mut got = t.recent();
        assert!(got[0].seq < got[1].seq, "published inner first");
        got.sort_by_key(TraceEvent::order);
        assert_eq!(got[0].from, Actor::Browser);
        assert!(
            got.iter()
                .all(|e| e.start_seq < e.seq && e.start_ms <= e.at_ms)
        );
    }
}
