//! The store behind the CloudWatch Logs stand-in: groups, streams and events, and the one way
//! they change ([`Change`], applied by [`apply`] live and when the journal is replayed), within
//! the retention periods and the caps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use cognito_learning_contract::cloudwatch::EVENT_OVERHEAD;

pub(super) const DAY_MS: i64 = 24 * 3600 * 1000;

/// Bytes of events one group keeps, counted as PutLogEvents counts them (message + 26): about
/// 4,500 of the app's authenticated request lines, far past a learner's own traffic. Past it
/// the oldest events go first, as a rolling store.
pub const GROUP_CAP: usize = 24 << 20;
/// Bytes of events the lab keeps over all groups; past it the largest group gives way.
pub const TOTAL_CAP: usize = 32 << 20;

/// One change to the store: what a mutating call does once it is validated, and one line of
/// the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(in crate::aws) enum Change {
    Group {
        name: String,
        created: i64,
    },
    DeleteGroup {
        name: String,
    },
    Retention {
        name: String,
        days: Option<u64>,
    },
    Stream {
        group: String,
        name: String,
        created: i64,
    },
    Put {
        group: String,
        stream: String,
        events: Vec<Event>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(in crate::aws) struct Event {
    pub(in crate::aws) ts: i64,
    pub(in crate::aws) message: String,
    pub(in crate::aws) ingested: i64,
    pub(in crate::aws) id: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(in crate::aws) struct Stream {
    pub(in crate::aws) created: i64,
    pub(in crate::aws) events: Vec<Event>,
    pub(in crate::aws) last_ingested: Option<i64>,
    /// The highest event id ever stored here (ids grow with arrival), so that a replayed put is
    /// recognised without reading the stream; recounted on load.
    #[serde(skip)]
    pub(in crate::aws) max_id: u64,
}

impl Stream {
    /// The events from `start` on, up to `end` (inclusive or not): a binary search, since a
    /// stream is kept in time order, so a poll for the newest lines does not read them all.
    pub(in crate::aws) fn window(
        &self,
        start: Option<i64>,
        end: Option<i64>,
        end_inclusive: bool,
    ) -> &[Event] {
        let lo = start.map_or(0, |t| self.events.partition_point(|e| e.ts < t));
        let hi = end.map_or(self.events.len(), |t| {
            self.events
                .partition_point(|e| e.ts < t || (end_inclusive && e.ts == t))
        });
        &self.events[lo..hi.max(lo)]
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(in crate::aws) struct Group {
    pub(in crate::aws) created: i64,
    pub(in crate::aws) retention: Option<u64>,
    pub(in crate::aws) streams: BTreeMap<String, Stream>,
    /// Bytes of events held, as the caps count them (recounted on load).
    #[serde(skip)]
    pub(in crate::aws) bytes: usize,
}

impl Group {
    /// Recounts what is not stored: the bytes held and each stream's highest id.
    pub(in crate::aws) fn count(&mut self) {
        for s in self.streams.values_mut() {
            s.max_id = s.events.iter().map(|e| e.id).max().unwrap_or(0);
        }
        self.bytes = self
            .streams
            .values()
            .flat_map(|s| &s.events)
            .map(Event::size)
            .sum();
    }

    /// Drops the events past the retention period.
    pub(in crate::aws) fn expire(&mut self, now: i64) {
        let Some(days) = self.retention else { return };
        let cutoff = now - i64::try_from(days).unwrap_or(i64::MAX / DAY_MS) * DAY_MS;
        for s in self.streams.values_mut() {
            let old = s.events.partition_point(|e| e.ts < cutoff);
            self.bytes -= s.events.drain(..old).map(|e| e.size()).sum::<usize>();
        }
    }

    /// Drops the oldest events, across streams, until at most `target` bytes are held.
    pub(in crate::aws) fn shrink_to(&mut self, target: usize) {
        while self.bytes > target {
            let mut heads: Vec<(i64, &mut Stream)> = self
                .streams
                .values_mut()
                .filter_map(|s| Some((s.events.first()?.ts, s)))
                .collect();
            heads.sort_by_key(|(ts, _)| *ts);
            let next = heads.get(1).map_or(i64::MAX, |(ts, _)| *ts);
            let Some((_, s)) = heads.first_mut() else {
                self.bytes = 0;
                return;
            };
            // The run older than every other stream's first event, as far as needed.
            let (mut freed, mut n) = (0, 0);
            for e in &s.events {
                if n > 0 && (e.ts > next || self.bytes - freed <= target) {
                    break;
                }
                freed += e.size();
                n += 1;
            }
            s.events.drain(..n);
            self.bytes -= freed;
        }
    }
}

impl Event {
    /// What the caps count, as PutLogEvents does: the message and 26 bytes.
    pub(in crate::aws) fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// Applies one change to the groups. A change replayed twice (a journal written again after a
/// compaction it survived) leaves the store as once: events are told apart by id.
pub(in crate::aws) fn apply(groups: &mut BTreeMap<String, Group>, change: Change, now: i64) {
    match change {
        Change::Group { name, created } => {
            groups.entry(name).or_insert_with(|| Group {
                created,
                ..Group::default()
            });
        }
        Change::DeleteGroup { name } => {
            groups.remove(&name);
        }
        Change::Retention { name, days } => {
            if let Some(g) = groups.get_mut(&name) {
                g.retention = days;
                g.expire(now);
            }
        }
        Change::Stream {
            group,
            name,
            created,
        } => {
            if let Some(g) = groups.get_mut(&group) {
                g.streams.entry(name).or_insert_with(|| Stream {
                    created,
                    ..Stream::default()
                });
            }
        }
        Change::Put {
            group,
            stream,
            events,
        } => {
            let Some(g) = groups.get_mut(&group) else {
                return;
            };
            let Some(s) = g.streams.get_mut(&stream) else {
                return;
            };
            let newest_id = s.max_id;
            let Some(first) = events.iter().find(|e| e.id > newest_id) else {
                return;
            };
            // Kept sorted by time, then arrival: what both read operations return. A batch is
            // in time order and nearly always newer than what is stored, so it is appended; an
            // older one is merged in (a stable sort of two sorted runs).
            let older = s.events.last().is_some_and(|l| first.ts < l.ts);
            let mut added = 0;
            let mut ingested = None;
            for e in events.into_iter().filter(|e| e.id > newest_id) {
                added += e.size();
                ingested = Some(e.ingested);
                s.max_id = s.max_id.max(e.id);
                s.events.push(e);
            }
            if older {
                s.events.sort_by_key(|e| (e.ts, e.id));
            }
            s.last_ingested = ingested.or(s.last_ingested);
            g.bytes += added;
            g.expire(now);
            if g.bytes > GROUP_CAP {
                g.shrink_to(GROUP_CAP / 10 * 9);
            }
            let total: usize = groups.values().map(|g| g.bytes).sum();
            if total > TOTAL_CAP
                && let Some(largest) = groups.values_mut().max_by_key(|g| g.bytes)
            {
                let excess = total - TOTAL_CAP / 10 * 9;
                largest.shrink_to(largest.bytes.saturating_sub(excess));
            }
        }
    }
}
