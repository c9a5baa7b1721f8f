//! CloudWatch Logs, in memory: groups, streams, events, and the operations the course uses.
//!
//! Limits and orderings follow the API reference: PutLogEvents batches of at most 1,048,576
//! bytes (26 bytes an event counted), 10,000 events, in time order, spanning under 24 hours, with
//! too-new and too-old events rejected one by one; GetLogEvents newest-first by default and
//! returning the token it was given at the end of a stream; FilterLogEvents oldest-first and done
//! only when no `nextToken` comes back.
//!
//! Every change is a [`Change`], applied the same way live and when [`super::journal`] replays
//! what was written before a crash. The store is bounded: a group keeps its retention period and
//! at most [`GROUP_CAP`] bytes of events (oldest dropped first), the lab at most [`TOTAL_CAP`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::ApiError;
use super::tail::{BACKLOG, Feed, Ingested, Session};
use cognito_learning_tokens::time::now_millis;

use cognito_learning_contract::cloudwatch::{
    EVENT_OVERHEAD, MAX_AGE_MS as TOO_OLD_MS, MAX_BATCH_BYTES, MAX_BATCH_EVENTS as MAX_EVENTS,
    MAX_FUTURE_MS as TOO_NEW_MS,
};
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Bytes of events one group keeps, counted as PutLogEvents counts them (message + 26): about
/// 4,500 of the app's authenticated request lines, far past a learner's own traffic. Past it
/// the oldest events go first, as a rolling store.
pub const GROUP_CAP: usize = 24 << 20;
/// Bytes of events the lab keeps over all groups; past it the largest group gives way.
pub const TOTAL_CAP: usize = 32 << 20;
/// The lab's own limits on how many groups and streams it holds (AWS's quotas are far higher;
/// these bound what a script can make the lab keep).
pub const MAX_GROUPS: usize = 100;
pub const MAX_STREAMS: usize = 1000;
/// The values PutRetentionPolicy accepts, from the API reference.
const RETENTION_DAYS: [u64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// One change to the store: what a mutating call does once it is validated, and one line of
/// the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Change {
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
pub(super) struct Event {
    ts: i64,
    message: String,
    ingested: i64,
    id: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stream {
    created: i64,
    events: Vec<Event>,
    last_ingested: Option<i64>,
    /// The highest event id ever stored here (ids grow with arrival), so that a replayed put is
    /// recognised without reading the stream; recounted on load.
    #[serde(skip)]
    max_id: u64,
}

impl Stream {
    /// The events from `start` on, up to `end` (inclusive or not): a binary search, since a
    /// stream is kept in time order, so a poll for the newest lines does not read them all.
    fn window(&self, start: Option<i64>, end: Option<i64>, end_inclusive: bool) -> &[Event] {
        let lo = start.map_or(0, |t| self.events.partition_point(|e| e.ts < t));
        let hi = end.map_or(self.events.len(), |t| {
            self.events
                .partition_point(|e| e.ts < t || (end_inclusive && e.ts == t))
        });
        &self.events[lo..hi.max(lo)]
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Group {
    created: i64,
    retention: Option<u64>,
    streams: BTreeMap<String, Stream>,
    /// Bytes of events held, as the caps count them (recounted on load).
    #[serde(skip)]
    pub(super) bytes: usize,
}

impl Group {
    /// Recounts what is not stored: the bytes held and each stream's highest id.
    pub(super) fn count(&mut self) {
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
    fn expire(&mut self, now: i64) {
        let Some(days) = self.retention else { return };
        let cutoff = now - i64::try_from(days).unwrap_or(i64::MAX / DAY_MS) * DAY_MS;
        for s in self.streams.values_mut() {
            let old = s.events.partition_point(|e| e.ts < cutoff);
            self.bytes -= s.events.drain(..old).map(|e| e.size()).sum::<usize>();
        }
    }

    /// Drops the oldest events, across streams, until at most `target` bytes are held.
    fn shrink_to(&mut self, target: usize) {
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

#[derive(Debug)]
pub struct Logs {
    region: String,
    account: String,
    pub(super) groups: RwLock<BTreeMap<String, Group>>,
    pub(super) seq: std::sync::atomic::AtomicU64,
    /// Changes not yet written to the journal, as JSON lines; `None` while no journal is open.
    pub(super) pending: std::sync::Mutex<Option<Vec<u8>>>,
    /// Wakes the journal writer early when a burst has queued [`super::journal::EAGER`] bytes.
    pub(super) wake: std::sync::Condvar,
    /// What PutLogEvents stores, for Live Tail sessions.
    tail: tokio::sync::broadcast::Sender<Arc<Ingested>>,
    /// Set when the lab stops: open Live Tail sessions end.
    ending: tokio::sync::watch::Sender<bool>,
}

fn param(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", msg)
}

fn str_field<'a>(req: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    req.get(name).and_then(Value::as_str)
}

fn required<'a>(req: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    str_field(req, name).ok_or_else(|| param(format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null")))
}

fn int(req: &Map<String, Value>, name: &str) -> Option<i64> {
    req.get(name).and_then(Value::as_i64)
}

impl Logs {
    pub fn new(region: &str, account: &str) -> Self {
        Self {
            region: region.into(),
            account: account.into(),
            groups: RwLock::default(),
            seq: std::sync::atomic::AtomicU64::new(1),
            pending: std::sync::Mutex::new(None),
            wake: std::sync::Condvar::new(),
            tail: tokio::sync::broadcast::channel(BACKLOG).0,
            ending: tokio::sync::watch::channel(false).0,
        }
    }

    fn arn(&self, group: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{group}",
            self.region, self.account
        )
    }

    /// Replaces the store with what the journal loaded, within retention and the caps.
    pub(super) fn restore(&self, mut groups: BTreeMap<String, Group>, seq: u64, now: i64) {
        for g in groups.values_mut() {
            g.count();
            g.expire(now);
            if g.bytes > GROUP_CAP {
                g.shrink_to(GROUP_CAP / 10 * 9);
            }
        }
        let next = groups
            .values()
            .flat_map(|g| g.streams.values())
            .filter_map(|s| s.events.iter().map(|e| e.id).max())
            .max()
            .map_or(seq, |m| seq.max(m + 1));
        self.seq.store(next, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut g) = self.groups.write() {
            *g = groups;
        }
    }

    /// Applies `change`, and queues it for the journal when one is open. Called with the
    /// groups locked for writing, so the journal's order is the order of the changes.
    fn commit(&self, groups: &mut BTreeMap<String, Group>, change: Change) {
        if let Ok(mut pending) = self.pending.lock()
            && let Some(buf) = pending.as_mut()
        {
            // Past this the journal writer is stuck (a full disk): the change still holds in
            // memory and is saved at the next compaction or stop.
            let before = buf.len();
            if before < super::journal::MAX_PENDING
                && serde_json::to_writer(&mut *buf, &change).is_ok()
            {
                buf.push(b'\n');
            }
            if before < super::journal::EAGER && buf.len() >= super::journal::EAGER {
                self.wake.notify_one();
            }
        }
        apply(groups, change, now_millis() as i64);
    }

    /// Runs `op` with the decoded request body.
    pub fn call(&self, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
        match op {
            "CreateLogGroup" => self.create_group(req),
            "DeleteLogGroup" => self.delete_group(req),
            "CreateLogStream" => self.create_stream(req),
            "DescribeLogGroups" => self.describe_groups(req),
            "DescribeLogStreams" => self.describe_streams(req),
            "PutLogEvents" => self.put(req),
            "GetLogEvents" => self.get_events(req),
            "FilterLogEvents" => self.filter(req),
            "PutRetentionPolicy" => self.retention(req),
            _ => Err(ApiError::unknown_operation(op)),
        }
    }

    /// `logGroupName` or `logGroupIdentifier` (a name or an ARN), never both.
    fn group_name(&self, req: &Map<String, Value>) -> Result<String, ApiError> {
        match (
            str_field(req, "logGroupName"),
            str_field(req, "logGroupIdentifier"),
        ) {
            (Some(_), Some(_)) => Err(param(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (Some(n), None) => Ok(n.to_owned()),
            (None, Some(id)) => Ok(id
                .strip_prefix(&format!(
                    "arn:aws:logs:{}:{}:log-group:",
                    self.region, self.account
                ))
                .unwrap_or(id)
                .trim_end_matches(":*")
                .to_owned()),
            (None, None) => Err(param(
                "Either logGroupName or logGroupIdentifier must be given",
            )),
        }
    }

    fn create_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = required(req, "logGroupName")?;
        let valid = !name.is_empty()
            && name.len() <= 512
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
        if !valid || name.starts_with("aws/") {
            return Err(param(format!("Invalid log group name: {name}")));
        }
        let mut groups = self.groups.write().map_err(|_| ApiError::internal())?;
        if groups.contains_key(name) {
            return Err(ApiError::new(
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            ));
        }
        if groups.len() >= MAX_GROUPS {
            return Err(limit_exceeded());
        }
        self.commit(
            &mut groups,
            Change::Group {
                name: name.to_owned(),
                created: now_millis() as i64,
            },
        );
        Ok(json!({}))
    }

    fn delete_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = self.group_name(req)?;
        let mut groups = self.groups.write().map_err(|_| ApiError::internal())?;
        if !groups.contains_key(&name) {
            return Err(no_group());
        }
        self.commit(&mut groups, Change::DeleteGroup { name });
        Ok(json!({}))
    }

    fn retention(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = self.group_name(req)?;
        let days = int(req, "retentionInDays").ok_or_else(|| param("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null"))?;
        let days = u64::try_from(days)
            .ok()
            .filter(|d| RETENTION_DAYS.contains(d))
            .ok_or_else(|| {
                param(format!(
                    "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
                ))
            })?;
        let mut groups = self.groups.write().map_err(|_| ApiError::internal())?;
        if !groups.contains_key(&name) {
            return Err(no_group());
        }
        self.commit(
            &mut groups,
            Change::Retention {
                name,
                days: Some(days),
            },
        );
        Ok(json!({}))
    }

    fn create_stream(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let group = required(req, "logGroupName")?;
        let name = required(req, "logStreamName")?;
        if name.is_empty() || name.len() > 512 || name.contains([':', '*']) {
            return Err(param(format!("Invalid log stream name: {name}")));
        }
        let mut groups = self.groups.write().map_err(|_| ApiError::internal())?;
        let g = groups.get_mut(group).ok_or_else(no_group)?;
        if g.streams.contains_key(name) {
            return Err(ApiError::new(
                "ResourceAlreadyExistsException",
                "The specified log stream already exists",
            ));
        }
        if g.streams.len() >= MAX_STREAMS {
            return Err(limit_exceeded());
        }
        self.commit(
            &mut groups,
            Change::Stream {
                group: group.to_owned(),
                name: name.to_owned(),
                created: now_millis() as i64,
            },
        );
        Ok(json!({}))
    }

    fn describe_groups(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let prefix = str_field(req, "logGroupNamePrefix").unwrap_or("");
        let limit = page_limit(req, 50)?;
        let start = token_offset(req)?;
        let groups = self.groups.read().map_err(|_| ApiError::internal())?;
        let all: Vec<Value> = groups
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, g)| {
                let mut v = json!({
                    "logGroupName": n, "creationTime": g.created, "metricFilterCount": 0,
                    "arn": format!("{}:*", self.arn(n)), "logGroupArn": self.arn(n),
                    "storedBytes": g.bytes, "logGroupClass": "STANDARD",
                });
                if let Some(d) = g.retention {
                    v["retentionInDays"] = d.into();
                }
                v
            })
            .collect();
        Ok(paged("logGroups", all, start, limit))
    }

    fn describe_streams(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let group = self.group_name(req)?;
        let prefix = str_field(req, "logStreamNamePrefix").unwrap_or("");
        let by_time = str_field(req, "orderBy") == Some("LastEventTime");
        if by_time && !prefix.is_empty() {
            return Err(param(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let limit = page_limit(req, 50)?;
        let start = token_offset(req)?;
        let groups = self.groups.read().map_err(|_| ApiError::internal())?;
        let g = groups.get(&group).ok_or_else(no_group)?;
        let mut streams: Vec<(&String, &Stream)> = g
            .streams
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .collect();
        if by_time {
            streams.sort_by_key(|(_, s)| s.events.last().map_or(0, |e| e.ts));
        }
        if req.get("descending").and_then(Value::as_bool) == Some(true) {
            streams.reverse();
        }
        let all = streams
            .into_iter()
            .map(|(n, s)| {
                let mut v = json!({
                    "logStreamName": n, "creationTime": s.created, "storedBytes": 0,
                    "arn": format!("{}:log-stream:{n}", self.arn(&group)),
                });
                if let (Some(first), Some(last)) = (s.events.first(), s.events.last()) {
                    v["firstEventTimestamp"] = first.ts.into();
                    v["lastEventTimestamp"] = last.ts.into();
                }
                if let Some(t) = s.last_ingested {
                    v["lastIngestionTime"] = t.into();
                }
                v
            })
            .collect();
        Ok(paged("logStreams", all, start, limit))
    }

    fn put(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let group = required(req, "logGroupName")?;
        let stream = required(req, "logStreamName")?;
        let events = req
            .get("logEvents")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| param("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"))?;
        if events.len() > MAX_EVENTS {
            return Err(param(format!(
                "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_EVENTS}"
            )));
        }
        let mut batch = Vec::with_capacity(events.len());
        let mut bytes = 0;
        for e in events {
            let ts = e
                .get("timestamp")
                .and_then(Value::as_i64)
                .ok_or_else(|| param("every event needs a timestamp"))?;
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .ok_or_else(|| param("every event needs a message"))?;
            bytes += message.len() + EVENT_OVERHEAD;
            batch.push((ts, message));
        }
        if bytes > MAX_BATCH_BYTES {
            return Err(param(format!(
                "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )));
        }
        if batch.windows(2).any(|w| w[1].0 < w[0].0) {
            return Err(param(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        let now = now_millis() as i64;
        // Too new and too old are judged one by one; the rest are accepted.
        let too_new = batch.iter().position(|(ts, _)| *ts > now + TOO_NEW_MS);
        let too_old_end = batch
            .iter()
            .rposition(|(ts, _)| *ts < now - TOO_OLD_MS)
            .map(|i| i + 1);
        let accepted = &batch[too_old_end.unwrap_or(0)..too_new.unwrap_or(batch.len())];
        if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
            && last.0 - first.0 > DAY_MS
        {
            return Err(param(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let mut groups = self.groups.write().map_err(|_| ApiError::internal())?;
        if !groups
            .get(group)
            .ok_or_else(no_group)?
            .streams
            .contains_key(stream)
        {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            ));
        }
        let events = accepted
            .iter()
            .map(|(ts, message)| Event {
                ts: *ts,
                message: (*message).to_owned(),
                ingested: now,
                id: self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            })
            .collect();
        self.commit(
            &mut groups,
            Change::Put {
                group: group.to_owned(),
                stream: stream.to_owned(),
                events,
            },
        );
        drop(groups);
        if self.tail.receiver_count() > 0 && !accepted.is_empty() {
            let _ = self.tail.send(Arc::new(Ingested {
                group: group.to_owned(),
                stream: stream.to_owned(),
                events: accepted
                    .iter()
                    .map(|(ts, m)| (*ts, (*m).to_owned(), now))
                    .collect(),
            }));
        }
        let mut out = json!({ "nextSequenceToken": format!("{:056}", self.seq.load(std::sync::atomic::Ordering::Relaxed)) });
        if too_new.is_some() || too_old_end.is_some() {
            let mut info = Map::new();
            if let Some(i) = too_new {
                info.insert("tooNewLogEventStartIndex".into(), i.into());
            }
            if let Some(i) = too_old_end {
                info.insert("tooOldLogEventEndIndex".into(), i.into());
            }
            out["rejectedLogEventsInfo"] = Value::Object(info);
        }
        Ok(out)
    }

    fn get_events(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let group = self.group_name(req)?;
        let stream = required(req, "logStreamName")?;
        let limit = page_limit(req, 10_000)?;
        let (start, end) = (int(req, "startTime"), int(req, "endTime"));
        let groups = self.groups.read().map_err(|_| ApiError::internal())?;
        let s = groups
            .get(&group)
            .ok_or_else(no_group)?
            .streams
            .get(stream)
            .ok_or_else(|| {
                ApiError::new(
                    "ResourceNotFoundException",
                    "The specified log stream does not exist.",
                )
            })?;
        // GetLogEvents' endTime is exclusive.
        let events: Vec<&Event> = s.window(start, end, false).iter().collect();
        let n = events.len();
        let head = req
            .get("startFromHead")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (from, to, sent) = match str_field(req, "nextToken") {
            Some(tok) => {
                let (dir, pos) = parse_get_token(tok)?;
                let pos = pos.min(n);
                if dir == 'f' {
                    (pos, (pos + limit).min(n), Some(tok))
                } else {
                    (pos.saturating_sub(limit), pos, Some(tok))
                }
            }
            None if head => (0, limit.min(n), None),
            None => (n.saturating_sub(limit), n, None),
        };
        let page: Vec<Value> = events[from..to]
            .iter()
            .map(|e| json!({"timestamp": e.ts, "message": e.message, "ingestionTime": e.ingested}))
            .collect();
        // At the end of the stream the token sent comes back: that is how clients know to stop.
        let forward = match (sent, page.is_empty()) {
            (Some(t), true) if t.starts_with("f/") => t.to_owned(),
            _ => format!("f/{to:056}"),
        };
        let backward = match (sent, page.is_empty()) {
            (Some(t), true) if t.starts_with("b/") => t.to_owned(),
            _ => format!("b/{from:056}"),
        };
        Ok(json!({"events": page, "nextForwardToken": forward, "nextBackwardToken": backward}))
    }

    fn filter(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let group = self.group_name(req)?;
        let names: Option<Vec<&str>> = req
            .get("logStreamNames")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        let prefix = str_field(req, "logStreamNamePrefix");
        if names.is_some() && prefix.is_some() {
            return Err(param(
                "logStreamNames and logStreamNamePrefix are mutually exclusive",
            ));
        }
        let pattern = Pattern::parse(str_field(req, "filterPattern").unwrap_or(""))?;
        let limit = page_limit(req, 10_000)?;
        let offset = token_offset(req)?;
        let (start, end) = (int(req, "startTime"), int(req, "endTime"));
        let groups = self.groups.read().map_err(|_| ApiError::internal())?;
        let g = groups.get(&group).ok_or_else(no_group)?;
        let mut found: Vec<(&String, &Event)> = g
            .streams
            .iter()
            .filter(|(n, _)| {
                names.as_ref().is_none_or(|ns| ns.contains(&n.as_str()))
                    && prefix.is_none_or(|p| n.starts_with(p))
            })
            .flat_map(|(n, s)| s.window(start, end, true).iter().map(move |e| (n, e)))
            .filter(|(_, e)| pattern.matches(&e.message))
            .collect();
        // By timestamp, then ingestion time, then arrival.
        found.sort_by_key(|(_, e)| (e.ts, e.ingested, e.id));
        if req.get("startFromHead").and_then(Value::as_bool) == Some(false) {
            found.reverse();
        }
        let page: Vec<Value> = found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(n, e)| json!({"logStreamName": n, "timestamp": e.ts, "message": e.message, "ingestionTime": e.ingested, "eventId": format!("{:056}", e.id)}))
            .collect();
        let mut out = json!({"events": page, "searchedLogStreams": []});
        if offset + limit < found.len() {
            out["nextToken"] = offset_token(offset + limit).into();
        }
        Ok(out)
    }
}

impl Logs {
    /// A Live Tail session for the request, and the events it will see from now on.
    pub fn start_live_tail(&self, req: &Map<String, Value>) -> Result<(Session, Feed), ApiError> {
        let strings = |name: &str| -> Result<Option<Vec<String>>, ApiError> {
            req.get(name)
                .map(|v| {
                    v.as_array()
                        .and_then(|a| {
                            a.iter()
                                .map(|x| x.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                        })
                        .ok_or_else(|| param(format!("{name} must be a list of strings")))
                })
                .transpose()
        };
        let ids = strings("logGroupIdentifiers")?.unwrap_or_default();
        if ids.is_empty() || ids.len() > 10 {
            return Err(param(
                "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length between 1 and 10",
            ));
        }
        let arn_prefix = format!("arn:aws:logs:{}:{}:log-group:", self.region, self.account);
        let mut groups = Vec::with_capacity(ids.len());
        {
            let stored = self.groups.read().map_err(|_| ApiError::internal())?;
            for id in &ids {
                if id.ends_with('*') {
                    return Err(param(format!(
                        "Log group identifier {id} must not end with an asterisk"
                    )));
                }
                let name = id.strip_prefix(&arn_prefix).ok_or_else(|| {
                    param(format!(
                        "Log group identifier {id} must be the ARN of a log group in {} of account {}",
                        self.region, self.account
                    ))
                })?;
                if !stored.contains_key(name) {
                    return Err(ApiError::new(
                        "ResourceNotFoundException",
                        format!("Log group {id} does not exist"),
                    ));
                }
                groups.push((name.to_owned(), id.clone()));
            }
        }
        let stream_names = strings("logStreamNames")?;
        let stream_prefixes = strings("logStreamNamePrefixes")?;
        if stream_names.is_some() && stream_prefixes.is_some() {
            return Err(param(
                "logStreamNames and logStreamNamePrefixes are mutually exclusive",
            ));
        }
        if (stream_names.is_some() || stream_prefixes.is_some()) && groups.len() != 1 {
            return Err(param(
                "logStreamNames or logStreamNamePrefixes can be given only with exactly one log group",
            ));
        }
        let pattern_text = str_field(req, "logEventFilterPattern").map(str::to_owned);
        let pattern = Pattern::parse(pattern_text.as_deref().unwrap_or(""))?;
        Ok((
            Session {
                groups,
                stream_names,
                stream_prefixes,
                pattern_text,
                pattern,
                request_id: crate::state::uuid(),
                session_id: crate::state::uuid(),
            },
            Feed {
                ingested: self.tail.subscribe(),
                ending: self.ending.subscribe(),
            },
        ))
    }

    /// Ends every open Live Tail session (the lab is stopping).
    pub fn end_live_tails(&self) {
        self.ending.send_replace(true);
    }
}

impl Event {
    /// What the caps count, as PutLogEvents does: the message and 26 bytes.
    fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// Applies one change to the groups. A change replayed twice (a journal written again after a
/// compaction it survived) leaves the store as once: events are told apart by id.
pub(super) fn apply(groups: &mut BTreeMap<String, Group>, change: Change, now: i64) {
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

fn limit_exceeded() -> ApiError {
    ApiError::new("LimitExceededException", "Resource limit exceeded.")
}

fn no_group() -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn page_limit(req: &Map<String, Value>, max: i64) -> Result<usize, ApiError> {
    match int(req, "limit") {
        None => Ok(usize::try_from(max).unwrap_or(usize::MAX)),
        Some(l) if (1..=max).contains(&l) => Ok(usize::try_from(l).unwrap_or(1)),
        Some(l) => Err(param(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

fn offset_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("o:{offset}"))
}

fn token_offset(req: &Map<String, Value>) -> Result<usize, ApiError> {
    use base64::Engine;
    let Some(t) = str_field(req, "nextToken") else {
        return Ok(0);
    };
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| param("The specified nextToken is invalid."))
}

fn parse_get_token(t: &str) -> Result<(char, usize), ApiError> {
    let bad = || param("The specified nextToken is invalid.");
    let (dir, pos) = t.split_once('/').ok_or_else(bad)?;
    let dir = match dir {
        "f" => 'f',
        "b" => 'b',
        _ => return Err(bad()),
    };
    Ok((dir, pos.parse().map_err(|_| bad())?))
}

fn paged(key: &str, all: Vec<Value>, start: usize, limit: usize) -> Value {
    let more = start + limit < all.len();
    let page: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let mut out = json!({ key: page });
    if more {
        out["nextToken"] = offset_token(start + limit).into();
    }
    out
}

/// A filter pattern: terms, or a JSON condition.
#[derive(Debug, PartialEq)]
pub enum Pattern {
    All,
    Terms {
        all: Vec<String>,
        none: Vec<String>,
        any: Vec<String>,
    },
    /// `{ $.a = "b" && $.c > 1 || … }`: OR of ANDs.
    Json(Vec<Vec<Cond>>),
}

#[derive(Debug, PartialEq)]
pub struct Cond {
    path: Vec<String>,
    op: String,
    value: Value,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, ApiError> {
        let t = text.trim();
        if t.is_empty() || t == "\"\"" {
            return Ok(Pattern::All);
        }
        if let Some(inner) = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let mut ors = Vec::new();
            for alt in inner.split("||") {
                let mut ands = Vec::new();
                for c in alt.split("&&") {
                    ands.push(
                        Cond::parse(c.trim())
                            .ok_or_else(|| param(format!("Invalid filter pattern: {text}")))?,
                    );
                }
                ors.push(ands);
            }
            return Ok(Pattern::Json(ors));
        }
        let (mut all, mut none, mut any) = (Vec::new(), Vec::new(), Vec::new());
        let mut rest = t;
        while !rest.is_empty() {
            rest = rest.trim_start();
            let (neg, opt) = (rest.starts_with('-'), rest.starts_with('?'));
            if neg || opt {
                rest = &rest[1..];
            }
            let term = if let Some(q) = rest.strip_prefix('"') {
                let end = q
                    .find('"')
                    .ok_or_else(|| param(format!("Invalid filter pattern: {text}")))?;
                let term = &q[..end];
                rest = &q[end + 1..];
                term
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                let term = &rest[..end];
                rest = &rest[end..];
                term
            };
            if term.is_empty() {
                continue;
            }
            match (neg, opt) {
                (true, _) => none.push(term.to_owned()),
                (_, true) => any.push(term.to_owned()),
                _ => all.push(term.to_owned()),
            }
        }
        Ok(Pattern::Terms { all, none, any })
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms { all, none, any } => {
                all.iter().all(|t| message.contains(t.as_str()))
                    && !none.iter().any(|t| message.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| message.contains(t.as_str())))
            }
            Pattern::Json(ors) => {
                let Ok(doc) = serde_json::from_str::<Value>(message) else {
                    return false;
                };
                ors.iter().any(|ands| ands.iter().all(|c| c.holds(&doc)))
            }
        }
    }
}

impl Cond {
    fn parse(text: &str) -> Option<Cond> {
        let text = text
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        let body = text.strip_prefix("$.")?;
        let ops = ["!=", ">=", "<=", "=", ">", "<"];
        let (at, op) = ops
            .iter()
            .filter_map(|op| body.find(op).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))?;
        let path = body[..at].trim().split('.').map(str::to_owned).collect();
        let raw = body[at + op.len()..].trim();
        let value = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(s) => Value::String(s.to_owned()),
            None => serde_json::from_str(raw)
                .ok()
                .or_else(|| Some(Value::String(raw.to_owned())))?,
        };
        Some(Cond {
            path,
            op: op.to_owned(),
            value,
        })
    }

    fn holds(&self, doc: &Value) -> bool {
        let mut v = doc;
        for key in &self.path {
            match v.get(key) {
                Some(x) => v = x,
                None => return false,
            }
        }
        match (&self.value, v) {
            (Value::String(want), got) => {
                let got = match got {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let eq = match want.strip_suffix('*') {
                    Some(prefix) => got.starts_with(prefix),
                    None => &got == want,
                };
                match self.op.as_str() {
                    "=" => eq,
                    "!=" => !eq,
                    _ => false,
                }
            }
            (Value::Number(want), Value::Number(got)) => {
                let (w, g) = (
                    want.as_f64().unwrap_or(f64::NAN),
                    got.as_f64().unwrap_or(f64::NAN),
                );
                match self.op.as_str() {
                    "=" => g == w,
                    "!=" => g != w,
                    ">" => g > w,
                    "<" => g < w,
                    ">=" => g >= w,
                    "<=" => g <= w,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns_match_as_documented() {
        let line = r#"{"event":"request","path":"/v1/secrets","status":403,"alb":{"data":{"verdict":"valid"}}}"#;
        let m = |p: &str| Pattern::parse(p).unwrap().matches(line);
        assert!(m(""));
        assert!(m("request secrets"));
        assert!(!m("request public"));
        assert!(m(r#""/v1/secrets""#));
        assert!(!m("request -secrets"));
        assert!(m("?public ?secrets"));
        assert!(m(r#"{ $.path = "/v1/secrets" }"#));
        assert!(m(r#"{ $.alb.data.verdict = "valid" }"#));
        assert!(m(r#"{ $.path = "/v1/*" }"#));
        assert!(m("{ $.status = 403 }"));
        assert!(m("{ $.status >= 400 && $.status < 500 }"));
        assert!(!m(r#"{ $.status > 403 || $.path != "/v1/secrets" }"#));
        assert!(!m(r#"{ $.missing = "x" }"#));
        assert!(!Pattern::parse("{ $.a = 1 }").unwrap().matches("not json"));
        assert!(Pattern::parse("{ nonsense }").is_err());
    }
}
