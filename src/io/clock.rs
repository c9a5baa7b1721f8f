//! The lab's clock, read and moved from the guide (`t`) and from `cognito-learning lab clock`.

use cognito_learning_contract::lab::{ClockState, LabInfo, RUN_HEADER};
use cognito_learning_tokens::time::{clock, span, utc};

/// What to do with the lab's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// Read it.
    Show,
    /// Move it forward this many seconds.
    Advance(u64),
    /// Back to the wall clock.
    Reset,
}

impl ClockChange {
    /// `+2m`, `1h`, `reset` or nothing, as typed after `lab clock`.
    pub fn parse(text: Option<&str>) -> Result<ClockChange, String> {
        match text.map(str::trim) {
            None | Some("" | "show") => Ok(ClockChange::Show),
            Some("reset" | "now") => Ok(ClockChange::Reset),
            Some(t) if t.starts_with('-') => Err(format!(
                "{t}: the lab's clock only moves forward; `reset` puts it back to the wall clock"
            )),
            Some(t) => cognito_learning_tokens::time::parse_span(t).map(ClockChange::Advance),
        }
    }
}

/// Reads or moves the clock of the lab `info` describes; its state afterwards.
pub async fn change(
    http: &reqwest::Client,
    info: &LabInfo,
    change: ClockChange,
) -> Result<ClockState, String> {
    let url = info.clock_url();
    let req = match change {
        ClockChange::Show => http.get(&url),
        ClockChange::Advance(secs) => http
            .post(&url)
            .header(RUN_HEADER, &info.run)
            .json(&serde_json::json!({ "advance": secs })),
        ClockChange::Reset => http
            .post(&url)
            .header(RUN_HEADER, &info.run)
            .json(&serde_json::json!({ "reset": true })),
    };
    let resp = req
        .send()
        .await
        .map_err(|e| format!("the lab at {} does not answer: {e}", info.aws))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if status.is_success() {
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not a clock: {e}"))
    } else if status == reqwest::StatusCode::NOT_FOUND {
        Err(format!(
            "the lab at {} has no clock to move: it is older than this guide; restart it",
            info.aws
        ))
    } else {
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(format!("the lab refused ({status}): {said}"))
    }
}

/// `the lab's clock reads 14:05:10 UTC, 2 min ahead of the wall clock`, for a clock `offset`
/// seconds ahead that reads `now`.
pub fn describe(offset: i64, now: u64) -> String {
    if offset == 0 {
        format!(
            "the lab's clock reads {} UTC, the wall clock's time",
            clock(now)
        )
    } else {
        format!(
            "the lab's clock reads {} UTC, {} ahead of the wall clock",
            lab_time(offset, now),
            span(offset.unsigned_abs())
        )
    }
}

/// The lab's time `now`: the time of day, with the date once it runs a day or more ahead.
pub fn lab_time(offset: i64, now: u64) -> String {
    if offset.unsigned_abs() >= 86_400 {
        let t = utc(now);
        t.trim_end_matches('Z').replacen('T', " ", 1)
    } else {
        clock(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_shows_once_the_lab_runs_a_day_ahead() {
        assert_eq!(lab_time(180, 1_687_748_045), "02:54:05");
        assert_eq!(lab_time(7 * 86_400, 1_687_748_045), "2023-06-26 02:54:05");
        assert!(
            describe(7 * 86_400, 1_687_748_045).contains("2023-06-26 02:54:05 UTC, 7 days ahead")
        );
    }

    #[test]
    fn changes_parse_as_typed() {
        assert_eq!(ClockChange::parse(None), Ok(ClockChange::Show));
        assert_eq!(
            ClockChange::parse(Some("+2m")),
            Ok(ClockChange::Advance(120))
        );
        assert_eq!(ClockChange::parse(Some("reset")), Ok(ClockChange::Reset));
        assert!(
            ClockChange::parse(Some("-5m"))
                .unwrap_err()
                .contains("only moves forward")
        );
        assert!(ClockChange::parse(Some("soon")).is_err());
    }
}
