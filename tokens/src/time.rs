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

/// A clock that can be moved forward: the local lab's, which its ALB, its Cognito and the app's
/// verification all read, so a learner can watch tokens and sessions expire without waiting.
/// Clones share one offset; [`Clock::default`] is the wall clock until someone moves it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch, on this clock.
    pub fn now(&self) -> u64 {
        now().saturating_add_signed(self.offset())
    }

    /// Milliseconds since the Unix epoch, on this clock.
    pub fn now_millis(&self) -> u64 {
        now_millis().saturating_add_signed(self.offset().saturating_mul(1000))
    }

    /// How far ahead of the wall clock this clock runs, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs this clock `secs` ahead of the wall clock (0: the wall clock again).
    pub fn set_offset(&self, secs: i64) {
        self.offset
            .store(secs, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A span as a learner types it: `90`, `90s`, `2m`, `1h`, `7d`, `1h30m`, with an optional
/// leading `+`; in seconds.
pub fn parse_span(text: &str) -> Result<u64, String> {
    let t = text.trim().trim_start_matches('+');
    if t.is_empty() {
        return Err("an empty span: write it as 2m, 1h, 7d or 90s".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("{text:?}: {c:?} is not a unit (s, m, h or d)")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long a span"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is too long a span"))?;
        total = total
            .checked_add(n)
            .ok_or_else(|| format!("{text:?} is too long a span"))?;
    }
    // Ten years: far enough for every lifetime a user pool or a rule may have.
    if total > 10 * 366 * 86_400 {
        return Err(format!("{text:?} is more than ten years"));
    }
    Ok(total)
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

    #[test]
    fn spans_parse_as_typed() {
        assert_eq!(parse_span("+2m"), Ok(120));
        assert_eq!(parse_span("90"), Ok(90));
        assert_eq!(parse_span("1h30m"), Ok(5400));
        assert_eq!(parse_span("7d"), Ok(604_800));
        assert!(parse_span("2x").unwrap_err().contains("not a unit"));
        assert!(
            parse_span("m")
                .unwrap_err()
                .contains("number must come before")
        );
        assert!(parse_span("").is_err());
        assert!(parse_span("99999999999999999999d").is_err());
        assert!(parse_span("11000d").unwrap_err().contains("ten years"));
    }

    #[test]
    fn a_moved_clock_runs_ahead_and_clones_share_it() {
        let c = Clock::default();
        let twin = c.clone();
        let before = now();
        c.set_offset(3600);
        let t = twin.now();
        assert!((before + 3600..=now() + 3600).contains(&t));
        c.set_offset(0);
        assert!(twin.now() <= now());
    }
}
