//! Unix time, UTC timestamps and "3 min ago" without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2023-06-26T02:54:05Z`.
pub fn utc(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `02:54:05`, the time of day in UTC.
pub fn clock(secs: u64) -> String {
    let (_, _, _, hh, mm, ss) = civil(secs);
    format!("{hh:02}:{mm:02}:{ss:02}")
}

/// `2023-06-26T02:54:05.123Z`, for log lines.
pub fn utc_millis(millis: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(millis / 1000);
    let ms = millis % 1000;
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
}

/// `Thu, 01 Jan 1970 00:00:00 GMT`, for cookie `Expires` and HTTP `Date`.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss) = civil(secs);
    let weekday = DAYS[usize::try_from(secs / 86_400 % 7).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
    format!("{weekday}, {d:02} {month} {y} {hh:02}:{mm:02}:{ss:02} GMT")
}

fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    // Howard Hinnant's days-to-civil, valid for every u64 second count we meet.
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A short span: `42 s`, `3 min`, `2 h 5 min`, `4 days`.
pub fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 if secs % 3600 >= 60 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        86_400..172_800 => "1 day".to_owned(),
        _ if secs < 2 * 365 * 86_400 => format!("{} days", secs / 86_400),
        _ => format!("{} years", secs / (365 * 86_400)),
    }
}

/// `3 min ago` for a time in the past (relative to `now`).
pub fn ago(now: u64, then: u64) -> String {
    format!("{} ago", span(now.saturating_sub(then)))
}

/// `59 min left` or `expired 3 min ago`.
pub fn left(now: u64, exp: u64) -> String {
    if exp > now {
        format!("{} left", span(exp - now))
    } else {
        format!("expired {}", ago(now, exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_matches_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_687_748_045), "2023-06-26T02:54:05Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_millis(1_687_748_045_007), "2023-06-26T02:54:05.007Z");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(clock(1_687_748_045), "02:54:05");
        assert_eq!(http_date(1_687_748_045), "Mon, 26 Jun 2023 02:54:05 GMT");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(42), "42 s");
        assert_eq!(span(180), "3 min");
        assert_eq!(span(7500), "2 h 5 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(4 * 86_400), "4 days");
        assert_eq!(left(100, 3700), "1 h left");
        assert_eq!(left(400, 220), "expired 3 min ago");
    }
}
