//! End to end in the local lab: a login through the ALB becomes token events that the log
//! follower delivers, verified, within a second; a lab restart loses and repeats nothing.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use cognito_learning::browser::{client, login};
use cognito_learning::stream::{Checks, Cursor, Follower, LogLine, TokenEvent, lab_client};
use cognito_learning_emulator::{Lab, LabInfo, LabOptions};

fn port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

async fn start(dir: &std::path::Path, ports: Option<&LabInfo>) -> Lab {
    start_checking(dir, ports, true).await
}

/// A lab whose API checks signatures or not. A restarted lab keeps its credentials
/// (`keys.json`); the ports are kept when `ports` names a lab.
async fn start_checking(dir: &std::path::Path, ports: Option<&LabInfo>, check: bool) -> Lab {
    let p = |f: fn(&LabInfo) -> &String| ports.map_or(0, |i| port(f(i)));
    Lab::start(LabOptions {
        alb_port: p(|i| &i.alb),
        cognito_port: p(|i| &i.cognito),
        api_port: p(|i| &i.aws),
        server_port: p(|i| &i.server),
        state_dir: dir.to_owned(),
        check_signatures: check,
        ..LabOptions::default()
    })
    .await
    .unwrap()
}

/// The same verifiers the guide builds for the lab.
fn checks(i: &LabInfo) -> std::sync::Arc<Checks> {
    cognito_learning::target::Target::local(i).tokens
}

fn follower_for(i: &LabInfo, cursor: Cursor) -> Follower {
    Follower::new(
        lab_client(
            &i.aws,
            &i.region,
            &i.aws_access_key_id,
            &i.aws_secret_access_key,
        ),
        "cognito-learning",
        cursor,
    )
}

/// Polls until a line for `path` with ALB headers shows up; the time it took.
async fn until_token_event(
    f: &mut Follower,
    checks: &Checks,
    path: &str,
    got: &mut Vec<LogLine>,
) -> (TokenEvent, Duration) {
    let t = Instant::now();
    loop {
        for line in f.poll().await.unwrap() {
            got.push(line.clone());
            if let Some(ev) = TokenEvent::from_line(&line, checks).await
                && ev.path == path
            {
                return (ev, t.elapsed());
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no token event for {path}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_reaches_the_stream_verified_and_a_restart_loses_nothing() {
    let dir = std::env::temp_dir().join(format!(
        "cl-stream-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = start(&dir, None).await;
    let info = lab.info.clone();
    let checks = checks(&info);
    let mut f = follower_for(
        &info,
        Cursor::from(cognito_learning_tokens::time::now_millis() as i64 - 1000),
    );
    let mut got = Vec::new();

    let http = client().unwrap();
    login(&http, &info.alb, "alice", "Passw0rd!").await.unwrap();
    let (ev, waited) = until_token_event(&mut f, &checks, "/v1/secrets", &mut got).await;
    assert!(
        waited < Duration::from_secs(1),
        "delivered {waited:?} after the request"
    );
    assert_eq!(ev.status, 200);
    let data = ev.data.unwrap();
    assert_eq!(data.verdict, Ok(()));
    assert_eq!(data.claims()["username"], "alice");
    assert_eq!(ev.access.unwrap().verdict, Ok(()));
    assert_eq!(ev.identity.as_deref(), data.claims()["sub"].as_str());

    // A restart: the logs are saved and reloaded; the credentials are kept.
    lab.stop().await;
    let lab = start(&dir, Some(&info)).await;
    assert_eq!(lab.info.aws_access_key_id, info.aws_access_key_id);
    f.set_client(lab_client(
        &lab.info.aws,
        &lab.info.region,
        &lab.info.aws_access_key_id,
        &lab.info.aws_secret_access_key,
    ));
    login(&http, &lab.info.alb, "alice", "Passw0rd!")
        .await
        .unwrap();
    let checks = self::checks(&lab.info);
    until_token_event(&mut f, &checks, "/v1/secrets", &mut got).await;
    // Drain what is left, then compare with what the store holds.
    tokio::time::sleep(Duration::from_millis(600)).await;
    got.extend(f.poll().await.unwrap());
    let ids: std::collections::HashSet<&String> = got.iter().map(|l| &l.event_id).collect();
    assert_eq!(ids.len(), got.len(), "no line delivered twice");
    let mut all = follower_for(&lab.info, Cursor::from(0));
    let stored = all.poll().await.unwrap();
    let expected: Vec<&String> = stored
        .iter()
        .filter(|l| {
            l.message.contains("\"event\":\"request\"")
                && got.first().is_some_and(|g| l.timestamp >= g.timestamp)
        })
        .map(|l| &l.event_id)
        .collect();
    let delivered: std::collections::HashSet<&String> = got
        .iter()
        .filter(|l| l.message.contains("\"event\":\"request\""))
        .map(|l| &l.event_id)
        .collect();
    for id in &expected {
        assert!(
            delivered.contains(id),
            "request line {id} was never delivered"
        );
    }
    // Only the last hop of a login reaches the app: one request line each.
    assert_eq!(expected.len(), 2, "{expected:?}");
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Asks the app for `/v1/public?mark` through the ALB and polls until that line arrives.
async fn mark(f: &mut Follower, alb: &str, mark: &str) {
    reqwest::get(format!("{alb}/v1/public?{mark}"))
        .await
        .unwrap();
    let t = Instant::now();
    loop {
        if f.poll()
            .await
            .unwrap()
            .iter()
            .any(|l| l.message.contains(&format!("\"query\":\"{mark}\"")))
        {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{mark} never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_explained_and_the_follower_resumes() {
    let dir = std::env::temp_dir().join(format!(
        "cl-stream-down-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = start(&dir, None).await;
    let info = lab.info.clone();
    let mut f = follower_for(
        &info,
        Cursor::from(cognito_learning_tokens::time::now_millis() as i64),
    );
    mark(&mut f, &info.alb, "before").await;
    lab.stop().await;
    let err = f.poll().await.unwrap_err();
    assert!(err.starts_with("cannot reach CloudWatch Logs"), "{err}");
    let lab = start(&dir, Some(&info)).await;
    // The restarted lab keeps its keys: the same follower resumes as it was.
    mark(&mut f, &lab.info.alb, "restarted").await;
    // Keys the lab does not know are refused, and said so; the right ones resume.
    f.set_client(lab_client(
        &lab.info.aws,
        &lab.info.region,
        "AKIANOTTHELABSKEY000",
        "not-the-secret",
    ));
    let stale = f.poll().await.unwrap_err();
    assert!(
        stale.contains("credentials were refused"),
        "keys the lab does not know: {stale}"
    );
    f.set_client(lab_client(
        &lab.info.aws,
        &lab.info.region,
        &lab.info.aws_access_key_id,
        &lab.info.aws_secret_access_key,
    ));
    mark(&mut f, &lab.info.alb, "after").await;
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_running_follower_reports_lines_then_the_outage() {
    let dir = std::env::temp_dir().join(format!(
        "cl-stream-run-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = start(&dir, None).await;
    let f = follower_for(
        &lab.info,
        Cursor::from(cognito_learning_tokens::time::now_millis() as i64),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(f.run(Duration::from_millis(100), tx));
    reqwest::get(format!("{}/v1/public?running", lab.info.alb))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .unwrap()
            .unwrap();
        // Until the app has created its log group, the follower says so and carries on.
        match msg {
            Ok(lines)
                if lines
                    .iter()
                    .any(|l| l.message.contains("\"query\":\"running\"")) =>
            {
                break;
            }
            Ok(_) => {}
            Err(status) => assert!(status.contains("does not exist yet"), "{status}"),
        }
    }
    lab.stop().await;
    let outage = loop {
        let msg = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .unwrap()
            .unwrap();
        if let Err(e) = msg {
            break e;
        }
    };
    assert!(
        outage.starts_with("cannot reach CloudWatch Logs"),
        "{outage}"
    );
    drop(rx);
    task.abort();
    let _ = std::fs::remove_dir_all(dir);
}

/// The follower on Live Tail: lines come from the lab's event stream, a token verifies, and when
/// the lab restarts the follower says so, catches up by polling and starts a new session,
/// repeating nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_tail_delivers_and_survives_a_restart_without_repeats() {
    let dir = std::env::temp_dir().join(format!(
        "cl-stream-tail-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = start_checking(&dir, None, false).await;
    let info = lab.info.clone();
    let checks = checks(&info);
    // The app creates its group when it starts; a session needs it.
    reqwest::get(format!("{}/v1/public?warm", info.alb))
        .await
        .unwrap();
    let f = follower_for(
        &info,
        Cursor::from(cognito_learning_tokens::time::now_millis() as i64),
    )
    .with_live_tail(true);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(f.run(Duration::from_millis(100), tx));
    let mut got: Vec<LogLine> = Vec::new();
    let mut statuses = Vec::new();
    let mut next = async |got: &mut Vec<LogLine>, statuses: &mut Vec<String>| {
        let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await else {
            panic!(
                "nothing from the follower for 15 s; statuses {statuses:?}, lines {:?}",
                got.iter().map(|l| &l.message).collect::<Vec<_>>()
            );
        };
        match msg {
            Ok(lines) => got.extend(lines),
            Err(s) => statuses.push(s),
        }
    };
    let browser = client().unwrap();
    login(&browser, &info.alb, "alice", "Passw0rd!")
        .await
        .unwrap();
    let token = loop {
        next(&mut got, &mut statuses).await;
        let mut found = None;
        for l in &got {
            if let Some(ev) = TokenEvent::from_line(l, &checks).await
                && ev.path == "/v1/secrets"
            {
                found = Some(ev);
            }
        }
        if let Some(ev) = found {
            break ev;
        }
    };
    assert_eq!(token.data.as_ref().unwrap().verdict, Ok(()));
    // Live Tail's lines carry no event ids: these came from the stream, not from polls.
    assert!(got.iter().all(|l| l.event_id.is_empty()));
    assert!(statuses.is_empty(), "{statuses:?}");

    lab.stop().await;
    let lab = start_checking(&dir, Some(&info), false).await;
    reqwest::get(format!("{}/v1/public?after-restart", info.alb))
        .await
        .unwrap();
    while !got
        .iter()
        .any(|l| l.message.contains("\"query\":\"after-restart\""))
    {
        next(&mut got, &mut statuses).await;
    }
    assert!(
        statuses.iter().any(|s| s.contains("Live Tail")),
        "{statuses:?}"
    );
    let requests: Vec<&String> = got
        .iter()
        .filter(|l| l.message.contains("\"event\":\"request\""))
        .map(|l| &l.message)
        .collect();
    let unique: std::collections::HashSet<&&String> = requests.iter().collect();
    assert_eq!(unique.len(), requests.len(), "a line came twice");
    task.abort();
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
