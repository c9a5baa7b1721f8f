//! CloudWatch Logs on disk: a snapshot and an append-only journal, so that a crash loses at most
//! the last flush interval of what the lab's CloudWatch Logs hold.
//!
//! Every change the store makes is queued as a JSON line ([`super::logs::Change`]); a thread
//! appends the queue to `aws-logs.journal` every [`FLUSH`]. When the journal grows past the
//! snapshot's size (and [`COMPACT_MIN`]), and when the lab stops, the whole store is written to
//! `aws-logs.json` (a temporary file, renamed) and the journal starts empty. At start the
//! snapshot is read and the journal replayed over it; a torn last line (the crash came mid-write)
//! is skipped. Both files are private (0600): the app's lines hold live tokens.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::logs::{Change, Group, Logs, apply};
use cognito_learning_tokens::time::now_millis;

/// How often queued changes reach the journal file: what a crash can lose.
pub const FLUSH: Duration = Duration::from_millis(500);
/// The journal is compacted once it is larger than this and than the last snapshot.
pub const COMPACT_MIN: u64 = 16 << 20;
/// Queued bytes at which the writer is woken before its interval is up (a burst of events).
pub const EAGER: usize = 2 << 20;
/// Queued bytes past which changes are no longer queued (the writer is stuck).
pub const MAX_PENDING: usize = 16 << 20;

pub const SNAPSHOT: &str = "aws-logs.json";
pub const JOURNAL: &str = "aws-logs.journal";

/// The snapshot: the next event id and every group. Older labs wrote the groups alone.
#[derive(Serialize, Deserialize)]
struct Snapshot<G> {
    seq: u64,
    groups: G,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSnapshot {
    Current(Snapshot<BTreeMap<String, Group>>),
    Groups(BTreeMap<String, Group>),
}

/// The open journal of one lab's CloudWatch Logs.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    written: u64,
    snapshot_size: u64,
}

/// What loading found, for the lab's start-up message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub replayed: usize,
    /// Lines that did not parse (a torn last line after a crash).
    pub skipped: usize,
}

fn private_append(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

fn private_create(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

impl Journal {
    /// Loads `dir`'s snapshot and journal into `logs`, then starts journaling its changes.
    pub fn open(logs: &Logs, dir: &Path) -> std::io::Result<(Journal, Loaded)> {
        let snapshot = dir.join(SNAPSHOT);
        let mut snapshot_size = 0;
        let mut groups = BTreeMap::new();
        let mut seq = 1;
        match std::fs::read(&snapshot) {
            Ok(data) => {
                snapshot_size = data.len() as u64;
                match serde_json::from_slice::<StoredSnapshot>(&data) {
                    Ok(StoredSnapshot::Current(s)) => {
                        groups = s.groups;
                        seq = s.seq;
                    }
                    Ok(StoredSnapshot::Groups(g)) => groups = g,
                    Err(e) => {
                        // Kept aside rather than overwritten by the next compaction.
                        let aside =
                            snapshot.with_extension(format!("json.unreadable-{}", now_millis()));
                        let _ = std::fs::rename(&snapshot, &aside);
                        return Err(std::io::Error::other(format!(
                            "{}: {e}; moved to {}",
                            snapshot.display(),
                            aside.display()
                        )));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "{}: {e}",
                    snapshot.display()
                )));
            }
        }
        // What the snapshot does not store is recounted before the journal is replayed over
        // it, so that a change the snapshot already holds is recognised.
        for g in groups.values_mut() {
            g.count();
        }
        let journal = dir.join(JOURNAL);
        let mut loaded = Loaded::default();
        let now = now_millis() as i64;
        match File::open(&journal) {
            Ok(f) => {
                for line in BufReader::new(f).split(b'\n') {
                    let line = line?;
                    if line.is_empty() {
                        continue;
                    }
                    match serde_json::from_slice::<Change>(&line) {
                        Ok(change) => {
                            apply(&mut groups, change, now);
                            loaded.replayed += 1;
                        }
                        Err(_) => loaded.skipped += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(std::io::Error::other(format!("{}: {e}", journal.display()))),
        }
        logs.restore(groups, seq, now);
        let file = private_append(&journal)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", journal.display())))?;
        let written = file.metadata().map_or(0, |m| m.len());
        if let Ok(mut p) = logs.pending.lock() {
            *p = Some(Vec::new());
        }
        Ok((
            Journal {
                dir: dir.to_owned(),
                file,
                written,
                snapshot_size,
            },
            loaded,
        ))
    }

    /// Appends what is queued; compacts when the journal has grown large.
    pub fn flush(&mut self, logs: &Logs) -> std::io::Result<()> {
        let queued = match logs.pending.lock() {
            Ok(mut p) => p.as_mut().map(std::mem::take).unwrap_or_default(),
            Err(_) => return Ok(()),
        };
        if !queued.is_empty() {
            self.file.write_all(&queued)?;
            self.written += queued.len() as u64;
        }
        if self.written > COMPACT_MIN.max(self.snapshot_size) {
            self.compact(logs)?;
        }
        Ok(())
    }

    /// Writes the whole store as the snapshot and empties the journal.
    pub fn compact(&mut self, logs: &Logs) -> std::io::Result<()> {
        // Writers wait while the snapshot is taken, so that everything queued so far is in it
        // and nothing queued later is lost with the journal.
        let groups = logs
            .groups
            .read()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        if let Ok(mut p) = logs.pending.lock()
            && let Some(p) = p.as_mut()
        {
            p.clear();
        }
        let snapshot = Snapshot {
            seq: logs.seq.load(Ordering::Relaxed),
            groups: &*groups,
        };
        let path = self.dir.join(SNAPSHOT);
        let tmp = path.with_extension("json.tmp");
        // Streamed to the file: a snapshot is as large as the store, and a copy of it in
        // memory would double what the lab holds at each compaction.
        let mut out = std::io::BufWriter::with_capacity(1 << 16, private_create(&tmp)?);
        serde_json::to_writer(&mut out, &snapshot)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        let size = file.metadata()?.len();
        drop(file);
        std::fs::rename(&tmp, &path)?;
        // A crash right here replays the journal over a snapshot that holds it already; events
        // are told apart by id, so nothing comes twice.
        self.file.set_len(0)?;
        drop(groups);
        self.written = 0;
        self.snapshot_size = size;
        Ok(())
    }
}

/// The thread that flushes a journal until told to stop, then compacts it once more.
#[derive(Debug)]
pub struct Writer {
    logs: Arc<Logs>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(logs: Arc<Logs>, mut journal: Journal) -> std::io::Result<Writer> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("aws-logs journal".into())
            .spawn({
                let (logs, stop) = (logs.clone(), stop.clone());
                move || {
                    let mut failed = false;
                    let file = journal.dir.join(JOURNAL);
                    let mut report = |what: &str, e: std::io::Error| {
                        if !std::mem::replace(&mut failed, true) {
                            eprintln!(
                                "{}: cannot {what} ({e}); CloudWatch logs since then are in memory only",
                                file.display()
                            );
                        }
                    };
                    loop {
                        // Every FLUSH, or sooner when a burst has queued EAGER bytes.
                        if let Ok(pending) = logs.pending.lock() {
                            let _ = logs.wake.wait_timeout_while(pending, FLUSH, |p| {
                                !stop.load(Ordering::Relaxed)
                                    && p.as_ref().map_or(0, Vec::len) < EAGER
                            });
                        }
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = journal.flush(&logs) {
                            report("write", e);
                        }
                    }
                    if let Err(e) = journal.compact(&logs) {
                        report("save", e);
                    }
                }
            })?;
        Ok(Writer {
            logs,
            stop,
            thread: Some(thread),
        })
    }

    /// Writes everything, compacts and stops.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Taken so the writer is either waiting (and is woken) or will see the flag.
        drop(self.logs.pending.lock());
        self.logs.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::logs::{GROUP_CAP, TOTAL_CAP};
    use serde_json::{Map, Value, json};

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("cl-journal-{}", crate::state::uuid()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn call(logs: &Logs, op: &str, body: Value) -> Value {
        let Value::Object(m) = body else { panic!() };
        logs.call(op, &m).unwrap()
    }

    fn put(logs: &Logs, group: &str, messages: &[&str]) {
        let now = now_millis() as i64;
        let events: Vec<Value> = messages
            .iter()
            .map(|m| json!({"timestamp": now, "message": m}))
            .collect();
        call(
            logs,
            "PutLogEvents",
            json!({"logGroupName": group, "logStreamName": "s", "logEvents": events}),
        );
    }

    fn messages(logs: &Logs, group: &str) -> Vec<String> {
        let out = call(logs, "FilterLogEvents", json!({"logGroupName": group}));
        out["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect()
    }

    fn logs_with_group(group: &str) -> Logs {
        let logs = Logs::new("eu-west-1", "123456789012");
        setup(&logs, group);
        logs
    }

    fn setup(logs: &Logs, group: &str) {
        call(logs, "CreateLogGroup", json!({"logGroupName": group}));
        call(
            logs,
            "CreateLogStream",
            json!({"logGroupName": group, "logStreamName": "s"}),
        );
    }

    #[test]
    fn what_was_flushed_comes_back_after_a_crash() {
        let d = dir();
        let logs = Logs::new("eu-west-1", "123456789012");
        let (mut j, loaded) = Journal::open(&logs, &d).unwrap();
        assert_eq!(loaded, Loaded::default());
        setup(&logs, "g");
        put(&logs, "g", &["one", "two"]);
        j.flush(&logs).unwrap();
        put(&logs, "g", &["not flushed"]);
        // The process dies here: no compaction, the last put never reached the file.
        drop(j);
        let again = Logs::new("eu-west-1", "123456789012");
        let (_, loaded) = Journal::open(&again, &d).unwrap();
        assert_eq!(loaded.replayed, 3);
        assert_eq!(messages(&again, "g"), ["one", "two"]);
        // New events get ids after the replayed ones.
        put(&again, "g", &["three"]);
        assert_eq!(messages(&again, "g"), ["one", "two", "three"]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_journal_replayed_over_its_own_compaction_adds_nothing() {
        let d = dir();
        let logs = Logs::new("eu-west-1", "123456789012");
        let (mut j, _) = Journal::open(&logs, &d).unwrap();
        setup(&logs, "g");
        put(&logs, "g", &["a", "b"]);
        j.flush(&logs).unwrap();
        let journal = std::fs::read(d.join(JOURNAL)).unwrap();
        j.compact(&logs).unwrap();
        assert_eq!(std::fs::metadata(d.join(JOURNAL)).unwrap().len(), 0);
        // As if the crash came between the snapshot's rename and the journal's truncation.
        std::fs::write(d.join(JOURNAL), &journal).unwrap();
        let again = Logs::new("eu-west-1", "123456789012");
        Journal::open(&again, &d).unwrap();
        assert_eq!(messages(&again, "g"), ["a", "b"]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_counted() {
        let d = dir();
        let logs = Logs::new("eu-west-1", "123456789012");
        let (mut j, _) = Journal::open(&logs, &d).unwrap();
        setup(&logs, "g");
        put(&logs, "g", &["kept"]);
        j.flush(&logs).unwrap();
        drop(j);
        let mut f = private_append(&d.join(JOURNAL)).unwrap();
        f.write_all(br#"{"op":"put","group":"g","str"#).unwrap();
        let again = Logs::new("eu-west-1", "123456789012");
        let (_, loaded) = Journal::open(&again, &d).unwrap();
        assert_eq!(loaded.skipped, 1);
        assert_eq!(messages(&again, "g"), ["kept"]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_group_keeps_its_newest_events_within_its_cap() {
        let logs = logs_with_group("g");
        let mb = "x".repeat(1 << 20);
        let n = GROUP_CAP / (1 << 20) + 8;
        for i in 0..n {
            put(&logs, "g", &[&format!("{i:04}{}", &mb[..(1 << 20) - 100])]);
        }
        let stored = call(&logs, "DescribeLogGroups", json!({}))["logGroups"][0]["storedBytes"]
            .as_u64()
            .unwrap();
        assert!(stored as usize <= GROUP_CAP, "{stored}");
        let kept = messages(&logs, "g");
        assert!(kept.len() < n);
        // Oldest first out: what is left is a run ending with the newest.
        assert_eq!(&kept.last().unwrap()[..4], format!("{:04}", n - 1));
        let first: usize = kept[0][..4].parse().unwrap();
        assert_eq!(kept.len(), n - first);
    }

    #[test]
    fn the_lab_keeps_at_most_its_total_cap_over_all_groups() {
        let logs = Logs::new("eu-west-1", "123456789012");
        let big = "y".repeat((1 << 20) - 100);
        for g in ["a", "b", "c"] {
            setup(&logs, g);
            for _ in 0..(TOTAL_CAP / (1 << 20)) / 2 {
                put(&logs, g, &[&big]);
            }
        }
        let groups = logs.groups.read().unwrap();
        let total: usize = groups.values().map(|g| g.bytes).sum();
        assert!(total <= TOTAL_CAP, "{total}");
        assert!(groups.values().all(|g| g.bytes > 0));
    }

    #[test]
    fn retention_drops_what_is_older_and_only_documented_periods_are_taken() {
        let logs = logs_with_group("g");
        let old = now_millis() as i64 - 3 * 86_400_000;
        let mut m = Map::new();
        m.insert("logGroupName".into(), "g".into());
        m.insert("logStreamName".into(), "s".into());
        m.insert(
            "logEvents".into(),
            json!([{"timestamp": old, "message": "three days old"}]),
        );
        logs.call("PutLogEvents", &m).unwrap();
        put(&logs, "g", &["today"]);
        let mut r = Map::new();
        r.insert("logGroupName".into(), "g".into());
        r.insert("retentionInDays".into(), 2.into());
        let err = logs.call("PutRetentionPolicy", &r).unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
        assert!(err.message.contains("enum value set"), "{}", err.message);
        r.insert("retentionInDays".into(), 1.into());
        logs.call("PutRetentionPolicy", &r).unwrap();
        assert_eq!(messages(&logs, "g"), ["today"]);
    }

    #[test]
    fn groups_and_streams_are_bounded_with_aws_error_code() {
        let logs = Logs::new("eu-west-1", "123456789012");
        for i in 0..crate::aws::logs::MAX_GROUPS {
            call(
                &logs,
                "CreateLogGroup",
                json!({"logGroupName": format!("g{i}")}),
            );
        }
        let mut m = Map::new();
        m.insert("logGroupName".into(), "one-too-many".into());
        let err = logs.call("CreateLogGroup", &m).unwrap_err();
        assert_eq!(err.code, "LimitExceededException");
    }
}
