//! A running lab as other processes see it: `cognito-learning lab --json` prints a
//! [`LabInfo`]; `running.json` in the lab's state directory holds a [`Running`] (0600: it has
//! the demo users' passwords and the lab's AWS credentials) for a guide or `check` in another
//! process to find the lab with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The name of the running lab's file in its state directory.
pub const RUNNING_FILE: &str = "running.json";

/// Where a lab keeps its clock's offset, in its state directory.
pub const CLOCK_FILE: &str = "clock.json";

/// The furthest a lab's clock may run ahead of the wall clock: a year, past every default
/// lifetime (the refresh token's 30 days, the ALB session's 7).
pub const MAX_CLOCK_OFFSET: i64 = 366 * 86_400;

/// The lab's clock (`GET /lab/clock`, `clock.json`): how far it runs ahead of the wall clock,
/// and both times, in Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    pub offset: i64,
    #[serde(default)]
    pub now: u64,
    #[serde(default)]
    pub wall: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabUser {
    pub username: String,
    pub groups: Vec<String>,
    /// Shown by `lab` for the demo; not part of `--json` (it travels in [`Running`]).
    #[serde(skip)]
    pub password: String,
}

/// What scripts and the lab guide need to drive the lab (`cognito-learning lab --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabInfo {
    /// This run of the lab: new each time a lab starts, so a reader can tell a restart.
    #[serde(default)]
    pub run: String,
    pub alb: String,
    pub cognito: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub region: String,
    pub user_pool_id: String,
    pub alb_arn: String,
    /// The base that `/<kid>` is appended to.
    pub alb_key_url: String,
    pub aws: String,
    /// Credentials the lab made at start; the AWS API endpoint accepts only requests they sign.
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
    pub server: String,
    pub users: Vec<LabUser>,
    pub state_dir: PathBuf,
    /// The lab's one certificate (for `localhost`), for an HTTPS listener.
    #[serde(default)]
    pub certificate_arn: String,
    /// Started with `--blank`: the pool, client and users above are not built yet, and what
    /// the learner builds is read from the lab's control plane.
    #[serde(default)]
    pub blank: bool,
}

impl LabInfo {
    /// The lab's trace endpoint.
    pub fn trace_url(&self) -> String {
        format!("{}/lab/trace", self.aws.trim_end_matches('/'))
    }

    /// The lab's clock endpoint: `GET` reads it, `POST` moves it (with [`RUN_HEADER`]).
    pub fn clock_url(&self) -> String {
        format!("{}/lab/clock", self.aws.trim_end_matches('/'))
    }
}

/// The header a `POST /lab/clock` must carry, with the lab's run: a web page cannot set it
/// without a CORS preflight the lab never grants, and cannot read the run.
pub const RUN_HEADER: &str = "x-cognito-learning-run";

/// `running.json`: the lab's details with the demo users' passwords.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub info: LabInfo,
    pub passwords: BTreeMap<String, String>,
}

impl Running {
    pub fn new(info: &LabInfo) -> Self {
        Running {
            info: info.clone(),
            passwords: info
                .users
                .iter()
                .map(|u| (u.username.clone(), u.password.clone()))
                .collect(),
        }
    }

    /// The lab's details with each user's password put back.
    pub fn into_info(self) -> LabInfo {
        let Running {
            mut info,
            passwords,
        } = self;
        for u in &mut info.users {
            if let Some(p) = passwords.get(&u.username) {
                u.password.clone_from(p);
            }
        }
        info
    }
}

pub fn running_path(state_dir: &Path) -> PathBuf {
    state_dir.join(RUNNING_FILE)
}

/// The lab recorded in `state_dir`, if any (not checked to be answering).
pub fn read_running(state_dir: &Path) -> Option<LabInfo> {
    let text = std::fs::read_to_string(running_path(state_dir)).ok()?;
    serde_json::from_str::<Running>(&text)
        .ok()
        .map(Running::into_info)
}

/// `$XDG_STATE_HOME/cognito-learning/lab`, else `~/.local/state/cognito-learning/lab`.
pub fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("cognito-learning").join("lab")
}
