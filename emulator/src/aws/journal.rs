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
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::logs::{Change, Group, Logs, apply};
use cognito_learning_tokens::time::now_millis;

/// How often queued changes reach the journal file: what a crash can lose.
pub const FLUSH: Duration = Duration::from_millis(500);
/// The journal is compacted once it is larger than this and than the last snapshot.
pub const COMPACT_MIN: u64 = 16 << 20;
/// Queued bytes past which changes are no longer queued (the writer is stuck).
pub const MAX_PENDING: usize = 64 << 20;

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
        let data = serde_json::to_vec(&snapshot)?;
        let path = self.dir.join(SNAPSHOT);
        let tmp = path.with_extension("json.tmp");
        crate::state::write_private(&tmp, &data)?;
        std::fs::rename(&tmp, &path)?;
        // A crash right here replays the journal over a snapshot that holds it already; events
        // are told apart by id, so nothing comes twice.
        self.file.set_len(0)?;
        drop(groups);
        self.written = 0;
        self.snapshot_size = data.len() as u64;
        Ok(())
    }
}

/// The thread that flushes a journal until told to stop, then compacts it once more.
#[derive(Debug)]
pub struct Writer {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(logs: Arc<Logs>, mut journal: Journal) -> std::io::Result<Writer> {
        let (stop, stopped): (Sender<()>, Receiver<()>) = channel();
        let thread = std::thread::Builder::new()
            .name("aws-logs journal".into())
            .spawn(move || {
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
                    match stopped.recv_timeout(FLUSH) {
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(e) = journal.flush(&logs) {
                                report("write", e);
                            }
                        }
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                if let Err(e) = journal.compact(&logs) {
                    report("save", e);
                }
            })?;
        Ok(Writer {
            stop,
            thread: Some(thread),
        })
    }

    /// Writes everything, compacts and stops.
    pub fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
