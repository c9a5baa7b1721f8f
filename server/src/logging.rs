//! Where log lines go: `server.log` always, CloudWatch Logs when it can.
//!
//! The file is written by one thread fed through an unbounded channel: a request never waits
//! for the disk, and no line is dropped while the app runs or stops (the file is the record that
//! keeps everything; a crash loses what is still queued, the last few milliseconds). The
//! CloudWatch copy goes through a bounded queue instead ([`crate::cloudwatch`]), because a slow
//! or absent network must cost memory only up to a limit; what overflows is counted.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use serde_json::{Value, json};

use cognito_learning_tokens::time::{now_millis, utc_millis};

use crate::cloudwatch::Shipper;

/// Under load, how long the file writer lets lines gather between writes.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(2);

/// The file half: a writer thread and the channel to it.
#[derive(Debug)]
pub struct FileLog {
    tx: Sender<String>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FileLog {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        // The log holds live bearer tokens and cookies: only the app's user may read it, and a
        // file an older version left readable to others is tightened too.
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
        }
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("server.log".into())
            .spawn(move || write_lines(BufWriter::with_capacity(64 * 1024, file), &rx))?;
        Ok(Self {
            tx,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A sender for other writers (the CloudWatch shipper's status lines).
    pub fn sender(&self) -> Sender<String> {
        self.tx.clone()
    }

    pub fn write(&self, line: String) {
        // The receiver lives until `close`, which runs after the last request.
        let _ = self.tx.send(line);
    }

    /// Writes what is queued, flushes and stops the thread.
    pub fn close(&self) {
        let _ = self.tx.send(String::new());
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

fn write_lines(mut out: BufWriter<std::fs::File>, rx: &Receiver<String>) {
    let mut failed = false;
    let mut put = |out: &mut BufWriter<std::fs::File>, line: &str| {
        let res = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = res
            && !std::mem::replace(&mut failed, true)
        {
            eprintln!("server.log: cannot write ({e}); later lines may be lost too");
        }
    };
    // Blocks for the first line, then drains whatever else is queued before one flush: many
    // lines per write(2) under load, and nothing older than one line's wait when idle. When
    // others came with it (load), it pauses before waiting again, so that the requests' sends
    // find nobody to wake: one wake-up per pause, not one per line.
    while let Ok(line) = rx.recv() {
        if line.is_empty() {
            break;
        }
        put(&mut out, &line);
        let mut closing = false;
        let mut more_lines = false;
        while let Ok(more) = rx.try_recv() {
            if more.is_empty() {
                closing = true;
                break;
            }
            put(&mut out, &more);
            more_lines = true;
        }
        let _ = out.flush();
        if closing {
            break;
        }
        if more_lines {
            std::thread::sleep(COALESCE);
        }
    }
    // An empty line is the close marker; anything queued behind it still gets written.
    while let Ok(line) = rx.try_recv() {
        if !line.is_empty() {
            put(&mut out, &line);
        }
    }
    let _ = out.flush();
}

/// Both destinations.
#[derive(Debug)]
pub struct LogSink {
    pub file: FileLog,
    pub cloud: Option<Shipper>,
}

impl LogSink {
    /// Records one JSON object: `ts` and `level` first, then the fields given.
    pub fn emit(&self, level: &str, event: &str, fields: Value) {
        let ms = now_millis();
        let mut obj = serde_json::Map::with_capacity(16);
        obj.insert("ts".into(), utc_millis(ms).into());
        obj.insert("level".into(), level.into());
        obj.insert("event".into(), event.into());
        if let Value::Object(f) = fields {
            obj.extend(f);
        }
        self.emit_line(ms, Value::Object(obj).to_string());
    }

    /// Records a line already serialized, stamped `ms` (Unix milliseconds).
    pub fn emit_line(&self, ms: u64, line: String) {
        if let Some(cloud) = &self.cloud {
            cloud.push(ms, &line);
        }
        self.file.write(line);
    }

    /// A note about the server itself, to the log and to stderr.
    pub fn note(&self, level: &str, message: &str) {
        eprintln!("{message}");
        self.emit(level, "server", json!({ "message": message }));
    }

    /// Flushes everything: the CloudWatch queue (bounded in time), then the file.
    pub async fn close(&self) {
        if let Some(cloud) = &self.cloud {
            cloud.close().await;
        }
        self.file.close();
    }
}
