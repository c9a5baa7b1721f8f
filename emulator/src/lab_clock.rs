//! The lab's one clock, which its ALB, its Cognito and the app's verification read: moved
//! forward by `cognito-learning lab clock +2m` (or the guide's `t` key) through
//! `POST /lab/clock` on the AWS API port, and kept in `clock.json` so that a restarted lab
//! stays where the learner left it.

use std::path::Path;

use cognito_learning_contract::lab::{CLOCK_FILE, ClockState, MAX_CLOCK_OFFSET};
pub use cognito_learning_tokens::time::Clock;
use cognito_learning_tokens::time::now;

/// The clock a lab starts with: where `clock.json` in `state_dir` left it, else the wall clock.
pub(crate) fn load(state_dir: &Path) -> Clock {
    let clock = Clock::default();
    let saved = std::fs::read_to_string(state_dir.join(CLOCK_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<ClockState>(&t).ok());
    if let Some(s) = saved {
        clock.set_offset(s.offset.clamp(0, MAX_CLOCK_OFFSET));
    }
    clock
}

/// What a change asks for: move forward by `advance` seconds, or go back to the wall clock.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Change {
    #[serde(default)]
    advance: Option<u64>,
    #[serde(default)]
    reset: bool,
}

/// Applies `change` to `clock` and saves it beside the lab's other state; the new state, or
/// why the change was refused.
pub(crate) fn apply(
    clock: &Clock,
    state_dir: &Path,
    change: &Change,
) -> Result<ClockState, String> {
    let offset = match (change.advance, change.reset) {
        (Some(_), true) => return Err("give either advance or reset, not both".into()),
        (None, false) => return Err("give advance (seconds) or reset".into()),
        (None, true) => 0,
        (Some(secs), false) => {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            let offset = clock.offset().saturating_add(secs);
            if offset > MAX_CLOCK_OFFSET {
                return Err(format!(
                    "the lab's clock may run at most {} ahead of the wall clock",
                    cognito_learning_tokens::time::span(MAX_CLOCK_OFFSET.unsigned_abs())
                ));
            }
            offset
        }
    };
    clock.set_offset(offset);
    let state = state(clock);
    let text = serde_json::to_string(&state).unwrap_or_default();
    if let Err(e) = crate::state::write_private(&state_dir.join(CLOCK_FILE), text.as_bytes()) {
        // The clock has moved for this run; only a restart would forget it.
        eprintln!("lab: cannot save the clock in {}: {e}", state_dir.display());
    }
    Ok(state)
}

/// The clock as `GET /lab/clock` reports it.
pub(crate) fn state(clock: &Clock) -> ClockState {
    ClockState {
        offset: clock.offset(),
        now: clock.now(),
        wall: now(),
    }
}
