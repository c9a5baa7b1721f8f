//! How the store changes as a whole: replaced by what the journal loaded, or one [`Change`]
//! committed (queued for the journal, then applied).

use std::collections::BTreeMap;

use super::Logs;
use super::store::{Change, GROUP_CAP, Group, apply};
use cognito_learning_tokens::time::now_millis;

impl Logs {
    /// Replaces the store with what the journal loaded, within retention and the caps.
    pub(in crate::aws) fn restore(&self, mut groups: BTreeMap<String, Group>, seq: u64, now: i64) {
        for g in groups.values_mut() {
            g.count();
            g.expire(now);
            if g.bytes > GROUP_CAP {
                g.shrink_to(GROUP_CAP / 10 * 9);
            }
        }
        let next = groups
            .values()
            .flat_map(|g| g.streams.values())
            .filter_map(|s| s.events.iter().map(|e| e.id).max())
            .max()
            .map_or(seq, |m| seq.max(m + 1));
        self.seq.store(next, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut g) = self.groups.write() {
            *g = groups;
        }
    }

    /// Applies `change`, and queues it for the journal when one is open. Called with the
    /// groups locked for writing, so the journal's order is the order of the changes.
    pub(super) fn commit(&self, groups: &mut BTreeMap<String, Group>, change: Change) {
        if let Ok(mut pending) = self.pending.lock()
            && let Some(buf) = pending.as_mut()
        {
            // Past this the journal writer is stuck (a full disk): the change still holds in
            // memory and is saved at the next compaction or stop.
            let before = buf.len();
            if before < crate::aws::journal::MAX_PENDING
                && serde_json::to_writer(&mut *buf, &change).is_ok()
            {
                buf.push(b'\n');
            }
            if before < crate::aws::journal::EAGER && buf.len() >= crate::aws::journal::EAGER {
                self.wake.notify_one();
            }
        }
        apply(groups, change, now_millis() as i64);
    }
}
