//! PutLogEvents' limits (CloudWatch Logs API reference, PutLogEvents), which the app's shipper
//! keeps to and the lab's stand-in enforces with AWS's own errors.

/// A batch's size: the sum of its messages in UTF-8 bytes plus [`EVENT_OVERHEAD`] for each.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What each event adds to a batch's size.
pub const EVENT_OVERHEAD: usize = 26;
/// Events in one batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The events of one batch span less than 24 hours.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 3600 * 1000 - 1;
/// One event's size. AWS raised it to 1 MB in 2025; the older 256 KB is kept so older
/// endpoints (and other implementations of the API) accept every event too.
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD;
/// An event may be at most this far in the future…
pub const MAX_FUTURE_MS: i64 = 2 * 3600 * 1000;
/// …and at most this old (or older than the group's retention).
pub const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
