//! Logging in as a browser does, for checks, benchmarks and tests: `/v1/secrets` → authorize →
//! the hosted UI's form → POST → `/oauth2/idpresponse` → `/v1/secrets`, with cookies kept per
//! host in a fresh jar. The client must not follow redirects (each hop is taken by hand).

use std::collections::HashMap;

use anyhow::{Context, bail};

/// A client for [`login`]: no automatic redirects.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Cookies by host, as a browser keeps them (enough for this flow: name, value, deletion).
#[derive(Debug, Default)]
pub struct Jar(HashMap<String, Vec<(String, String)>>);

impl Jar {
    /// The Cookie header this jar would send to `url`.
    pub fn header(&self, url: &str) -> Option<String> {
        let pairs = self.0.get(&host(url))?;
        (!pairs.is_empty()).then(|| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn store(&mut self, url: &str, resp: &reqwest::Response) {
        let jar = self.0.entry(host(url)).or_default();
        for c in resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
        {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            jar.retain(|(k, _)| k != name);
            // Only the attributes say whether a cookie is deleted; a value may hold any text.
            let gone = value.is_empty() || attrs.contains("Max-Age=0") || attrs.contains("1970");
            if !gone {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

fn host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Where a login ended: the answer to the page that started it, and the browser's cookies.
#[derive(Debug)]
pub struct Landing {
    pub jar: Jar,
    pub status: u16,
    pub body: String,
}

impl Jar {
    /// Sends `req` (for `url`) with this jar's cookies and keeps the cookies it sets.
    pub async fn fetch(
        &mut self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let req = match self.header(url) {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        self.store(url, &resp);
        Ok(resp)
    }

    /// Whether the jar holds a cookie for `url`'s host whose name starts with `prefix`.
    pub fn has(&self, url: &str, prefix: &str) -> bool {
        self.0
            .get(&host(url))
            .is_some_and(|pairs| pairs.iter().any(|(k, _)| k.starts_with(prefix)))
    }
}

/// The `Location` of a redirect, or an error naming what answered instead.
pub fn location(r: &reqwest::Response) -> anyhow::Result<String> {
    match r.headers().get("location") {
        Some(l) => Ok(l.to_str()?.to_owned()),
        None => bail!(
            "{} answered {} where a redirect was expected",
            r.url(),
            r.status()
        ),
    }
}

/// One complete login as `user` with a fresh cookie jar on a shared client; returns the jar.
/// Fails unless the login ends on a 200.
pub async fn login(
    http: &reqwest::Client,
    alb: &str,
    cognito: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<Jar> {
    let landing = login_to(http, alb, cognito, user, password, "/v1/secrets").await?;
    if landing.status != 200 {
        bail!("login ended with {}", landing.status);
    }
    Ok(landing.jar)
}

/// Opens `path` on the ALB with a fresh jar, signs in as `user` on the hosted UI's form, follows
/// the redirects back and returns where it landed, whatever the status.
pub async fn login_to(
    http: &reqwest::Client,
    alb: &str,
    cognito: &str,
    user: &str,
    password: &str,
    path: &str,
) -> anyhow::Result<Landing> {
    let mut jar = Jar::default();
    let url = format!("{alb}{path}");
    let r = jar.fetch(http.get(&url), &url).await?;
    let url = location(&r)?;
    let r = jar.fetch(http.get(&url), &url).await?;
    let url = location(&r)?;
    let form = jar.fetch(http.get(&url), &url).await?.text().await?;
    let attr = |m: &str| -> anyhow::Result<String> {
        let s = form
            .find(m)
            .with_context(|| format!("the sign-in page at {url} has no {m}"))?
            + m.len();
        Ok(form[s..s + form[s..].find('"').context("quote")?].replace("&amp;", "&"))
    };
    let (action, csrf) = (attr(r#"action=""#)?, attr(r#"name="_csrf" value=""#)?);
    let url = if action.starts_with("http") {
        action
    } else {
        format!("{cognito}{action}")
    };
    let post = http.post(&url).form(&[
        ("_csrf", csrf.as_str()),
        ("username", user),
        ("password", password),
    ]);
    let r = jar.fetch(post, &url).await?;
    if r.status() == 200 {
        bail!("Cognito showed the sign-in form again: wrong user name or password for {user}");
    }
    let url = location(&r)?;
    let r = jar.fetch(http.get(&url), &url).await?;
    let url = location(&r)?;
    let r = jar.fetch(http.get(&url), &url).await?;
    let status = r.status().as_u16();
    let body = r.text().await?;
    Ok(Landing { jar, status, body })
}
