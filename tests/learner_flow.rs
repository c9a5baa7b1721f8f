//! The checks that see the learner, against a real lab over loopback: the guide's own
//! demonstrations ("show me") never pass them; a learner's client (its own cookie jar and
//! User-Agent, as a browser or curl) does, sign-in, 403, both logouts and a forged header.
//! And the trace holds each whole exchange, secrets masked, marked with who made it.
#![allow(clippy::unwrap_used)]

use cognito_learning::checks::{self, Outcome};
use cognito_learning::lessons::{self, Check, Lesson, Track};
use cognito_learning::target::Target;
use cognito_learning_contract::trace::{Actor, Client, TracePage};
use cognito_learning_emulator::{Lab, LabOptions};

#[path = "fixtures/learner.rs"]
mod learner;
use learner::{get, own_browser as learner, sign_in_with as sign_in};

fn lessons() -> Vec<Lesson> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let (all, errors) = lessons::load(Some(&dir));
    assert!(errors.is_empty(), "{errors:?}");
    all
}

/// The checks of `lesson`'s step `step` (from 1) on the local track.
fn step_checks(all: &[Lesson], lesson: &str, step: usize) -> Vec<Check> {
    checks_on(all, lesson, step, Track::Local)
}

fn checks_on(all: &[Lesson], lesson: &str, step: usize, track: Track) -> Vec<Check> {
    let l = all.iter().find(|l| l.id.starts_with(lesson)).unwrap();
    l.steps[step - 1]
        .checks_on(track)
        .map(|(_, c)| c.clone())
        .collect()
}

async fn run(c: &Check, t: &Target) -> Outcome {
    checks::run(c, t).await
}

fn demo(c: &Check) -> Check {
    Check {
        kind: c.show_me.clone().expect("a learner check has a show_me"),
        ..c.clone()
    }
}

/// On an AWS account the guide has no trace: lesson 13's logout checks read the app's log
/// instead (its `/logout` with the `Set-Cookie` lines, then the `auth_time` of the next access
/// token). The lab plays the account here: its CloudWatch Logs and keys, without its trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_account_the_logout_checks_read_the_apps_log() {
    let dir = std::env::temp_dir().join(format!("cl-learner-cloud-{}", std::process::id()));
    let lab = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    let t = Target {
        track: Track::Cloud,
        lab: None,
        ..Target::local(&lab.info)
    };
    let all = lessons();
    let [cookie, trap, proper] = [1, 2, 3].map(|s| {
        checks_on(&all, "13", s, Track::Cloud)
            .into_iter()
            .find(|c| c.show_me.is_some())
            .unwrap()
    });
    let site = lab.info.alb.clone();
    let pw = t.password("alice").unwrap().to_owned();

    for c in [&cookie, &trap, &proper] {
        let shown = run(&demo(c), &t).await;
        assert!(shown.pass, "show me {}: {}", c.name, shown.detail);
        let o = run(c, &t).await;
        assert!(
            !o.pass && o.detail.starts_with("waiting for you"),
            "{} on the guide's traffic: {}",
            c.name,
            o.detail
        );
    }

    let alice = learner();
    assert_eq!(sign_in(&alice, &site, "alice", &pw).await, 200);
    // auth_time is in seconds: the logout comes in a later second than the sign-in.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    get(&alice, &format!("{site}/logout")).await;
    let o = run(&cookie, &t).await;
    assert!(
        o.pass && o.detail.contains("expired AWSELBAuthSessionCookie-0"),
        "{}",
        o.detail
    );
    let o = run(&trap, &t).await;
    assert!(
        !o.pass && o.detail.contains("waiting for you to open"),
        "{}",
        o.detail
    );
    let (status, _, _) = get(&alice, &format!("{site}/v1/secrets")).await;
    assert_eq!(status, 200, "signed straight back in");
    let o = run(&trap, &t).await;
    assert!(
        o.pass && o.detail.contains("without the form"),
        "{}",
        o.detail
    );
    let o = run(&proper, &t).await;
    assert!(
        !o.pass && o.detail.contains("Log out through Cognito's /logout"),
        "{}",
        o.detail
    );

    // The proper logout, then the form and the password again.
    let (cognito, client) = (lab.info.cognito.clone(), lab.info.client_id.clone());
    get(
        &alice,
        &format!("{cognito}/logout?client_id={client}&logout_uri={site}/logout"),
    )
    .await;
    let o = run(&proper, &t).await;
    assert!(
        !o.pass && o.detail.contains("waiting for you to open"),
        "{}",
        o.detail
    );
    assert_eq!(sign_in(&alice, &site, "alice", &pw).await, 200);
    let o = run(&proper, &t).await;
    assert!(
        o.pass && o.detail.contains("with the sign-in form"),
        "{}",
        o.detail
    );
    drop(lab);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_learners_own_traffic_passes_the_learner_checks() {
    let dir = std::env::temp_dir().join(format!("cl-learner-flow-{}", std::process::id()));
    let lab = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    let t = Target::local(&lab.info);
    let all = lessons();
    let site = lab.info.alb.clone();
    let pw = |u: &str| t.password(u).unwrap().to_owned();

    // The guide alone: its demonstrations work, and pass none of the learner's checks.
    let signed_in = step_checks(&all, "11", 2);
    let tokens = step_checks(&all, "11", 3);
    for c in signed_in.iter().chain(&tokens) {
        let shown = run(&demo(c), &t).await;
        assert!(shown.pass, "show me {}: {}", c.name, shown.detail);
        let o = run(c, &t).await;
        assert!(
            !o.pass,
            "{} passed on the guide's traffic: {}",
            c.name, o.detail
        );
        assert!(o.detail.starts_with("waiting for you"), "{}", o.detail);
    }

    // The learner signs in: lesson 11 passes, on their request.
    let alice = learner();
    assert_eq!(sign_in(&alice, &site, "alice", &pw("alice")).await, 200);
    for c in signed_in.iter().chain(&tokens) {
        let o = run(c, &t).await;
        assert!(o.pass, "{}: {}", c.name, o.detail);
    }

    // Bob's 403, his own.
    let bob_403 = step_checks(&all, "12", 1)
        .into_iter()
        .find(|c| c.name.contains("403"))
        .unwrap();
    assert!(!run(&bob_403, &t).await.pass);
    assert_eq!(sign_in(&learner(), &site, "bob", &pw("bob")).await, 403);
    let o = run(&bob_403, &t).await;
    assert!(o.pass, "{}", o.detail);
    // Bob's request is newer, but alice's group check reads alice's.
    let alices_group = step_checks(&all, "12", 1)
        .into_iter()
        .find(|c| c.name.contains("secret-readers"))
        .unwrap();
    let o = run(&alices_group, &t).await;
    assert!(o.pass, "{}", o.detail);

    // The trap: the app's /logout alone, then a silent sign-in.
    let cookie = &step_checks(&all, "13", 1)[0];
    let trap = &step_checks(&all, "13", 2)[0];
    let proper = &step_checks(&all, "13", 3)[0];
    assert!(!run(trap, &t).await.pass);
    get(&alice, &format!("{site}/logout")).await;
    let o = run(cookie, &t).await;
    assert!(
        o.pass && o.detail.contains("AWSELBAuthSessionCookie-0"),
        "{}",
        o.detail
    );
    let o = run(trap, &t).await;
    assert!(
        !o.pass && o.detail.contains("waiting for you to open"),
        "{}",
        o.detail
    );
    let (status, at, _) = get(&alice, &format!("{site}/v1/secrets")).await;
    assert_eq!((status, at.ends_with("/v1/secrets")), (200, true));
    let o = run(trap, &t).await;
    assert!(
        o.pass && o.detail.contains("without the form"),
        "{}",
        o.detail
    );
    assert!(!run(proper, &t).await.pass, "no Cognito logout yet");

    // The proper logout, through Cognito, ends at the form.
    let (cognito, client) = (lab.info.cognito.clone(), lab.info.client_id.clone());
    get(
        &alice,
        &format!("{cognito}/logout?client_id={client}&logout_uri={site}/logout"),
    )
    .await;
    let (_, _, page) = get(&alice, &format!("{site}/v1/secrets")).await;
    assert!(page.contains("name=\"_csrf\""), "the sign-in form");
    let o = run(proper, &t).await;
    assert!(o.pass && o.detail.contains("sign-in form"), "{}", o.detail);

    // A forged header, straight to the app.
    let forged = &step_checks(&all, "14", 1)[0];
    assert!(run(&demo(forged), &t).await.pass);
    assert!(
        !run(forged, &t).await.pass,
        "the guide's forgery does not count"
    );
    let r = learner()
        .get(format!("{}/v1/secrets", lab.info.server))
        .header("x-amzn-oidc-data", "forged.by.me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let o = run(forged, &t).await;
    assert!(
        o.pass && o.detail.contains("the app said: invalid"),
        "{}",
        o.detail
    );

    // The trace: who made what, and each exchange whole with its secrets masked.
    let page: TracePage = reqwest::get(lab.info.trace_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ev = &page.events;
    assert!(ev.iter().any(|e| e.client == Client::Guide));
    let text = serde_json::to_string(ev).unwrap();
    // (The lab's own sign-in page names the demo password; what was typed is never kept.)
    let typed: String = form_urlencoded::byte_serialize(pw("alice").as_bytes()).collect();
    for e in ev {
        let body = e.exchange.as_ref().and_then(|x| x.request_body.as_ref());
        assert!(
            !body.is_some_and(|b| b.text.contains(&typed)),
            "a typed password: {body:?}"
        );
    }
    assert!(
        !text.contains(&lab.info.client_secret),
        "the client secret in the trace"
    );
    let posted = ev
        .iter()
        .find(|e| e.client == Client::Learner && e.request == "POST /login")
        .unwrap();
    let ex = posted.exchange.as_ref().unwrap();
    let body = &ex.request_body.as_ref().unwrap().text;
    assert!(
        body.contains("username=alice") && body.contains("password=********"),
        "{body}"
    );
    assert!(
        ex.response_header("set-cookie")
            .any(|c| c.starts_with("cognito="))
    );
    assert!(posted.note.contains("sets cognito"), "{}", posted.note);
    let token = ev
        .iter()
        .find(|e| {
            e.back_channel && e.request == "POST /oauth2/token" && e.client == Client::Learner
        })
        .unwrap();
    let auth = token
        .exchange
        .as_ref()
        .unwrap()
        .request_header("authorization")
        .next()
        .unwrap();
    assert_eq!(auth, format!("Basic base64({client}:********)"));
    let logout = ev
        .iter()
        .find(|e| e.from == Actor::Browser && e.to == Actor::Cognito && e.request == "GET /logout")
        .unwrap();
    assert!(logout.note.contains("expires cognito"), "{}", logout.note);

    // `flow --har --mermaid` writes the same, masked, for the owner only.
    let (har, mmd) = (dir.join("flow.har"), dir.join("flow.mmd"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cognito-learning"))
        .args(["flow", "--learner-only", "--state-dir"])
        .arg(&dir)
        .arg("--har")
        .arg(&har)
        .arg("--mermaid")
        .arg(&mmd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&har).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&har).unwrap();
    assert!(!text.contains(&lab.info.client_secret));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = doc["log"]["entries"].as_array().unwrap();
    assert!(entries.len() > 20, "{}", entries.len());
    // Every field HAR 1.2 requires, in every entry.
    for e in entries {
        for k in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!e[k].is_null(), "{k} in {e}");
        }
        for k in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(!e["request"][k].is_null(), "request.{k} in {e}");
        }
        for k in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(!e["response"][k].is_null(), "response.{k} in {e}");
        }
        assert!(
            e["response"]["content"]["size"].is_number()
                && e["response"]["content"]["mimeType"].is_string()
        );
        assert!(
            !e["comment"].as_str().unwrap().contains("guide's own"),
            "--learner-only"
        );
    }
    let diagram = std::fs::read_to_string(&mmd).unwrap();
    assert!(
        diagram.starts_with("sequenceDiagram")
            && diagram.contains("Browser->>ALB: GET /v1/secrets")
    );
    // And tools nobody here wrote read them: a HAR 1.2 validator, the Mermaid CLI and
    // Chromium's DevTools.
    read_by_others(&har, &mmd, &dir);
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `har` passes har-validator's HAR 1.2 schema and Chromium's DevTools imports it, and `mmd`
/// renders to SVG with the Mermaid CLI (headless Chromium); the tools come from npm, installed
/// in `tests/js` by `scripts/test`.
fn read_by_others(har: &std::path::Path, mmd: &std::path::Path, dir: &std::path::Path) {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let mmdc = js.join("node_modules/.bin/mmdc");
    assert!(
        mmdc.exists(),
        "{} is missing: scripts/test installs it (npm ci --prefix tests/js)",
        mmdc.display()
    );
    let out = std::process::Command::new("node")
        .arg(js.join("validate-har.js"))
        .arg(har)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "har-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            let p = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .ok()?;
            p.status
                .success()
                .then(|| String::from_utf8_lossy(&p.stdout).trim().to_owned())
        })
        .expect("chromium: scripts/test installs it");
    let config = dir.join("puppeteer.json");
    std::fs::write(
        &config,
        serde_json::json!({"executablePath": chromium, "args": ["--no-sandbox", "--headless=new"]})
            .to_string(),
    )
    .unwrap();
    let svg = dir.join("flow.svg");
    let out = std::process::Command::new(&mmdc)
        .arg("-p")
        .arg(&config)
        .arg("-i")
        .arg(mmd)
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mmdc: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.starts_with("<svg") && drawn.contains("GET /v1/secrets"),
        "{}",
        &drawn[..drawn.len().min(300)]
    );

    // Chromium's own DevTools reads the HAR: its front end's importer, which the Network
    // panel's "Import HAR file" runs, makes a network request of every entry.
    let out = std::process::Command::new("node")
        .arg(js.join("devtools-har.js"))
        .arg(har)
        .arg(&chromium)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "DevTools: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(har).unwrap()).unwrap();
    assert_eq!(
        read["count"],
        entries["log"]["entries"].as_array().unwrap().len()
    );
    assert_eq!(
        read["method"],
        entries["log"]["entries"][0]["request"]["method"]
    );
    assert_eq!(
        read["status"],
        entries["log"]["entries"][0]["response"]["status"]
    );
}
