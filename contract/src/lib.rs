//! What two processes of this project must agree on, defined once: the writer and every reader
//! use these types, and each writer has a test that its bytes parse into them.
//!
//! - [`log`]: the app's request record (a line of `server.log` and of its CloudWatch stream).
//! - [`cloudwatch`]: the PutLogEvents limits the app's shipper and the lab's stand-in share.
//! - [`headers`]: the names of the headers the ALB adds for an authenticated request.
//! - [`trace`]: the lab's trace of exchanges (`GET /lab/trace`), for the guide's Flow pane.
//! - [`lab`]: a running lab's details (`running.json`, `cognito-learning lab --json`) and where
//!   its state directory is.
//! - [`ssm`]: the lab instance's id and the shell commands its SSM stand-in runs.

pub mod cloudwatch;
pub mod headers;
pub mod lab;
pub mod log;
pub mod ssm;
pub mod trace;
