//! Which run of the lab the guide is following. A lab writes its details, with a new run id,
//! to `running.json` each time it starts; the guide reads that file every half second (and at
//! once when a follower is refused), so a lab stopped and started again under a running guide
//! is noticed once, and everything that follows it moves to its new credentials and URLs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cognito_learning_contract::lab::{LabInfo, read_running};
use tokio::sync::watch;

use super::start::answers;

/// The lab run being followed; cheap to clone.
#[derive(Debug, Clone)]
pub struct LabWatch {
    state_dir: PathBuf,
    tx: Arc<watch::Sender<Arc<LabInfo>>>,
}

impl LabWatch {
    pub fn new(info: &LabInfo) -> Self {
        Self {
            state_dir: info.state_dir.clone(),
            tx: Arc::new(watch::Sender::new(Arc::new(info.clone()))),
        }
    }

    pub fn current(&self) -> Arc<LabInfo> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<LabInfo>> {
        self.tx.subscribe()
    }

    /// Reads `running.json`: when it names another run whose ALB and AWS APIs answer, or the
    /// same run serving another pool, client or users (what the learner built), that becomes
    /// the current one and `true` comes back.
    pub async fn refresh(&self) -> bool {
        let Some(info) = read_running(&self.state_dir) else {
            return false;
        };
        // Compared before any wait: the borrow holds the watch's lock.
        let (same, same_run) = {
            let cur = self.tx.borrow();
            (**cur == info, cur.run == info.run)
        };
        if same {
            return false;
        }
        // Another run counts only once it answers.
        let answering = same_run || (answers(&info.alb).await && answers(&info.aws).await);
        if !answering {
            return false;
        }
        self.tx.send_if_modified(|cur| {
            if **cur == info {
                return false;
            }
            *cur = Arc::new(info);
            true
        })
    }

    /// Refreshes every half second until nobody subscribes.
    pub async fn run(self) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if self.tx.is_closed() {
                return;
            }
            self.refresh().await;
        }
    }
}
