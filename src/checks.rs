//! Running one check against a [`Target`]: one small async function per [`Kind`], each under a
//! time limit, each ending in an [`Outcome`] that says what is true and, on failure, why.

use std::time::Duration;

use reqwest::Url;
use serde::Serialize;
use tokio::time::{Instant, timeout};

use crate::browser::{self, Browser, Page};
use crate::lessons::{Check, Kind};
use crate::resources;
use crate::stream::{Cursor, Follower, TokenEvent};
use crate::target::Target;

/// No check takes longer than this; a login and a log poll fit easily.
pub const LIMIT: Duration = Duration::from_secs(20);
/// How long a token may take to reach CloudWatch Logs and come back.
const LOG_WAIT: Duration = Duration::from_secs(8);

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

type Res = Result<String, String>;

/// Runs `check`; never panics, never takes longer than [`LIMIT`].
pub async fn run(check: &Check, t: &Target) -> Outcome {
    match timeout(LIMIT, run_kind(&check.kind, t)).await {
        Ok(Ok(seen)) => Outcome::pass(seen),
        Ok(Err(why)) => Outcome::fail(why),
        Err(_) => Outcome::fail(format!("no answer within {}s", LIMIT.as_secs())),
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
        } => token_in_logs(t, user, path, token, claims).await,
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
            resources::targets_healthy(account(t)?, &t.render(alb_arn)?).await
        }
        Kind::PipelineBuilds { pipeline } => {
            resources::pipeline_builds(account(t)?, &t.render(pipeline)?).await
        }
        Kind::Deployed { pipeline } => resources::deployed(account(t)?, &t.render(pipeline)?).await,
        Kind::Certificate { host } => resources::certificate(account(t)?, &t.render(host)?).await,
        Kind::HourlyCosts { vpc, none } => {
            resources::hourly_costs(account(t)?, &t.render(vpc)?, *none).await
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

/// The account's services, which only the cloud track has.
fn account(t: &Target) -> Result<&crate::account::Account, String> {
    t.account.as_ref().ok_or_else(|| {
        "the local lab has no AWS resources to read: this check is for the cloud track".into()
    })
}

/// The site's URL.
fn site(t: &Target) -> Result<Url, String> {
    let site = t.render("{site}")?;
    browser::url(&site).map_err(err)
}

/// Signs in as `user` in a fresh browser, from `path` on the site.
async fn login(t: &Target, user: &str, path: &str) -> Result<(Browser, Page), String> {
    let site = site(t)?;
    let password = t.password(user)?;
    let browser = Browser::new(t.http.clone());
    let landing = browser
        .login_to(&site, user, password, path)
        .await
        .map_err(|e| format!("signing in as {user}: {}", chain(&e)))?;
    Ok((browser, landing))
}

async fn token_in_logs(
    t: &Target,
    user: &str,
    path: &str,
    token: &str,
    claims: &std::collections::BTreeMap<String, String>,
) -> Res {
    let group = t.render("{log_group}")?;
    let from = i64::try_from(cognito_learning_tokens::time::now_millis()).unwrap_or(0) - 1000;
    let (_, landing) = login(t, user, path).await?;
    let mut follower = Follower::new(t.logs.clone(), group.clone(), Cursor::from(from));
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        for line in follower.poll().await? {
            let Some(ev) = TokenEvent::from_line(&line, &t.tokens).await else {
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
            let seen_claims = seen.claims();
            for (claim, want) in claims {
                let want = &t.render(want)?;
                let got = seen_claims.get(claim);
                let ok = match got {
                    Some(serde_json::Value::String(s)) => s == want,
                    Some(serde_json::Value::Array(a)) => a.iter().any(|v| v == want.as_str()),
                    Some(v) => want.parse::<serde_json::Value>().ok().as_ref() == Some(v),
                    None => false,
                };
                if !ok {
                    return Err(format!(
                        "{name} has {claim} = {}, expected {want:?}",
                        got.map_or("nothing".into(), ToString::to_string)
                    ));
                }
            }
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

async fn oidc(t: &Target, issuer: &str) -> Res {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: serde_json::Value = get_json(t, &url).await?;
    if doc["issuer"] != issuer {
        return Err(format!(
            "the discovery document names issuer {}, not {issuer}",
            doc["issuer"]
        ));
    }
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        if !doc[field].is_string() {
            return Err(format!("the discovery document has no {field}"));
        }
    }
    let jwks_uri = doc["jwks_uri"].as_str().unwrap_or_default();
    let jwks = get_json(t, jwks_uri).await?;
    let keys = jwks["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if keys.is_empty()
        || keys
            .iter()
            .any(|k| k["kty"] != "RSA" || k["alg"] != "RS256")
    {
        return Err(format!("{jwks_uri} does not list RS256 RSA keys"));
    }
    Ok(format!(
        "discovery names {issuer}; {} RS256 key(s) at {}",
        keys.len(),
        without_query(jwks_uri)
    ))
}

async fn get_json(t: &Target, url: &str) -> Result<serde_json::Value, String> {
    let r = t
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    if !r.status().is_success() {
        return Err(format!("GET {url} answered {}", r.status().as_u16()));
    }
    r.json()
        .await
        .map_err(|e| format!("{url} is not JSON: {e}"))
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of the cookies an answer sets.
fn cookie_names(r: &reqwest::Response) -> Vec<String> {
    r.cookies().map(|c| c.name().to_owned()).collect()
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// `scheme://host:port` of a URL (the text itself when it does not parse).
fn origin(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| browser::origin(&u))
}

/// The path and query of a URL.
fn path_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// A long URL cut to its origin and path.
fn without_query(url: &str) -> String {
    let cut = url.split('?').next().unwrap_or(url);
    if cut.len() < url.len() {
        format!("{cut}?…")
    } else {
        cut.to_owned()
    }
}

fn err(e: anyhow::Error) -> String {
    chain(&e)
}

fn chain(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s = format!("{s}: {text}");
        }
        src = inner.source();
    }
    s
}

fn unreachable(url: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("nothing answers at {} (timed out)", origin(url))
    } else if e.is_connect() {
        format!(
            "nothing answers at {} ({})",
            origin(url),
            crate::aws::root_cause(e).to_lowercase()
        )
    } else {
        format!("{url}: {}", error_chain(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            origin("http://localhost:8080/v1/x?y=1"),
            "http://localhost:8080"
        );
        assert_eq!(path_of("http://localhost:8080/v1/x"), "/v1/x");
        assert_eq!(origin("http://h"), "http://h");
        assert_eq!(origin("http://[::1]:8080/x"), "http://[::1]:8080");
        assert_eq!(without_query("http://h/a?b=c"), "http://h/a?…");
    }
}
