//! Checks that pass only on what the learner did: the app's log and the lab's trace are read
//! for the learner's own requests (a browser, curl); the guide's checks mark theirs with their
//! `User-Agent`, and those never count. None of these sends a request of its own: each says
//! what it is waiting for until the learner has done it.

use std::collections::BTreeMap;

use cognito_learning_contract::log::RequestRecord;
use cognito_learning_contract::trace::{Actor, Client, SetCookie, TraceEvent, TracePage};
use cognito_learning_tokens::logged::LoggedLine;
use cognito_learning_tokens::time::{clock, now_millis};
use tokio::time::{Duration, Instant};

use super::logs::claims_match;
use super::text::Res;
use crate::stream::{Cursor, Follower, LogLine, TokenEvent};
use crate::target::Target;

/// How far back the learner's own traffic counts.
const SINCE_MS: i64 = 60 * 60 * 1000;
/// Pages of the app's log read at most for one check.
const MAX_PAGES: usize = 50;

/// How long a request the learner just made may take to reach the log group.
const SETTLE: Duration = Duration::from_millis(2500);

/// The newest of the app's requests of the last hour that `wanted` picks, each token verified
/// against this target's keys. When none is there yet, the log is followed a little longer:
/// the learner's last request may still be on its way to the log group.
async fn newest<T>(
    t: &Target,
    wanted: impl Fn(&TokenEvent) -> Option<T>,
) -> Result<Option<(TokenEvent, T)>, String> {
    let mut found = None;
    let mut log = HourOfLog::new(t)?;
    while let Some(lines) = log.page(found.is_some()).await? {
        for l in &lines {
            if let Some(e) = TokenEvent::from_line(l, &t.tokens).await
                && let Some(x) = wanted(&e)
                && found
                    .as_ref()
                    .is_none_or(|(f, _): &(TokenEvent, T)| f.at_ms <= e.at_ms)
            {
                found = Some((e, x));
            }
        }
    }
    Ok(found)
}

/// The app's log of the last hour, read page by page.
struct HourOfLog {
    follower: Follower,
    deadline: Instant,
    pages: usize,
}

impl HourOfLog {
    fn new(t: &Target) -> Result<Self, String> {
        let group = t.render("{log_group}")?;
        let now = i64::try_from(now_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            follower: Follower::new(t.logs.clone(), group, Cursor::from(now - SINCE_MS)),
            deadline: Instant::now() + SETTLE,
            pages: 0,
        })
    }

    /// The next page of lines; `None` once the log is quiet and the caller has `enough`, or
    /// the learner's last request has had [`SETTLE`] to reach the log group.
    async fn page(&mut self, enough: bool) -> Result<Option<Vec<LogLine>>, String> {
        while self.pages < MAX_PAGES {
            self.pages += 1;
            let lines = self.follower.poll().await?;
            if !lines.is_empty() {
                return Ok(Some(lines));
            }
            if enough || Instant::now() > self.deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(None)
    }
}

fn at(ms: i64) -> String {
    clock(u64::try_from(ms / 1000).unwrap_or(0))
}

/// Whether `e` is the learner's own request through the ALB as `user`: its data token verifies
/// with this lab's (or ALB's) key and names `user`.
fn through_the_alb_as(e: &TokenEvent, user: &str) -> bool {
    e.client == Client::Learner
        && !e.direct
        && e.data.as_ref().is_some_and(|d| {
            d.verdict.is_ok() && d.claims().get("username").and_then(|u| u.as_str()) == Some(user)
        })
}

/// The learner's own request to `path` through the ALB, as `user`: the newest line of theirs
/// whose data token verifies with this lab's (or ALB's) key and names `user`. Lines whose
/// tokens do not verify here belong to another lab or ALB and are passed over.
pub(super) async fn your_sign_in(t: &Target, user: &str, path: &str, status: u16) -> Res {
    let site = t.render("{site}")?;
    let yours = newest(t, |e| {
        (through_the_alb_as(e, user) && e.path == path).then_some(())
    })
    .await?
    .map(|(e, ())| e);
    match yours {
        Some(e) if e.status == u64::from(status) => Ok(format!(
            "you opened {path} as {user} at {} (your browser, through the ALB): the app answered {}",
            at(e.at_ms),
            e.status
        )),
        Some(e) => Err(format!(
            "your latest {path} as {user} (at {}) was answered {}, expected {status}",
            at(e.at_ms),
            e.status
        )),
        None => Err(format!(
            "waiting for you: open {site}{path} in your browser (or curl with a cookie jar) and sign in as {user}; the guide's own sign-ins do not count"
        )),
    }
}

/// A forged `x-amzn-oidc-data` the learner sent straight to the app, and the app's refusal.
pub(super) async fn your_forged_header(t: &Target, path: &str) -> Res {
    let app = t.render("{app}")?;
    let forged = newest(t, |e| {
        (e.client == Client::Learner && e.direct && e.path == path && e.app.data.is_some())
            .then_some(())
    })
    .await?;
    let Some((e, ())) = forged else {
        return Err(format!(
            "waiting for you: send a request with your own x-amzn-oidc-data straight to the app, e.g. curl -si -H 'x-amzn-oidc-data: forged' {app}{path}"
        ));
    };
    let said = e.app.data.clone().unwrap_or_default();
    if e.status == 401 && said.starts_with("invalid") {
        Ok(format!(
            "your forged x-amzn-oidc-data at {} was refused with 401; the app said: {said}",
            at(e.at_ms)
        ))
    } else {
        Err(format!(
            "your request at {} carried x-amzn-oidc-data straight to the app, which answered {} ({said}): the app must verify it and refuse",
            at(e.at_ms),
            e.status
        ))
    }
}

/// The lab's trace, the learner's exchanges only, in the order they began.
async fn your_trace(t: &Target) -> Result<Vec<TraceEvent>, String> {
    let lab = t.lab.as_ref().ok_or(
        "this check reads the local lab's trace of Cognito's pages; on the cloud track use s (show me)",
    )?;
    let page: TracePage = t
        .http
        .get(lab.trace_url())
        .send()
        .await
        .map_err(|e| format!("the lab's trace: {e}"))?
        .json()
        .await
        .map_err(|e| format!("the lab's trace: {e}"))?;
    let mut events: Vec<TraceEvent> = page
        .events
        .into_iter()
        .filter(|e| e.client == Client::Learner)
        .collect();
    events.sort_by_key(TraceEvent::order);
    Ok(events)
}

/// Whether `e` is `GET path` from the browser to `to`.
fn browser_get(e: &TraceEvent, to: Actor, path: &str) -> bool {
    e.from == Actor::Browser
        && e.to == to
        && e.request
            .split_whitespace()
            .nth(1)
            .is_some_and(|p| p.split('?').next() == Some(path))
}

/// Where a redirect sent the browser (the note's `→ …`, else the exchange's `Location`).
fn location(e: &TraceEvent) -> String {
    e.exchange
        .as_ref()
        .and_then(|x| x.response_header("location").next().map(str::to_owned))
        .unwrap_or_default()
}

/// The ALB session cookie shards the answer to `e` expires.
fn expired_session(e: &TraceEvent) -> Vec<String> {
    let now = cognito_learning_tokens::time::now();
    e.exchange.as_ref().map_or_else(Vec::new, |x| {
        expired_shards(x.response_header("set-cookie"), now)
    })
}

/// The ALB session cookie shards these `Set-Cookie` lines remove from the browser at `now`.
fn expired_shards<'a>(set_cookies: impl Iterator<Item = &'a str>, now: u64) -> Vec<String> {
    set_cookies
        .filter_map(SetCookie::parse)
        .filter(|c| c.name.starts_with("AWSELBAuthSessionCookie") && c.removes(now))
        .map(|c| c.name)
        .collect()
}

/// The learner logged out `through` the app's `/logout` alone or Cognito's `/logout`, and the
/// next sign-in `then` went through silently or showed the form.
pub(super) async fn your_logout(t: &Target, through: &str, then: &str) -> Res {
    if t.lab.is_none() {
        return your_logout_logged(t, through, then).await;
    }
    let site = t.render("{site}")?;
    let events = your_trace(t).await?;
    // The app's /logout that Cognito's sent the browser on to is part of the proper logout.
    let logout = |(i, e): (usize, &TraceEvent)| match through {
        "cognito" => browser_get(e, Actor::Cognito, "/logout") && e.status == 302,
        _ => {
            browser_get(e, Actor::Alb, "/logout")
                && !i
                    .checked_sub(1)
                    .is_some_and(|p| browser_get(&events[p], Actor::Cognito, "/logout"))
        }
    };
    let how = if through == "cognito" {
        "Cognito's /logout (the home page's Logout link)".to_owned()
    } else {
        format!("{site}/logout alone")
    };
    let Some(i) = events
        .iter()
        .enumerate()
        .rev()
        .find(|&(i, e)| logout((i, e)))
        .map(|(i, _)| i)
    else {
        return Err(format!(
            "waiting for you: sign in, then log out with {how}, then open {site}/v1/secrets again"
        ));
    };
    let logged_out = at(i64::try_from(events[i].start_ms).unwrap_or(0));
    if through == "app" {
        let expired = expired_session(&events[i]);
        if expired.is_empty() {
            return Err(format!(
                "you logged out with {how} at {logged_out}, but it answered {} without expiring an AWSELBAuthSessionCookie shard",
                events[i].status
            ));
        }
        if then.is_empty() {
            return Ok(format!(
                "you logged out with {how} at {logged_out}, which expired {}: the ALB now takes your browser for a new one",
                expired.join(", ")
            ));
        }
    }
    let next = events[i + 1..]
        .iter()
        .find(|e| browser_get(e, Actor::Cognito, "/oauth2/authorize"));
    let Some(next) = next else {
        return Err(format!(
            "you logged out with {how} at {logged_out}; waiting for you to open {site}/v1/secrets again"
        ));
    };
    let to = location(next);
    let silent = to.contains("code=");
    let form = to.contains("/login");
    let seen = if silent {
        format!(
            "after you logged out with {how} at {logged_out}, Cognito sent your browser straight back with a code: signed in again without the form"
        )
    } else if form {
        format!(
            "after you logged out with {how} at {logged_out}, Cognito showed you the sign-in form"
        )
    } else {
        format!(
            "after you logged out with {how} at {logged_out}, /oauth2/authorize answered {}",
            next.status
        )
    };
    match then {
        "silent" if silent => Ok(seen),
        "form" if form => Ok(seen),
        _ => Err(seen),
    }
}

/// One of the learner's requests through the ALB, as the app logged it.
struct Logged {
    /// When the app answered, on the clock the tokens were verified against (Unix seconds).
    at: u64,
    path: String,
    status: u16,
    /// The ALB session cookie shards the answer expired.
    expired: Vec<String>,
    /// The `auth_time` of the access token the ALB forwarded, when it verifies here.
    auth_time: Option<u64>,
}

/// The learner's requests through the ALB in the app's log over the last hour, oldest first.
/// On an AWS account the app's log is all the guide can read of what the learner did: the
/// ALB's and Cognito's own exchanges are not there, but the app's `/logout` (which every
/// logout ends at), its `Set-Cookie` lines, and the tokens of the requests after it are.
async fn your_requests(t: &Target) -> Result<Vec<Logged>, String> {
    let mut seen = Vec::new();
    let mut log = HourOfLog::new(t)?;
    // What the learner did last may still be on its way, and any line can change the verdict:
    // never enough before the log has settled.
    while let Some(lines) = log.page(false).await? {
        for l in &lines {
            let Some(r) = RequestRecord::parse(l.message()) else {
                continue;
            };
            let ua = r.request_header("user-agent");
            if r.trace_id.is_none() || Client::from_user_agent(ua.as_deref()) != Client::Learner {
                continue;
            }
            let at = r
                .verified_at
                .unwrap_or_else(|| u64::try_from(l.timestamp_ms() / 1000).unwrap_or(0));
            let auth_time = match TokenEvent::from_line(l, &t.tokens).await {
                Some(e) => e
                    .access
                    .filter(|a| a.verdict.is_ok())
                    .and_then(|a| a.claims().get("auth_time").and_then(|v| v.as_u64())),
                None => None,
            };
            seen.push(Logged {
                at,
                path: r.path.clone().into_owned(),
                status: r.status,
                expired: expired_shards(
                    r.response_header_values("set-cookie")
                        .iter()
                        .map(String::as_str),
                    at,
                ),
                auth_time,
            });
        }
    }
    seen.sort_by_key(|r| r.at);
    Ok(seen)
}

/// [`your_logout`] from the app's log (an AWS account): the learner's newest `/logout`, then
/// the access token of their next request. Its `auth_time` is when they last entered a
/// password: from before the logout, Cognito signed them in again without the form.
async fn your_logout_logged(t: &Target, through: &str, then: &str) -> Res {
    let (site, group) = (t.render("{site}")?, t.render("{log_group}")?);
    let how = if through == "cognito" {
        "Cognito's /logout (the home page's Logout link)".to_owned()
    } else {
        format!("{site}/logout")
    };
    let requests = your_requests(t).await?;
    let Some(i) = requests.iter().rposition(|r| r.path == "/logout") else {
        return Err(format!(
            "waiting for you: sign in, then log out with {how}, then open {site}/v1/secrets again; the app's log ({group}) will show its /logout"
        ));
    };
    let logout = &requests[i];
    let logged_out = clock(logout.at);
    if then.is_empty() {
        return if logout.expired.is_empty() {
            Err(format!(
                "your /logout at {logged_out} was answered {} without expiring an AWSELBAuthSessionCookie shard (the app's log, {group})",
                logout.status
            ))
        } else {
            Ok(format!(
                "your /logout at {logged_out} expired {} (the app's log, {group}): the ALB now takes your browser for a new one",
                logout.expired.join(", ")
            ))
        };
    }
    let Some((next, auth_time)) = requests[i + 1..]
        .iter()
        .find_map(|r| r.auth_time.map(|a| (r, a)))
    else {
        return Err(format!(
            "you logged out at {logged_out} (the app's log shows its /logout); waiting for you to open {site}/v1/secrets again"
        ));
    };
    let silent = auth_time < logout.at;
    let seen = if silent {
        format!(
            "after your logout at {logged_out}, your request at {} carried an access token with auth_time {}, from before it: Cognito signed you in again without the form",
            clock(next.at),
            clock(auth_time)
        )
    } else {
        format!(
            "after your logout at {logged_out}, your request at {} carried an access token with auth_time {}: you signed in again with the sign-in form",
            clock(next.at),
            clock(auth_time)
        )
    };
    match then {
        "silent" if silent => Ok(seen),
        "form" if !silent => Ok(seen),
        "form" => Err(format!(
            "{seen}. Log out through {how} to end Cognito's session too"
        )),
        _ => Err(seen),
    }
}

/// The token (`data` or `access`) of the learner's newest request to `path` through the ALB,
/// as the app logged it: verified with this target's keys, holding `claims`.
pub(super) async fn your_token(
    t: &Target,
    user: &str,
    path: &str,
    token: &str,
    claims: &BTreeMap<String, String>,
) -> Res {
    let (site, group) = (t.render("{site}")?, t.render("{log_group}")?);
    let name = if token == "access" {
        "the access token"
    } else {
        "x-amzn-oidc-data"
    };
    // Tokens that do not verify here were signed by another lab or ALB: not this one's.
    let yours = newest(t, |e| {
        let seen = if token == "access" {
            &e.access
        } else {
            &e.data
        };
        let seen = seen.clone().filter(|s| s.verdict.is_ok())?;
        (through_the_alb_as(e, user) && e.path == path).then_some(seen)
    })
    .await?;
    let Some((e, seen)) = yours else {
        return Err(format!(
            "waiting for you: sign in as {user} and open {site}{path} in your browser; the app's log ({group}) will show the token it carried"
        ));
    };
    claims_match(&seen.claims(), claims, |v| t.render(v))
        .map_err(|why| format!("{name} of your request at {} has {why}", at(e.at_ms)))?;
    let shown: Vec<String> = claims
        .iter()
        .map(|(k, v)| format!("{k}={}", t.render(v).unwrap_or_else(|_| v.clone())))
        .collect();
    Ok(format!(
        "{name} of your request to {path} at {} verified in {group}{}{}",
        at(e.at_ms),
        if shown.is_empty() { "" } else { "; " },
        shown.join(", ")
    ))
}

/// What the lab's clock (or the wall clock's passing) did to the learner's own session, as the
/// lab's trace saw it. `what` is one of [`TIME_CHECKS`].
pub(super) async fn your_time(t: &Target, what: &str) -> Res {
    let site = t.render("{site}")?;
    let events = your_trace(t).await?;
    // The trace stamps exchanges with the wall clock, which the lab's may run ahead of: say so.
    let when = |e: &TraceEvent| {
        format!(
            "{} (wall clock)",
            at(i64::try_from(e.start_ms).unwrap_or(0))
        )
    };
    match what {
        "fresh_data_token" => {
            // The data tokens the ALB forwarded for the learner, oldest first: (exp, user).
            let tokens: Vec<(u64, String)> =
                events.iter().filter_map(forwarded_data_token).collect();
            // The newest token signed after an earlier one of the same user had expired.
            let renewed = tokens
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, (exp, user))| {
                    tokens[..i]
                        .iter()
                        .rev()
                        .find(|(old, who)| {
                            who == user && exp.saturating_sub(DATA_TOKEN_LIFE) >= *old
                        })
                        .map(|(old, _)| (*old, *exp, user))
                });
            match renewed {
                // In the tokens' own times, which are the lab's clock (signed `exp` - 120 s).
                Some((old, exp, user)) => Ok(format!(
                    "your data token (as {user}) signed at {} expired at {}; your next request after that carried a new one, signed at {} and expiring at {} (the lab's clock)",
                    clock(old.saturating_sub(DATA_TOKEN_LIFE)),
                    clock(old),
                    clock(exp.saturating_sub(DATA_TOKEN_LIFE)),
                    clock(exp)
                )),
                None if tokens.is_empty() => Err(format!(
                    "waiting for you: sign in at {site}/v1/secrets, move the lab's clock on 3 minutes (t then 3, or `cargo run --release -- lab clock +3m`), then open {site}/v1/secrets again"
                )),
                None => Err(format!(
                    "waiting for you: your data tokens are all still within their two minutes of each other; move the lab's clock on (t then 3, or `cargo run --release -- lab clock +3m`) and open {site}/v1/secrets again"
                )),
            }
        }
        "refresh" | "refresh_refused" => {
            let refused = what == "refresh_refused";
            let found = events.iter().rev().find(|e| {
                e.from == Actor::Alb
                    && e.to == Actor::Cognito
                    && e.exchange.as_ref().is_some_and(|x| {
                        x.path() == "/oauth2/token"
                            && x.request_body.as_ref().is_some_and(|b| {
                                cognito_learning_contract::trace::form_pairs(&b.text)
                                    .iter()
                                    .any(|(k, v)| k == "grant_type" && v == "refresh_token")
                            })
                    })
                    && (e.status >= 400) == refused
            });
            match (found, refused) {
                (Some(e), false) => Ok(format!(
                    "at {} the ALB found your access token expired and sent its refresh token to Cognito's /oauth2/token (grant_type=refresh_token), which answered {} with new tokens: no sign-in for you",
                    when(e),
                    e.status
                )),
                (Some(e), true) => Ok(format!(
                    "at {} the ALB tried to refresh your expired access token and Cognito refused ({}): the refresh token was revoked, so the ALB sent you to sign in",
                    when(e),
                    e.status
                )),
                (None, false) => Err(format!(
                    "waiting for you: sign in at {site}/v1/secrets, move the lab's clock on an hour (t then h, or `cargo run --release -- lab clock +1h`), then open {site}/v1/secrets again"
                )),
                (None, true) => Err(format!(
                    "waiting for you: sign in at {site}/v1/secrets, sign out everywhere (`aws cognito-idp admin-user-global-sign-out`), move the lab's clock on an hour (t then h), then open {site}/v1/secrets again"
                )),
            }
        }
        "hosted_ui_hour" => {
            let found = events.iter().rev().find(|e| {
                browser_get(e, Actor::Cognito, "/oauth2/authorize")
                    && e.exchange
                        .as_ref()
                        .is_some_and(|x| x.cookies_sent().any(|(k, _)| k == "cognito"))
                    && location(e).contains("/login")
            });
            match found {
                Some(e) => Ok(format!(
                    "at {} your browser still sent Cognito's cognito cookie, but its session had passed its hour: Cognito showed the sign-in form",
                    when(e)
                )),
                None => Err(format!(
                    "waiting for you: an hour (lab time) after your last sign-in, open {site}/logout and then {site}/v1/secrets: Cognito's own session has ended too"
                )),
            }
        }
        "session_timeout" => {
            let found = events.iter().rev().find(|e| {
                e.from == Actor::Browser
                    && e.to == Actor::Alb
                    && e.note
                        .starts_with(cognito_learning_contract::trace::alb_note::SESSION_TIMED_OUT)
            });
            match found {
                Some(e) => Ok(format!(
                    "at {} your session cookie was past the rule's SessionTimeout: the ALB sent you to sign in again ({})",
                    when(e),
                    location(e).split('?').next().unwrap_or_default()
                )),
                None => Err(format!(
                    "waiting for you: sign in at {site}/v1/secrets, move the lab's clock on past the session timeout (t then w: seven days), then open {site}/v1/secrets again"
                )),
            }
        }
        other => Err(format!(
            "unknown time check {other:?}: one of {}",
            TIME_CHECKS.join(", ")
        )),
    }
}

/// The `exp` and `username` of the data token the ALB forwarded in `e` to the app, if `e` is
/// such a request.
pub(super) fn forwarded_data_token(e: &TraceEvent) -> Option<(u64, String)> {
    if (e.from, e.to) != (Actor::Alb, Actor::App) {
        return None;
    }
    let raw = e
        .exchange
        .as_ref()?
        .request_header("x-amzn-oidc-data")
        .next()?;
    let jwt = cognito_learning_tokens::Jwt::parse(raw).ok()?;
    let exp = jwt.header.get("exp").and_then(serde_json::Value::as_u64)?;
    let user = jwt.claims.get("username").and_then(|u| u.as_str())?;
    Some((exp, user.to_owned()))
}

/// The `what` of a `your_time` check.
pub const TIME_CHECKS: [&str; 5] = [
    "fresh_data_token",
    "refresh",
    "hosted_ui_hour",
    "session_timeout",
    "refresh_refused",
];

/// The ALB's data token lives two minutes from its signing (the one captured `exp`).
const DATA_TOKEN_LIFE: u64 = 120;
