//! Complete logins through the local lab, the way a browser does them: `/v1/secrets` → authorize
//! → the sign-in form → POST → `/oauth2/idpresponse` → `/v1/secrets` (six requests, two hosts,
//! a fresh cookie jar each time).
//!
//!   login_bench                       p50/p99 of one login, then logins per second (JSON line)
//!   login_bench cookie ALB COGNITO    log in once as alice and print the ALB session Cookie header

use std::time::{Duration, Instant};

use std::collections::HashMap;

use anyhow::{Context, bail};
use cognito_learning_emulator::{Lab, LabOptions};

/// Cookies by host, as a browser keeps them (enough for this flow: name, value, deletion).
#[derive(Default)]
struct Jar(HashMap<String, Vec<(String, String)>>);

impl Jar {
    fn header(&self, url: &str) -> Option<String> {
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

/// One complete login with a fresh cookie jar on a shared client; returns the jar.
async fn login(
    http: &reqwest::Client,
    alb: &str,
    cognito: &str,
    user: &str,
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
        ("password", "Passw0rd!"),
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

fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, alb, cognito] = &args[..]
        && cmd == "cookie"
    {
        let http = client()?;
        let jar = login(&http, alb, cognito, "alice").await?;
        println!("{}", jar.header(alb).context("no ALB cookies after login")?);
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("cl-login-bench-{}", std::process::id()));
    let lab = Lab::start(LabOptions {
        alb_port: 0,
        cognito_port: 0,
        api_port: 0,
        server_port: 0,
        state_dir: dir.clone(),
        ..LabOptions::default()
    })
    .await?;
    let (alb, cognito) = (lab.info.alb.clone(), lab.info.cognito.clone());
    let http = client()?;
    for _ in 0..20 {
        login(&http, &alb, &cognito, "alice").await?;
    }
    let mut times = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        login(&http, &alb, &cognito, "alice").await?;
        times.push(t.elapsed());
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
    let (p50, p99) = (p(0.5), p(0.99));
    let workers = 16;
    let run = Duration::from_secs(5);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (alb, cognito, http) = (alb.clone(), cognito.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run {
                if login(&http, &alb, &cognito, "alice").await.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    println!(
        "{{\"login_p50_ms\":{p50:.2},\"login_p99_ms\":{p99:.2},\"logins_per_s\":{rate:.0},\"workers\":{workers}}}"
    );
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
