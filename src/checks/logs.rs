//! A token in the app's log: sign in, then follow the log group until the request's line comes
//! back, and check its token there as the app received it.

use std::time::Duration;

use tokio::time::Instant;

use super::signin::login;
use super::text::Res;
use crate::stream::{Cursor, Follower, TokenEvent};
use crate::target::Target;

/// Whether `seen` holds each of `claims` (a value, or one of an array's); `render` fills in
/// the lesson's variables. The error names the first that differs.
pub(super) fn claims_match(
    seen: &serde_json::Map<String, serde_json::Value>,
    claims: &std::collections::BTreeMap<String, String>,
    render: impl Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    for (claim, want) in claims {
        let want = &render(want)?;
        let got = seen.get(claim);
        let ok = match got {
            Some(serde_json::Value::String(s)) => s == want,
            Some(serde_json::Value::Array(a)) => a.iter().any(|v| v == want.as_str()),
            Some(v) => want.parse::<serde_json::Value>().ok().as_ref() == Some(v),
            None => false,
        };
        if !ok {
            return Err(format!(
                "{claim} = {}, expected {want:?}",
                got.map_or("nothing".into(), ToString::to_string)
            ));
        }
    }
    Ok(())
}

/// How long a token may take to reach CloudWatch Logs and come back.
pub(super) const LOG_WAIT: Duration = Duration::from_secs(8);

pub(super) async fn token_in_logs(
    t: &Target,
    user: &str,
    path: &str,
    token: &str,
    claims: &std::collections::BTreeMap<String, String>,
) -> Res {
    let group = t.render("{log_group}")?;
    // Only lines logged from the sign-in on: an earlier lab's lines in the same log group (a
    // run on other ports, with other keys) are not this sign-in's.
    let from = i64::try_from(cognito_learning_tokens::time::now_millis()).unwrap_or(0);
    let (_, landing) = login(t, user, path).await?;
    let mut follower = Follower::new(t.logs.clone(), group.clone(), Cursor::from(from));
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        for line in follower.poll().await? {
            // The follower looks back a little for late lines; older ones are not ours.
            let Some(ev) = TokenEvent::from_line(&line, &t.tokens)
                .await
                .filter(|e| e.at_ms >= from)
            else {
                continue;
            };
            let seen = if token == "access" {
                ev.access
            } else {
                ev.data
            };
            let Some(seen) = seen.filter(|_| ev.path == path) else {
                continue;
            };
            let name = if token == "access" {
                "the access token"
            } else {
                "x-amzn-oidc-data"
            };
            if let Err(why) = &seen.verdict {
                return Err(format!("{name} in the log does not verify: {why}"));
            }
            claims_match(&seen.claims(), claims, |v| t.render(v))
                .map_err(|e| format!("{name} has {e}"))?;
            let shown: Vec<String> = claims
                .iter()
                .map(|(k, v)| format!("{k}={}", t.render(v).unwrap_or_else(|_| v.clone())))
                .collect();
            return Ok(format!(
                "{name} for {path} ({}) verified in {group}{}{}",
                landing.status,
                if shown.is_empty() { "" } else { "; " },
                shown.join(", ")
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{user} opened {path} ({}), but no line with its tokens reached {group} within {}s: is the app shipping its log?",
                landing.status,
                LOG_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
