//! What the I/O tasks report, where it goes, and the target the checks run against.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use cognito_learning_contract::trace::TraceEvent;

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
    /// The lab was stopped and started again (another run in `running.json`): the target, now
    /// the new run's, has these lesson variables and top-line services.
    LabRestarted {
        vars: BTreeMap<String, String>,
        services: Vec<super::Service>,
    },
    /// The same run of the lab now serves another user pool, app client or users (the
    /// learner built or changed them): these are the lesson variables now.
    LabChanged { vars: BTreeMap<String, String> },
    /// The lab's clock runs this many seconds ahead of the wall clock (`lab clock`).
    LabClock(i64),
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
