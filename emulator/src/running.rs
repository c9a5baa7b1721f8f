//! `running.json` in the state directory: how a lab guide or `check` in another process finds a
//! lab that is already answering, with the credentials and demo passwords it needs to drive it.
//! Written private (0600) at start, removed at stop; a stale file is harmless because readers
//! probe the ALB before they trust it.
//!
//! `lab.lock` beside it is held (an advisory lock the system drops when the process ends, even
//! by `kill -9`) for as long as a lab runs on the directory: a second lab refuses to start there.

use std::path::Path;

use cognito_learning_contract::lab::{LabInfo, Running};
pub use cognito_learning_contract::lab::{read_running as read, running_path as path};

/// Takes the state directory for one lab. The lock lasts as long as the returned file.
pub(crate) fn lock(state_dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::io::Write;
    crate::state::create_private_dir(state_dir)?;
    let path = state_dir.join("lab.lock");
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let who = match read(state_dir) {
                Some(info) => format!(
                    "another lab (process {}, ALB {}, AWS APIs {})",
                    holder.trim(),
                    info.alb,
                    info.aws
                ),
                None => format!("another lab (process {})", holder.trim()),
            };
            anyhow::bail!(
                "the lab state directory {} is in use by {who}: use that lab, stop it, or give \
                 this one another --state-dir",
                state_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
    file.set_len(0)
        .and_then(|()| write!(file, "{}", std::process::id()))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(file)
}

pub(crate) fn write(info: &LabInfo) -> anyhow::Result<()> {
    let running = Running::new(info);
    crate::state::write_private(
        &path(&info.state_dir),
        serde_json::to_string_pretty(&running)?.as_bytes(),
    )?;
    Ok(())
}

pub(crate) fn remove(info: &LabInfo) {
    let _ = std::fs::remove_file(path(&info.state_dir));
}
