//! The lab's trace: one event per exchange it sees, for the guide's Flow pane
//! (`GET /lab/trace?after=SEQ` on the lab's AWS API port answers a [`TracePage`]).
//!
//! An event is published when its answer is known, but it is stamped when its request arrived
//! ([`TraceEvent::start_seq`], [`TraceEvent::start_ms`]): a browser's request to the ALB
//! starts before the ALB's onward request to the app and ends after it, and the Flow pane
//! draws them in the order they started.

use serde::{Deserialize, Serialize};

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
    /// The order of publication: a reader asks for the events after the last one it has.
    pub seq: u64,
    /// When the answer was known (Unix milliseconds).
    pub at_ms: u64,
    /// The order of arrival, on the same counter as `seq`.
    pub start_seq: u64,
    /// When the request arrived (Unix milliseconds).
    pub start_ms: u64,
    pub from: Actor,
    pub to: Actor,
    /// `GET /v1/secrets`
    pub request: String,
    pub status: u16,
    /// What matters about the answer, in a few words.
    pub note: String,
    /// The ALB's own calls to Cognito (token, userInfo), which the browser never sees.
    pub back_channel: bool,
}

impl TraceEvent {
    /// The key the Flow pane sorts by: arrival, then publication.
    pub fn order(&self) -> (u64, u64) {
        (self.start_seq, self.seq)
    }
}

/// One answer of `GET /lab/trace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePage {
    /// The lab run these events belong to ([`crate::lab::LabInfo::run`]): a new one means the
    /// lab restarted, and its sequence numbers start again from 1.
    pub run: String,
    pub events: Vec<TraceEvent>,
}
