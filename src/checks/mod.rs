//! Running one check against a [`Target`]: one small async function per [`Kind`], each under a
//! time limit, each ending in an [`Outcome`] that says what is true and, on failure, why.

use std::time::Duration;

use serde::Serialize;
use tokio::time::timeout;

mod diagnose;
mod logs;
mod oidc;
mod signin;
mod text;
mod time_demo;
mod yours;

pub use yours::TIME_CHECKS;

use crate::lessons::{Check, Kind};
use crate::resources;
use crate::target::Target;
use logs::token_in_logs;
use oidc::oidc;
use signin::{login, site};
use text::*;

/// No check takes longer than this; a login and a log poll fit easily.
pub const LIMIT: Duration = Duration::from_secs(20);
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub pass: bool,
    /// What was seen when it passed, or why it failed.
    pub detail: String,
}

impl Outcome {
    fn pass(detail: impl Into<String>) -> Self {
        Self {
            pass: true,
            detail: detail.into(),
        }
    }
    fn fail(detail: impl Into<String>) -> Self {
        Self {
            pass: false,
            detail: detail.into(),
        }
    }
}

use text::Res;

/// Runs `check`; never panics, never takes longer than [`LIMIT`] (and a few seconds more to
/// say why a sign-in failed).
pub async fn run(check: &Check, t: &Target) -> Outcome {
    let mut outcome = match timeout(LIMIT, run_kind(&check.kind, t)).await {
        Ok(Ok(seen)) => Outcome::pass(seen),
        Ok(Err(why)) => Outcome::fail(why),
        Err(_) => Outcome::fail(format!("no answer within {}s", LIMIT.as_secs())),
    };
    if !outcome.pass
        && let Some(logout) = signs_in(&check.kind)
        && let Ok(found) = timeout(DIAGNOSIS, diagnose::why(t, logout)).await
        && !found.is_empty()
    {
        outcome.detail = format!("{}. Why: {}", outcome.detail, found.join("; "));
    }
    outcome
}

/// Whether a check passes only on the learner's own traffic, and so waits for it.
pub fn waits_for_learner(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::YourSignIn { .. }
            | Kind::YourLogout { .. }
            | Kind::YourForgedHeader { .. }
            | Kind::YourTime { .. }
            | Kind::TokenInLogs { yours: true, .. }
    )
}

/// How long reading the app client back may take after a failed sign-in.
const DIAGNOSIS: Duration = Duration::from_secs(5);

/// Whether a check signs in through the ALB, and whether it also needs Cognito's /logout to
/// send the browser back (`Some(true)`).
fn signs_in(kind: &Kind) -> Option<bool> {
    match kind {
        Kind::Login { .. } | Kind::LogoutExpiresCookie { .. } | Kind::TokenInLogs { .. } => {
            Some(false)
        }
        Kind::SilentRelogin { logout, .. } => Some(logout.contains("/logout?")),
        _ => None,
    }
}

async fn run_kind(kind: &Kind, t: &Target) -> Res {
    match kind {
        Kind::Http {
            url,
            method,
            send,
            status,
            location,
            headers,
            body,
            sets_cookie,
        } => {
            let url = t.render(url)?;
            let m = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("{method} is not an HTTP method"))?;
            let mut req = t.http.request(m, &url);
            for (name, value) in send {
                req = req.header(name.as_str(), t.render(value)?);
            }
            let r = req.send().await.map_err(|e| unreachable(&url, &e))?;
            let got = r.status().as_u16();
            let mut seen = format!("{method} {} → {got}", path_of(&url));
            if let Some(want) = status
                && got != *want
            {
                return Err(format!("{seen}, expected {want}"));
            }
            if let Some(prefix) = location {
                let prefix = t.render(prefix)?;
                let loc = header(&r, "location");
                if !loc.starts_with(&prefix) {
                    return Err(format!(
                        "{seen} with Location {}, expected one starting {prefix}",
                        if loc.is_empty() { "(none)" } else { &loc }
                    ));
                }
                seen = format!("{seen} → {}", without_query(&loc));
            }
            for (name, want) in headers {
                let want = t.render(want)?;
                let v = header(&r, name);
                if !v.contains(&want) {
                    return Err(format!("{seen}: header {name} is {v:?}, expected {want:?}"));
                }
            }
            if let Some(prefix) = sets_cookie {
                let names = cookie_names(&r);
                if !names.iter().any(|n| n.starts_with(prefix.as_str())) {
                    return Err(format!(
                        "{seen}: no {prefix} cookie set (set: {})",
                        list(&names)
                    ));
                }
                seen = format!("{seen}, sets {prefix}");
            }
            if let Some(want) = body {
                let want = t.render(want)?;
                let text = r.text().await.map_err(|e| e.to_string())?;
                if !text.contains(&want) {
                    return Err(format!("{seen}: the body lacks {want:?}"));
                }
            }
            Ok(seen)
        }
        Kind::Login {
            user,
            path,
            status,
            body,
        } => {
            let (_, landing) = login(t, user, path).await?;
            let seen = format!("{user} signed in; {path} answered {}", landing.status);
            if landing.status != *status {
                return Err(format!("{seen}, expected {status}"));
            }
            if let Some(want) = body
                && !landing.body.contains(want.as_str())
            {
                return Err(format!("{seen}, but the page lacks {want:?}"));
            }
            Ok(seen)
        }
        Kind::LogoutExpiresCookie { user, path, cookie } => {
            let site = site(t)?;
            let (browser, _) = login(t, user, "/v1/secrets").await?;
            if !browser.has(&site, cookie) {
                return Err(format!(
                    "after signing in, the browser holds no {cookie} cookie"
                ));
            }
            // Expired is what the browser's jar no longer holds, whatever the attributes said.
            let before = browser.cookie_names(&site);
            let url = site.join(path).map_err(|e| format!("{path}: {e}"))?;
            let r = browser.get(&url).await.map_err(err)?;
            let after = browser.cookie_names(&site);
            let expired: Vec<String> = before.into_iter().filter(|n| !after.contains(n)).collect();
            if !expired.iter().any(|n| n.starts_with(cookie.as_str())) || browser.has(&site, cookie)
            {
                return Err(format!(
                    "GET {path} answered {} without expiring {cookie} (expired: {})",
                    r.status().as_u16(),
                    list(&expired)
                ));
            }
            let url = site.join("/v1/secrets").map_err(|e| e.to_string())?;
            let again = browser.get(&url).await.map_err(err)?;
            let loc = header(&again, "location");
            if again.status().as_u16() != 302 || !loc.contains("/oauth2/authorize") {
                return Err(format!(
                    "{path} expired {cookie}, but /v1/secrets then answered {} instead of sending the browser to Cognito",
                    again.status().as_u16()
                ));
            }
            Ok(format!(
                "{path} expired {}; /v1/secrets then redirects to /oauth2/authorize",
                list(&expired)
            ))
        }
        Kind::SilentRelogin {
            user,
            logout,
            silent,
        } => {
            let site = site(t)?;
            let logout = t.render(logout)?;
            let (browser, _) = login(t, user, "/v1/secrets").await?;
            // A full URL (Cognito's /logout) or a path on the site.
            let start = site.join(&logout).map_err(|e| format!("{logout}: {e}"))?;
            browser.follow(&start).await.map_err(err)?;
            let url = site.join("/v1/secrets").map_err(|e| e.to_string())?;
            let page = browser.follow(&url).await.map_err(err)?;
            let (status, form) = (page.status, page.is_sign_in_form());
            let was_silent = status == 200 && !form;
            let seen = if was_silent {
                format!("after {logout}, /v1/secrets signed {user} straight back in, no form")
            } else if form {
                format!("after {logout}, /v1/secrets showed Cognito's sign-in form")
            } else {
                format!("after {logout}, /v1/secrets ended on {status}")
            };
            if was_silent == *silent {
                Ok(seen)
            } else {
                Err(seen)
            }
        }
        Kind::TokenInLogs {
            user,
            path,
            token,
            claims,
            yours: true,
        } => yours::your_token(t, user, path, token, claims).await,
        Kind::TokenInLogs {
            user,
            path,
            token,
            claims,
            yours: false,
        } => token_in_logs(t, user, path, token, claims).await,
        Kind::YourSignIn { user, path, status } => {
            yours::your_sign_in(t, user, path, *status).await
        }
        Kind::YourLogout { through, then } => yours::your_logout(t, through, then).await,
        Kind::YourForgedHeader { path } => yours::your_forged_header(t, path).await,
        Kind::YourTime { what } => yours::your_time(t, what).await,
        Kind::ShowTime { what } => time_demo::show_time(t, what).await,
        Kind::SsmOnline { instance } => {
            let id = t.render(instance)?;
            crate::instance::online(&t.ssm, &id).await?;
            Ok(format!("{id} is managed by SSM and online"))
        }
        Kind::SsmCommand {
            instance,
            run,
            stdout,
        } => {
            let id = t.render(instance)?;
            let out = crate::instance::run(&t.ssm, &id, run, LIMIT / 2).await?;
            // Long commands are named by their start.
            let run = if run.chars().count() > 60 {
                format!("{}…", run.chars().take(59).collect::<String>())
            } else {
                run.clone()
            };
            let first = out.stdout.lines().next().unwrap_or_default().to_owned();
            if !out.success {
                return Err(format!(
                    "`{run}` failed on {id} with code {}: {}",
                    out.code,
                    out.stderr.trim()
                ));
            }
            match stdout {
                Some(want) if !out.stdout.contains(want.as_str()) => {
                    Err(format!("`{run}` printed {first:?}, expected {want:?}"))
                }
                _ => Ok(format!("`{run}` on {id}: {first}")),
            }
        }
        Kind::LogGroupExists { group } => {
            let group = t.render(group)?;
            let out = t
                .logs
                .describe_log_groups()
                .log_group_name_prefix(&group)
                .send()
                .await
                .map_err(|e| crate::aws::explain(&e, "CloudWatch Logs"))?;
            if out
                .log_groups()
                .iter()
                .any(|g| g.log_group_name() == Some(group.as_str()))
            {
                Ok(format!("log group {group} exists"))
            } else {
                Err(format!("there is no log group {group}"))
            }
        }
        Kind::DnsResolves {
            host,
            min_addresses,
        } => {
            let name = t.render(host)?;
            let mut addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 443))
                .await
                .map_err(|e| format!("{name} does not resolve: {e}"))?
                .map(|a| a.ip().to_string())
                .collect();
            addrs.sort();
            addrs.dedup();
            let seen = format!("{name} → {}", addrs.join(", "));
            if addrs.len() < *min_addresses {
                return Err(format!(
                    "{seen}: {} address(es), expected at least {min_addresses}",
                    addrs.len()
                ));
            }
            Ok(seen)
        }
        Kind::TlsCertificate { host } => {
            let name = t.render(host)?;
            let url = format!("https://{name}/");
            // reqwest checks the chain and the name with rustls; any HTTP answer means both held.
            let r = t.http.get(&url).send().await.map_err(|e| {
                let why = crate::aws::root_cause(&e).to_lowercase();
                format!("no valid TLS for {name}: {why}")
            })?;
            Ok(format!(
                "{name} presents a trusted certificate for its name (answered {})",
                r.status().as_u16()
            ))
        }
        Kind::OidcDiscovery { issuer } => oidc(t, &t.render(issuer)?).await,
        Kind::Network { vpc } => resources::network(account(t)?, &t.render(vpc)?).await,
        Kind::NatGateway { vpc } => resources::nat_gateway(account(t)?, &t.render(vpc)?).await,
        Kind::TargetsHealthy { alb_arn } => {
            resources::targets_healthy(lab_or_account(t)?, &t.render(alb_arn)?).await
        }
        Kind::Listeners { alb_arn } => {
            resources::listeners(lab_or_account(t)?, &t.render(alb_arn)?).await
        }
        Kind::AppClient {} => {
            lab_or_account(t)?;
            let (pool, client) = (t.render("{user_pool_id}")?, t.render("{client_id}")?);
            if pool.is_empty() || client.is_empty() {
                return Err("the lab serves no user pool with an app client yet: make them (create-user-pool, create-user-pool-domain, create-user-pool-client)".into());
            }
            let found = diagnose::app_client(t, None, true).await;
            if found.is_empty() {
                Ok(format!(
                    "DescribeUserPoolClient: {client} has a secret, the code grant, openid, COGNITO, the ALB's callback URL and the sign-out URL"
                ))
            } else {
                Err(found.join("; "))
            }
        }
        Kind::PipelineBuilds { pipeline } => {
            resources::pipeline_builds(account(t)?, &t.render(pipeline)?).await
        }
        Kind::Deployed { pipeline } => resources::deployed(account(t)?, &t.render(pipeline)?).await,
        Kind::Certificate { host } => {
            resources::certificate(lab_or_account(t)?, &t.render(host)?).await
        }
        Kind::HourlyCosts { vpc, none } => {
            resources::hourly_costs(account(t)?, &t.render(vpc)?, *none).await
        }
        Kind::Sound {} => {
            if t.account.is_none() {
                return Err("this check reads the load balancer and the app client, and there are no AWS credentials to read them with".into());
            }
            let found = diagnose::why(t, true).await;
            if found.is_empty() {
                Ok("DescribeRules and DescribeUserPoolClient show nothing in the ALB's way".into())
            } else {
                Err(found.join("; "))
            }
        }
        Kind::Unreachable { url } => {
            let url = t.render(url)?;
            match t.http.get(&url).send().await {
                Ok(r) => Err(format!(
                    "{} still answers ({}): something is still running",
                    origin(&url),
                    r.status().as_u16()
                )),
                Err(e) if e.is_connect() || e.is_timeout() => {
                    Ok(format!("nothing answers at {} any more", origin(&url)))
                }
                Err(e) => Err(format!("{url}: {}", error_chain(&e))),
            }
        }
    }
}

/// The services the lab serves too (ELBv2, ACM, Cognito): the learner's account on the cloud
/// track, the lab's control plane on the local one.
fn lab_or_account(t: &Target) -> Result<&crate::account::Account, String> {
    t.account
        .as_ref()
        .ok_or_else(|| "there are no AWS credentials to read the account with".into())
}

/// The account's services, for the resource checks of the cloud track.
fn account(t: &Target) -> Result<&crate::account::Account, String> {
    t.account
        .as_ref()
        .filter(|_| t.track == crate::lessons::Track::Cloud)
        .ok_or_else(|| {
            "the local lab has no AWS resources to read: this check is for the cloud track".into()
        })
}
