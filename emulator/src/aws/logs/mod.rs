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

use serde_json::{Map, Value, json};

use super::ApiError;
use super::tail::{BACKLOG, Ingested};
use cognito_learning_tokens::time::now_millis;

use cognito_learning_contract::cloudwatch::{
    EVENT_OVERHEAD, MAX_AGE_MS as TOO_OLD_MS, MAX_BATCH_BYTES, MAX_BATCH_EVENTS as MAX_EVENTS,
    MAX_FUTURE_MS as TOO_NEW_MS,
};

/// The lab's own limits on how many groups and streams it holds (AWS's quotas are far higher;
/// these bound what a script can make the lab keep).
pub const MAX_GROUPS: usize = 100;
pub const MAX_STREAMS: usize = 1000;
/// The values PutRetentionPolicy accepts, from the API reference.
const RETENTION_DAYS: [u64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

mod changes;
mod fields;
mod live_tail;
mod store;

use super::filter::Pattern;
use fields::*;
pub(in crate::aws) use store::{Change, Event, Group, apply};
use store::{DAY_MS, Stream};
pub use store::{GROUP_CAP, TOTAL_CAP};

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
