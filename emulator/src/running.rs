//! `running.json` in the state directory: how a lab guide or `check` in another process finds a
//! lab that is already answering, with the credentials and demo passwords it needs to drive it.
//! Written private (0600) at start, removed at stop; a stale file is harmless because readers
//! probe the ALB before they trust it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::LabInfo;

#[derive(Serialize, Deserialize)]
struct Running {
    info: LabInfo,
    passwords: BTreeMap<String, String>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("running.json")
}

pub(crate) fn write(info: &LabInfo) -> anyhow::Result<()> {
    let running = Running {
        info: info.clone(),
        passwords: info
            .users
            .iter()
            .map(|u| (u.username.clone(), u.password.clone()))
            .collect(),
    };
    crate::state::write_private(
        &path(&info.state_dir),
        serde_json::to_string_pretty(&running)?.as_bytes(),
    )?;
    Ok(())
}

pub(crate) fn remove(info: &LabInfo) {
    let _ = std::fs::remove_file(path(&info.state_dir));
}

/// The lab recorded in `state_dir`, if any (not checked to be answering).
pub fn read(state_dir: &Path) -> Option<LabInfo> {
    let text = std::fs::read_to_string(path(state_dir)).ok()?;
    let Running {
        mut info,
        passwords,
    } = serde_json::from_str(&text).ok()?;
    for u in &mut info.users {
        if let Some(p) = passwords.get(&u.username) {
            u.password.clone_from(p);
        }
    }
    Some(info)
}
