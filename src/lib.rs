//! The lab guide's library: what the TUI and the command-line checks share.
//!
//! - [`instance`]: checking the app's instance through SSM.
//! - [`stream`]: following the app's log group in CloudWatch Logs (the lab's or a real
//!   account's) and turning its lines into verified token events.

mod aws;
pub mod instance;
pub mod stream;
