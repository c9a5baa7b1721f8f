//! "Show me" for lesson 15: the guide signs in with its own browser, moves the lab's clock as
//! the learner would, and shows what the end of each lifetime does. Its traffic is marked as
//! the guide's, so it passes none of the learner's checks; the lab's clock stays moved.

use cognito_learning_contract::trace::Client;
use reqwest::header::{COOKIE, LOCATION};

use super::signin::{login, site};
use super::text::{Res, err};
use crate::io::clock::{ClockChange, change};
use crate::target::Target;

/// Moves the lab's clock on `secs`, for a demonstration.
async fn advance(t: &Target, secs: u64) -> Result<(), String> {
    let lab = t
        .lab
        .as_ref()
        .ok_or("time travel is the local lab's: on AWS the time has to pass")?;
    change(&t.http, lab, ClockChange::Advance(secs))
        .await
        .map(|_| ())
}

/// Opens `/v1/secrets` in `browser`; the `exp` of the data token the ALB forwarded for it, as
/// the lab's trace holds it (the guide's newest forwarded request).
async fn data_token_exp(t: &Target, browser: &crate::browser::Browser) -> Result<u64, String> {
    let url = site(t)?.join("/v1/secrets").map_err(|e| e.to_string())?;
    let page = browser.follow(&url).await.map_err(err)?;
    if page.status != 200 {
        return Err(format!("/v1/secrets answered {}", page.status));
    }
    let lab = t.lab.as_ref().ok_or("no local lab")?;
    let trace: cognito_learning_contract::trace::TracePage = t
        .http
        .get(lab.trace_url())
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    trace
        .events
        .iter()
        .rev()
        .filter(|e| e.client == Client::Guide)
        .find_map(|e| super::yours::forwarded_data_token(e).map(|(exp, _)| exp))
        .ok_or_else(|| "the lab's trace holds no data token the ALB forwarded for the guide".into())
}

pub(super) async fn show_time(t: &Target, what: &str) -> Res {
    let site_url = site(t)?;
    let secrets = site_url.join("/v1/secrets").map_err(|e| e.to_string())?;
    let note = "the lab's clock stays moved: t then 0 puts it back";
    match what {
        "fresh_data_token" => {
            let (b, _) = login(t, "alice", "/v1/secrets").await?;
            let before = data_token_exp(t, &b).await?;
            advance(t, 180).await?;
            let after = data_token_exp(t, &b).await?;
            if after < before + 120 {
                return Err(format!(
                    "after 3 minutes the data token's exp moved only from {before} to {after}"
                ));
            }
            Ok(format!(
                "the guide signed in, moved the lab's clock 3 min, and its next request carried a new data token (exp {} → {}); {note}",
                cognito_learning_tokens::time::clock(before),
                cognito_learning_tokens::time::clock(after)
            ))
        }
        "refresh" => {
            let (b, _) = login(t, "alice", "/v1/secrets").await?;
            advance(t, 3600).await?;
            let page = b.follow(&secrets).await.map_err(err)?;
            if page.status != 200 || page.is_sign_in_form() {
                return Err(format!(
                    "an hour on, /v1/secrets answered {} instead of refreshing",
                    page.status
                ));
            }
            Ok(format!(
                "the guide signed in, moved the lab's clock an hour, and its next request was answered 200 after the ALB's POST /oauth2/token (grant_type=refresh_token) in the Flow pane; {note}"
            ))
        }
        "hosted_ui_hour" => {
            let (b, _) = login(t, "alice", "/v1/secrets").await?;
            advance(t, 3601).await?;
            b.follow(&site_url.join("/logout").map_err(|e| e.to_string())?)
                .await
                .map_err(err)?;
            let page = b.follow(&secrets).await.map_err(err)?;
            if !page.is_sign_in_form() {
                return Err(
                    "an hour on, after /logout, Cognito signed the guide straight back in".into(),
                );
            }
            Ok(format!(
                "the guide signed in, moved the lab's clock an hour, opened /logout and then /v1/secrets: Cognito's session had ended, and it showed the form; {note}"
            ))
        }
        "session_timeout" => {
            let (b, _) = login(t, "alice", "/v1/secrets").await?;
            advance(t, 7 * 86_400 + 1).await?;
            let page = b.follow(&secrets).await.map_err(err)?;
            if !page.is_sign_in_form() {
                return Err(format!(
                    "a week on, /v1/secrets answered {} without a sign-in",
                    page.status
                ));
            }
            Ok(format!(
                "the guide signed in, moved the lab's clock a week, past the rule's SessionTimeout: the ALB sent it to sign in again; {note}"
            ))
        }
        "refresh_refused" => {
            // A copy of the session cookie taken before a proper logout, which in the lab also
            // revokes the session's refresh tokens, is refused at its next refresh.
            let (b, _) = login(t, "alice", "/v1/secrets").await?;
            let copy = b
                .cookie_header(&secrets)
                .ok_or("the guide's browser holds no session cookie")?;
            let (cognito, client) = (t.render("{cognito}")?, t.render("{client_id}")?);
            let logout = crate::browser::url(&format!(
                "{cognito}/logout?client_id={client}&logout_uri={site_url}logout"
            ))
            .map_err(err)?;
            b.follow(&logout).await.map_err(err)?;
            advance(t, 3600).await?;
            let r = t
                .http
                .get(secrets.clone())
                .header(COOKIE, copy)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let to = r
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if r.status() != 302 || !to.contains("/oauth2/authorize") {
                return Err(format!(
                    "the copied session cookie, an hour after the logout, was answered {}",
                    r.status()
                ));
            }
            Ok(format!(
                "the guide copied its session cookie, logged out through Cognito (which revoked the refresh token), moved the lab's clock an hour and sent the copy: the ALB's refresh was refused and it redirected to sign in; {note}"
            ))
        }
        other => Err(format!("unknown time demonstration {other:?}")),
    }
}
