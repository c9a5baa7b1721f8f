//! The guide's I/O, under its UI: starting or finding the target, the followers that watch it
//! and the probes that say what answers. Each runs as a task and reports typed [`Event`]s to a
//! sink; the TUI turns them into messages, and `check` uses [`start`] without any of the TUI.
//!
//! - [`start`]: a lab already answering, else one started in-process; or the learner's account.
//! - [`probe`]: the top line's services and the TCP probe that says whether each answers.
//! - [`watch`]: the lab's run, from `running.json`: a restarted lab is noticed once, and the
//!   followers switch to its new credentials and URLs.
//! - [`follow`]: the token stream (CloudWatch Logs, each token verified again), the lab's
//!   trace (`/lab/trace`) and the health probes.

pub mod follow;
pub mod probe;
pub mod start;
pub mod watch;

use std::sync::{Arc, RwLock};

use cognito_learning_contract::lab::LabInfo;
use cognito_learning_contract::trace::TraceEvent;

pub use follow::spawn_followers;
pub use probe::Service;
pub use start::{Start, Started, start};

use crate::stream::TokenEvent;
use crate::target::Target;

/// What the I/O tasks report.
#[derive(Debug)]
pub enum Event {
    /// Requests the app logged, with their tokens verified again.
    Tokens(Vec<TokenEvent>),
    /// Why the token stream is not live (a sentence for the learner).
    StreamStatus(String),
    /// Exchanges the lab saw (or, on the cloud track, the requests the app logged).
    Flow(Vec<TraceEvent>),
    /// Whether each service of the top line answers, in order.
    Health(Vec<Option<bool>>),
    /// The lab was stopped and started again (another run in `running.json`): the target now
    /// uses its credentials and URLs.
    LabRestarted(Box<LabInfo>),
}

/// Where events go; `false` once nobody listens, and the task ends.
pub type Sink = Arc<dyn Fn(Event) -> bool + Send + Sync>;

/// The target the checks run against, replaced when the lab restarts.
#[derive(Debug, Default)]
pub struct CurrentTarget(RwLock<Option<Arc<Target>>>);

impl CurrentTarget {
    pub fn get(&self) -> Option<Arc<Target>> {
        self.0.read().ok()?.clone()
    }

    pub fn set(&self, t: Arc<Target>) {
        if let Ok(mut g) = self.0.write() {
            *g = Some(t);
        }
    }
}
