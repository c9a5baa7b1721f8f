//! The lab guide's library: what the TUI and the command-line checks share.
//!
//! - [`lessons`]: the course as data, loaded from TOML files with every error reported.
//! - [`target`]: what checks run against, the local lab or a learner's AWS account.
//! - [`checks`]: running one check and saying what is true and why.
//! - [`exchange`]: one exchange of the lab's trace read out for a learner; [`export`]: the
//!   trace as HAR 1.2 and as a Mermaid sequence diagram.
//! - [`progress`]: which steps a learner has passed, kept under the XDG state directory.
//! - [`instance`]: checking the app's instance through SSM.
//! - [`account`] and [`resources`]: reading the state of a learner's AWS resources (network,
//!   load balancer, pipeline, certificate, what still bills) for the cloud track's checks.
//! - [`stream`]: following the app's log group in CloudWatch Logs (the lab's or a real
//!   account's) and turning its lines into verified token events.
//! - [`tui`]: the interactive guide (ratatui), its state, messages and views.

pub mod account;
mod aws;
pub mod browser;
pub mod checks;
pub mod exchange;
pub mod export;
pub mod instance;
pub mod io;
pub mod lessons;
pub mod progress;
pub mod resources;
pub mod stream;
pub mod target;
pub mod tui;
