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

/// One complete login as `user` with a fresh cookie jar on a shared client; returns the jar.
pub async fn login(
    http: &reqwest::Client,
    alb: &str,
    cognito: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<Jar> {
    let mut jar = Jar::default();
    async fn go(
        jar: &mut Jar,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let req = match jar.header(url) {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await?;
        jar.store(url, &resp);
        Ok(resp)
    }
    let loc = |r: &reqwest::Response| -> anyhow::Result<String> {
        Ok(r.headers()
            .get("location")
            .context("no Location")?
            .to_str()?
            .to_owned())
    };
    let url = format!("{alb}/v1/secrets");
    let r = go(&mut jar, http.get(&url), &url).await?;
    let url = loc(&r)?;
    let r = go(&mut jar, http.get(&url), &url).await?;
    let url = loc(&r)?;
    let form = go(&mut jar, http.get(&url), &url).await?.text().await?;
    let attr = |m: &str| -> anyhow::Result<String> {
        let s = form.find(m).context("form field")? + m.len();
        Ok(form[s..s + form[s..].find('"').context("quote")?].replace("&amp;", "&"))
    };
    let (action, csrf) = (attr(r#"action=""#)?, attr(r#"name="_csrf" value=""#)?);
    let url = format!("{cognito}{action}");
    let post = http.post(&url).form(&[
        ("_csrf", csrf.as_str()),
        ("username", user),
        ("password", password),
    ]);
    let r = go(&mut jar, post, &url).await?;
    let url = loc(&r)?;
    let r = go(&mut jar, http.get(&url), &url).await?;
    let url = loc(&r)?;
    let r = go(&mut jar, http.get(&url), &url).await?;
    if r.status() != 200 {
        bail!("login ended with {}", r.status());
    }
    Ok(jar)
}
