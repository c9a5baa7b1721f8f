//! Complete logins through the local lab, the way a browser does them: `/v1/secrets` → authorize
//! → the sign-in form → POST → `/oauth2/idpresponse` → `/v1/secrets` (six requests, two hosts,
//! a fresh cookie jar each time).
//!
//!   login_bench                       p50/p99 of one login, then logins per second (JSON line)
//!   login_bench cookie ALB COGNITO    log in once as alice and print the ALB session Cookie header
//!   login_bench logins ALB COGNITO N  N logins against a running lab, 16 at once; prints the count

use std::time::{Duration, Instant};

use anyhow::Context;
use cognito_learning::browser::{client, login, url};
use cognito_learning_emulator::{Lab, LabOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, alb, _cognito] = &args[..]
        && cmd == "cookie"
    {
        let http = client()?;
        let jar = login(&http, alb, "alice", "Passw0rd!").await?;
        let cookies = jar.cookie_header(&url(alb)?);
        println!("{}", cookies.context("no ALB cookies after login")?);
        return Ok(());
    }
    if let [cmd, alb, _cognito, n] = &args[..]
        && cmd == "logins"
    {
        let n: u64 = n.parse().context("N is a number of logins")?;
        let http = client()?;
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (alb, http, next) = (alb.clone(), http.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut ok = 0u64;
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    ok += u64::from(login(&http, &alb, "alice", "Passw0rd!").await.is_ok());
                }
                ok
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += t.await?;
        }
        println!("{ok}");
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("cl-login-bench-{}", std::process::id()));
    let lab = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await?;
    let alb = lab.info.alb.clone();
    let http = client()?;
    for _ in 0..20 {
        login(&http, &alb, "alice", "Passw0rd!").await?;
    }
    let mut times = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        login(&http, &alb, "alice", "Passw0rd!").await?;
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
        let (alb, http) = (alb.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run {
                if login(&http, &alb, "alice", "Passw0rd!").await.is_ok() {
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
