//! The learner's browser, as the checks drive it: one cookie jar (reqwest's, which keeps
//! Domain, Path, Secure and Expires as a browser does), URLs as [`Url`]s, redirects followed
//! one hop at a time so that each hop can be looked at, and the hosted UI's sign-in form filled
//! in. A login is `/v1/secrets` → authorize → the sign-in form → POST → `/oauth2/idpresponse`
//! → `/v1/secrets`, six requests over two hosts.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{COOKIE, HeaderValue, LOCATION, SET_COOKIE};
use reqwest::{Response, Url};

/// A client that follows no redirects, shared by every [`Browser`] and every check. Its
/// `User-Agent` marks its requests as the guide's, so that the lab's trace tells them from the
/// learner's.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
}

/// What the guide's requests say they are.
pub const USER_AGENT: &str = concat!(
    "cognito-learning-check/",
    env!("CARGO_PKG_VERSION"),
    " (the lab guide's own check)"
);

/// Parses `url`, saying which one did not parse.
pub fn url(s: &str) -> anyhow::Result<Url> {
    Url::parse(s).with_context(|| format!("{s:?} is not a URL"))
}

/// One browser: a client and a cookie jar of its own.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Browser")
    }
}

/// Where a page ended after its redirects were followed.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub status: u16,
    pub body: String,
}

impl Page {
    /// Whether this is Cognito's sign-in form.
    pub fn is_sign_in_form(&self) -> bool {
        self.body.contains(r#"name="_csrf""#)
    }
}

impl Browser {
    /// A browser with an empty jar on `http` (which must not follow redirects).
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            jar: Arc::new(Jar::default()),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `req` for `url` with the jar's cookies for it, and keeps what the answer sets.
    pub async fn send(&self, req: reqwest::RequestBuilder, url: &Url) -> anyhow::Result<Response> {
        let req = match self.jar.cookies(url) {
            Some(c) => req.header(COOKIE, c),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", origin(url)))?;
        let mut set = resp.headers().get_all(SET_COOKIE).iter();
        self.jar.set_cookies(&mut set, url);
        Ok(resp)
    }

    pub async fn get(&self, url: &Url) -> anyhow::Result<Response> {
        self.send(self.http.get(url.clone()), url).await
    }

    /// The Cookie header the jar would send to `url`.
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        let v: HeaderValue = self.jar.cookies(url)?;
        v.to_str().ok().map(str::to_owned)
    }

    /// The names of the cookies the jar would send to `url`.
    pub fn cookie_names(&self, url: &Url) -> Vec<String> {
        self.cookie_header(url)
            .map(|h| {
                h.split(';')
                    .filter_map(|c| c.trim().split_once('=').map(|(k, _)| k.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the jar holds a cookie for `url` whose name starts with `prefix`.
    pub fn has(&self, url: &Url, prefix: &str) -> bool {
        self.cookie_names(url).iter().any(|n| n.starts_with(prefix))
    }

    /// Opens `start` and follows redirects, at most 8 hops, to the first answer that is not one.
    pub async fn follow(&self, start: &Url) -> anyhow::Result<Page> {
        let mut url = start.clone();
        for _ in 0..8 {
            let r = self.get(&url).await?;
            let status = r.status().as_u16();
            if !(300..400).contains(&status) {
                let body = r.text().await.unwrap_or_default();
                return Ok(Page { url, status, body });
            }
            url = next(&url, &r)?;
        }
        bail!("more than 8 redirects from {start}")
    }

    /// Opens `path` on the site with this browser, signs in as `user` on the hosted UI's form,
    /// follows the redirects back and returns where it landed, whatever the status.
    pub async fn login_to(
        &self,
        site: &Url,
        user: &str,
        password: &str,
        path: &str,
    ) -> anyhow::Result<Page> {
        let (action, r) = self.submit_sign_in(site, user, password, path).await?;
        if r.status() == 200 {
            let page = r.text().await.unwrap_or_default();
            if page.contains(r#"name="challenge""#) {
                bail!(
                    "Cognito asks {user} to choose a new password (FORCE_CHANGE_PASSWORD): sign in once in a browser and choose one, or make the password permanent with admin-set-user-password --permanent"
                );
            }
            bail!("Cognito showed the sign-in form again: wrong user name or password for {user}");
        }
        let callback = next(&action, &r)?;
        let r = self.get(&callback).await?;
        let back = next(&callback, &r)?;
        let r = self.get(&back).await?;
        let status = r.status().as_u16();
        let body = r.text().await?;
        Ok(Page {
            url: back,
            status,
            body,
        })
    }

    /// Opens `path` on the site, follows it to the hosted UI's form and submits it as `user`:
    /// the form's URL and Cognito's answer (a redirect back, or a page such as the form again).
    pub async fn submit_sign_in(
        &self,
        site: &Url,
        user: &str,
        password: &str,
        path: &str,
    ) -> anyhow::Result<(Url, Response)> {
        let start = site.join(path)?;
        let r = self.get(&start).await?;
        let authorize = next(&start, &r)?;
        let r = self.get(&authorize).await?;
        let login = next(&authorize, &r)?;
        if login.path() == "/error" {
            let error = login
                .query_pairs()
                .find(|(k, _)| k == "error")
                .map_or_else(String::new, |(_, v)| v.into_owned());
            bail!(
                "Cognito sent the browser to its error page ({error}) instead of the sign-in form"
            );
        }
        // Cognito answered the ALB's request with an OAuth error, sent back to the ALB.
        if let Some((_, error)) = login.query_pairs().find(|(k, _)| k == "error") {
            let why = login
                .query_pairs()
                .find(|(k, _)| k == "error_description")
                .map_or_else(String::new, |(_, v)| format!(": {v}"));
            let status = self.get(&login).await?.status().as_u16();
            bail!(
                "Cognito sent the browser back to {} with error={error}{why}, and the ALB answered {status}",
                login.path()
            );
        }
        let form = self.get(&login).await?.text().await?;
        let (action, csrf) = sign_in_form(&form).with_context(|| format!("the page at {login}"))?;
        let action = login.join(&action)?;
        let post = self.http.post(action.clone()).form(&[
            ("_csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
        ]);
        let r = self.send(post, &action).await?;
        Ok((action, r))
    }

    /// A complete login as `user` that must end on a 200.
    pub async fn login(&self, site: &Url, user: &str, password: &str) -> anyhow::Result<()> {
        let landing = self.login_to(site, user, password, "/v1/secrets").await?;
        if landing.status != 200 {
            bail!("login ended with {}", landing.status);
        }
        Ok(())
    }
}

/// A complete login as `user` on `site` in a fresh browser on `http`, which it returns with
/// the session's cookies.
pub async fn login(
    http: &reqwest::Client,
    site: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<Browser> {
    let b = Browser::new(http.clone());
    b.login(&url(site)?, user, password).await?;
    Ok(b)
}

/// Where a redirect from `url` goes, resolved against it; an error names what answered instead.
pub fn next(url: &Url, r: &Response) -> anyhow::Result<Url> {
    let Some(loc) = r.headers().get(LOCATION) else {
        bail!(
            "{url} answered {} where a redirect was expected",
            r.status()
        );
    };
    let loc = loc.to_str().context("a Location that is not text")?;
    url.join(loc)
        .with_context(|| format!("{url} redirected to {loc:?}, which is not a URL"))
}

/// The sign-in form's `action` and `_csrf` value, unescaped.
fn sign_in_form(html: &str) -> anyhow::Result<(String, String)> {
    let attr = |m: &str| -> anyhow::Result<String> {
        let s = html.find(m).with_context(|| format!("no {m}"))? + m.len();
        let end = html[s..]
            .find('"')
            .context("an attribute without its quote")?;
        Ok(unescape(&html[s..s + end]))
    };
    Ok((attr(r#"action=""#)?, attr(r#"name="_csrf" value=""#)?))
}

/// Undoes the entities an HTML escape writes (`&#x27;` too, for pages other than the lab's).
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `scheme://host:port` of a URL, as a learner would type it.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_ipv6_hosts_and_ports() {
        let u = url("http://[::1]:8080/v1/x?y=1").unwrap();
        assert_eq!(origin(&u), "http://[::1]:8080");
        assert_eq!(u.host_str(), Some("[::1]"));
        assert_eq!(
            origin(&url("http://localhost:8080/a").unwrap()),
            "http://localhost:8080"
        );
    }

    #[test]
    fn the_sign_in_form_is_read_with_its_entities_undone() {
        let html = r#"<form action="/login?client_id=a&amp;state=b" method="post"><input type="hidden" name="_csrf" value="x&quot;y"></form>"#;
        let (action, csrf) = sign_in_form(html).unwrap();
        assert_eq!(action, "/login?client_id=a&state=b");
        assert_eq!(csrf, "x\"y");
        assert!(sign_in_form("<p>no form</p>").is_err());
    }

    #[test]
    fn the_jar_keeps_cookies_by_host_and_path_and_drops_expired_ones() {
        let b = Browser::new(client().unwrap());
        let alb = url("http://localhost:8080/oauth2/idpresponse").unwrap();
        let set = [
            HeaderValue::from_static("AWSELBAuthSessionCookie-0=abc; Path=/; HttpOnly"),
            HeaderValue::from_static("scoped=1; Path=/v1"),
            HeaderValue::from_static("gone=1; Path=/; Max-Age=0"),
        ];
        b.jar.set_cookies(&mut set.iter(), &alb);
        let root = url("http://localhost:8080/").unwrap();
        assert_eq!(b.cookie_names(&root), ["AWSELBAuthSessionCookie-0"]);
        let v1 = url("http://localhost:8080/v1/secrets").unwrap();
        assert!(b.has(&v1, "scoped") && b.has(&v1, "AWSELBAuthSessionCookie-"));
        // Another host never sees them, whatever the port: cookies do not separate ports.
        assert!(
            b.cookie_names(&url("http://127.0.0.1:8080/").unwrap())
                .is_empty()
        );
        assert!(b.has(
            &url("http://localhost:9229/").unwrap(),
            "AWSELBAuthSessionCookie-"
        ));
        let expire = [HeaderValue::from_static(
            "AWSELBAuthSessionCookie-0=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        )];
        b.jar.set_cookies(&mut expire.iter(), &root);
        assert!(!b.has(&root, "AWSELBAuthSessionCookie-"));
    }
}
