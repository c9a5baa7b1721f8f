//! Fills a running lab's log and trace, 16 requests at a time, at most PER_SECOND a second
//! (unpaced without it). For bench/tui.sh and bench/flow.sh.
//!
//!     fill_stream LAB_JSON [N] [PER_SECOND]          sign in as alice once, then N requests
//!                                                    to /v1/secrets with that session
//!     fill_stream LAB_JSON signins N [PER_SECOND]    N sign-ins, each with its own cookie jar
//!
//! Prints how many requests to /v1/secrets were answered 200 (a sign-in ends with one).

use std::time::Duration;

use cognito_learning::browser;
use tokio::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || anyhow::anyhow!("usage: fill_stream LAB_JSON [signins] [N] [PER_SECOND]");
    let file = args.first().ok_or_else(usage)?;
    let signins = args.get(1).is_some_and(|a| a == "signins");
    let rest = &args[1 + usize::from(signins)..];
    let n: usize = rest.first().map_or(Ok(10_000), |a| a.parse())?;
    let pace = match rest.get(1) {
        Some(r) => Some(Duration::from_secs_f64(1.0 / r.parse::<f64>()?)),
        None => None,
    };
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let alb = info["alb"].as_str().unwrap_or_default().to_owned();
    let http = browser::client()?;
    let (url, cookie) = if signins {
        (String::new(), String::new())
    } else {
        let jar = browser::login(&http, &alb, "alice", "Passw0rd!").await?;
        let url = format!("{alb}/v1/secrets");
        let cookie = jar.cookie_header(&browser::url(&url)?).unwrap_or_default();
        (url, cookie)
    };
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (http, alb, url, cookie) = (http.clone(), alb.clone(), url.clone(), cookie.clone());
        tasks.spawn(async move {
            let mut ok = 0usize;
            for i in (worker..n).step_by(16) {
                if let Some(p) = pace {
                    tokio::time::sleep_until(start + p * u32::try_from(i)?).await;
                }
                ok += usize::from(if signins {
                    browser::login(&http, &alb, "alice", "Passw0rd!")
                        .await
                        .is_ok()
                } else {
                    let r = http.get(&url).header("cookie", &cookie).send().await?;
                    r.status() == 200
                });
            }
            anyhow::Ok(ok)
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += r??;
    }
    // The first sign-in's own request to /v1/secrets is in the log too.
    println!("{}", ok + usize::from(!signins));
    Ok(())
}
