//! Every exchange the lab sees, published for the lab guide's flow pane.
//!
//! One event per exchange, once its answer is known: who called whom, what was asked, the status
//! and a short note (the redirect target, the cookie set, why something was refused). The ALB's
//! calls to Cognito's token and userInfo endpoints are marked as the back channel: the browser
//! never sees them.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use cognito_learning_tokens::time::now_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Browser,
    Alb,
    Cognito,
    App,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    pub seq: u64,
    pub at_ms: u64,
    pub from: Actor,
    pub to: Actor,
    /// `GET /v1/secrets`
    pub request: String,
    pub status: u16,
    /// What matters about the answer, in a few words.
    pub note: String,
    pub back_channel: bool,
}

const KEEP: usize = 1000;

/// A broadcast of trace events, with the latest kept for late subscribers.
#[derive(Debug)]
pub struct Trace {
    tx: broadcast::Sender<TraceEvent>,
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
    pub fn emit(&self, from: Actor, to: Actor, request: String, status: u16, note: String) {
        let back_channel = matches!((from, to), (Actor::Alb, Actor::Cognito));
        let ev = TraceEvent {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            at_ms: now_millis(),
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
