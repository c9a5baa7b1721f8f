//! The flow pane's state: the last [`FLOW_BUFFER`] exchanges, in the order their requests
//! arrived.

use std::collections::VecDeque;

use cognito_learning_contract::trace::TraceEvent;

/// Flow events kept at most.
pub const FLOW_BUFFER: usize = 500;

#[derive(Debug, Default)]
pub struct FlowLog {
    pub events: VecDeque<TraceEvent>,
    pub scroll: usize,
}

impl FlowLog {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &TraceEvent> {
        self.events.iter()
    }

    /// Adds what arrived, in order, dropping the oldest past the bound.
    pub fn add(&mut self, events: Vec<TraceEvent>) {
        for e in events {
            self.insert(e);
        }
        let over = self.events.len().saturating_sub(FLOW_BUFFER);
        self.events.drain(..over);
    }

    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// The lab publishes an exchange when its answer is known, so the ALB's calls (to
    /// Cognito, to the app) come before the browser's request that caused them; each is put
    /// in the order the requests arrived, which the lab stamped. Events come nearly in order,
    /// so the place is found from the end.
    fn insert(&mut self, e: TraceEvent) {
        let mut at = self.events.len();
        while at > 0 && self.events[at - 1].order() > e.order() {
            at -= 1;
        }
        self.events.insert(at, e);
    }
}

impl std::ops::Index<usize> for FlowLog {
    type Output = TraceEvent;

    fn index(&self, i: usize) -> &TraceEvent {
        &self.events[i]
    }
}
