//! Fills a running lab's log with token-bearing requests: signs in as alice once, then sends
//! N requests to /v1/secrets with that session, 16 at a time. For bench/tui.sh.
//!
//!     cargo run --release --example fill_stream -- LAB_JSON_FILE [N]

use cognito_learning::browser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: fill_stream LAB_JSON [N]"))?;
    let n: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let alb = info["alb"].as_str().unwrap_or_default().to_owned();
    let http = browser::client()?;
    let jar = browser::login(&http, &alb, "alice", "Passw0rd!").await?;
    let url = format!("{alb}/v1/secrets");
    let cookie = jar.cookie_header(&browser::url(&url)?).unwrap_or_default();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (http, url, cookie) = (http.clone(), url.clone(), cookie.clone());
        tasks.spawn(async move {
            let mut ok = 0usize;
            for _ in (worker..n).step_by(16) {
                let r = http.get(&url).header("cookie", &cookie).send().await?;
                ok += usize::from(r.status() == 200);
            }
            anyhow::Ok(ok)
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += r??;
    }
    // The login's own request to /v1/secrets is in the log too.
    println!("{}", ok + 1);
    Ok(())
}
