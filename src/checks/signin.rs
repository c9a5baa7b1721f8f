//! Signing in as the learner's browser would, for the checks that need a session.

use reqwest::Url;

use super::text::{chain, err};
use crate::browser::{self, Browser, Page};
use crate::target::Target;

/// The site's URL.
pub(super) fn site(t: &Target) -> Result<Url, String> {
    let site = t.render("{site}")?;
    browser::url(&site).map_err(err)
}

/// Signs in as `user` in a fresh browser, from `path` on the site.
pub(super) async fn login(t: &Target, user: &str, path: &str) -> Result<(Browser, Page), String> {
    let site = site(t)?;
    let password = t.password(user)?;
    let browser = Browser::new(t.http.clone());
    let landing = browser
        .login_to(&site, user, password, path)
        .await
        .map_err(|e| format!("signing in as {user}: {}", chain(&e)))?;
    Ok((browser, landing))
}
