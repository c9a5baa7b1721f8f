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

pub mod clock;
mod event;
pub mod follow;
pub mod probe;
pub mod start;
pub mod watch;

pub use event::{CurrentTarget, Event, Sink};
pub use follow::spawn_followers;
pub use probe::Service;
pub use start::{Start, Started, answers, running_lab, start};
