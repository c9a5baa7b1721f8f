//! The tokens pane's state: the last [`TOKEN_BUFFER`] requests the app logged, which of them
//! the filter finds, which one is shown and whether the stream is paused.

use std::collections::VecDeque;

use crate::stream::{TokenEvent, contains_ignoring_case};

/// Token events kept at most; older ones are dropped as new ones arrive.
pub const TOKEN_BUFFER: usize = 10_000;

#[derive(Debug, Default)]
pub struct TokenLog {
    pub events: VecDeque<TokenEvent>,
    /// The number of `events[0]` in the order events arrived.
    front_seq: u64,
    /// The numbers of the buffered events that match the filter, oldest first: computed when
    /// the filter changes and as events arrive, so that drawing never scans the buffer.
    matches: VecDeque<u64>,
    /// Which buffered event the pane shows, counted back from the newest (0: newest).
    pub back: usize,
    /// How far the shown event's tokens are scrolled.
    pub scroll: u16,
    pub paused: bool,
    /// Events that arrived while paused, held back until resumed.
    pub held: usize,
    pub filter: String,
}

impl TokenLog {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many buffered events the pane may show: all but the held ones, filtered.
    pub fn visible_count(&self) -> usize {
        let shown = self.events.len() - self.held.min(self.events.len());
        if self.filter.is_empty() {
            return shown;
        }
        let limit = self.front_seq + shown as u64;
        self.matches.partition_point(|s| *s < limit)
    }

    /// The event the tokens pane shows: `back` steps back from the newest visible one.
    pub fn shown(&self) -> Option<&TokenEvent> {
        let shown = self.events.len() - self.held.min(self.events.len());
        if self.filter.is_empty() {
            return shown
                .checked_sub(1 + self.back)
                .and_then(|i| self.events.get(i));
        }
        let seq = self
            .visible_count()
            .checked_sub(1 + self.back)
            .and_then(|i| self.matches.get(i))?;
        self.events.get(usize::try_from(seq - self.front_seq).ok()?)
    }

    /// Finds the events matching a new filter.
    pub fn refilter(&mut self) {
        let f = self.filter.to_ascii_lowercase();
        self.matches = if f.is_empty() {
            VecDeque::new()
        } else {
            (self.front_seq..)
                .zip(&self.events)
                .filter(|(_, e)| matches(e, &f))
                .map(|(s, _)| s)
                .collect()
        };
    }

    /// Adds what arrived, dropping the oldest past the bound.
    pub fn push(&mut self, events: Vec<TokenEvent>) {
        let n = events.len();
        // Room is made before adding, so the buffer never grows past its bound (a
        // VecDeque that overflows its capacity doubles it).
        let keep = events.len().min(TOKEN_BUFFER);
        let over = (self.events.len() + keep).saturating_sub(TOKEN_BUFFER);
        self.events.drain(..over);
        self.front_seq += over as u64;
        while self.matches.front().is_some_and(|s| *s < self.front_seq) {
            self.matches.pop_front();
        }
        if self.events.capacity() < TOKEN_BUFFER
            && self.events.len() + keep > self.events.capacity()
        {
            let want = (self.events.len() + keep)
                .next_power_of_two()
                .min(TOKEN_BUFFER);
            self.events.reserve_exact(want - self.events.len());
        }
        let skip = events.len() - keep;
        let filter = self.filter.to_ascii_lowercase();
        let mut matching = 0;
        for e in events.into_iter().skip(skip) {
            if filter.is_empty() || matches(&e, &filter) {
                matching += 1;
                if !filter.is_empty() {
                    self.matches
                        .push_back(self.front_seq + self.events.len() as u64);
                }
            }
            self.events.push_back(e);
        }
        // A learner looking at an older request keeps looking at it.
        if self.back > 0 && !self.paused {
            self.back = (self.back + matching).min(self.events.len().saturating_sub(1));
        }
        if self.paused {
            self.held = (self.held + n).min(self.events.len());
        }
    }
}

/// Whether `/` finds `f` (lower case) in an event: its method, path and status, or anywhere in
/// its tokens' headers and claims.
fn matches(e: &TokenEvent, f: &str) -> bool {
    let line = format!("{} {} {}", e.method, e.path, e.status);
    contains_ignoring_case(line.as_bytes(), f.as_bytes())
        || [&e.data, &e.access]
            .into_iter()
            .flatten()
            .any(|t| t.json_contains(f))
}

impl std::ops::Index<usize> for TokenLog {
    type Output = TokenEvent;

    fn index(&self, i: usize) -> &TokenEvent {
        &self.events[i]
    }
}
