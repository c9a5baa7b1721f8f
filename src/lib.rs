//! The lab guide's library: what the TUI and the command-line checks share.
//!
//! - [`stream`]: following the app's log group in CloudWatch Logs (the lab's or a real
//!   account's) and turning its lines into verified token events.

pub mod stream;
