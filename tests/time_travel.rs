//! Time travel on a real lab over loopback: `lab clock` moves the one clock the ALB, Cognito
//! and the app read, and lesson 15's checks each wait for, then pass on, what time did to the
//! learner's own session: a fresh data token, the ALB's silent refresh, Cognito's hour, the
//! session timeout, and a refresh refused after a global sign-out.
#![allow(clippy::unwrap_used)]

use cognito_learning::checks;
use cognito_learning::io::clock::{ClockChange, change};
use cognito_learning::lessons::{self, Check, Track};
use cognito_learning::target::Target;
use cognito_learning_contract::trace::{TracePage, alb_note};
use cognito_learning_emulator::{Lab, LabOptions};

#[path = "fixtures/learner.rs"]
mod learner;
use learner::{get, own_browser, sign_in_with};

fn time_checks() -> Vec<Check> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let (all, errors) = lessons::load(Some(&dir));
    assert!(errors.is_empty(), "{errors:?}");
    let l = all.iter().find(|l| l.id == "15-time").unwrap();
    l.steps
        .iter()
        .map(|s| s.checks_on(Track::Local).next().unwrap().1.clone())
        .collect()
}

/// A lab on free ports in a new state directory.
async fn fresh_lab(name: &str) -> (std::path::PathBuf, Lab) {
    let dir = std::env::temp_dir().join(format!("cl-time-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lab = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    (dir, lab)
}

async fn trace(lab: &Lab) -> TracePage {
    reqwest::get(lab.info.trace_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The newest data token the ALB forwarded for the learner.
async fn last_data_token(lab: &Lab) -> String {
    learner::last_data_token(&trace(lab).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_clock_moves_every_lifetime_and_the_time_lesson_sees_it() {
    let (dir, lab) = fresh_lab("travel").await;
    let t = Target::local(&lab.info);
    let http = reqwest::Client::new();
    let (site, app) = (lab.info.alb.clone(), lab.info.server.clone());
    let pw = t.password("alice").unwrap().to_owned();
    let [fresh, refresh, hour, timeout, refused]: [Check; 5] = time_checks().try_into().unwrap();
    let advance = |secs| change(&http, &lab.info, ClockChange::Advance(secs));

    for c in [&fresh, &refresh, &hour, &timeout, &refused] {
        let o = checks::run(c, &t).await;
        assert!(
            !o.pass && o.detail.starts_with("waiting for you"),
            "{}",
            o.detail
        );
    }

    // Two minutes: the old data token expires, the next request carries a new one.
    let b = own_browser();
    assert_eq!(sign_in_with(&b, &site, "alice", &pw).await, 200);
    let old = last_data_token(&lab).await;
    let o = checks::run(&fresh, &t).await;
    assert!(!o.pass, "{}", o.detail);
    let moved = advance(180).await.unwrap();
    assert_eq!(moved.offset, 180);
    assert_eq!(trace(&lab).await.clock_offset, 180);
    // The app reads the same clock: the old token, sent again, is now refused as expired.
    let replay = http
        .get(format!("{app}/v1/secrets"))
        .header("x-amzn-oidc-data", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let said = replay.text().await.unwrap();
    assert!(said.contains("expired"), "{said}");
    assert_eq!(get(&b, &format!("{site}/v1/secrets")).await.0, 200);
    assert_ne!(last_data_token(&lab).await, old);
    let o = checks::run(&fresh, &t).await;
    assert!(o.pass, "{}", o.detail);

    // An hour: the ALB refreshes through the back channel, and the learner sees no form.
    advance(3600).await.unwrap();
    let (status, at, _) = get(&b, &format!("{site}/v1/secrets")).await;
    assert_eq!((status, at.starts_with(&site)), (200, true), "{at}");
    let o = checks::run(&refresh, &t).await;
    assert!(o.pass, "{}", o.detail);
    let page = trace(&lab).await;
    assert!(
        page.events
            .iter()
            .any(|e| e.note.starts_with(alb_note::REFRESHED))
    );

    // Cognito's own session is past its hour too: the app's /logout alone ends at the form.
    get(&b, &format!("{site}/logout")).await;
    let (_, at, body) = get(&b, &format!("{site}/v1/secrets")).await;
    assert!(at.contains("/login") && body.contains("password"), "{at}");
    let o = checks::run(&hour, &t).await;
    assert!(o.pass, "{}", o.detail);

    // A week: the rule's SessionTimeout ends the ALB's session, refresh token or not.
    assert_eq!(sign_in_with(&b, &site, "alice", &pw).await, 200);
    assert!(!checks::run(&timeout, &t).await.pass);
    advance(7 * 86_400).await.unwrap();
    let (_, at, _) = get(&b, &format!("{site}/v1/secrets")).await;
    assert!(at.contains("/login"), "{at}");
    let o = checks::run(&timeout, &t).await;
    assert!(o.pass, "{}", o.detail);

    // A global sign-out: the session still opens until the access token's hour is over, then
    // the refresh is refused and the learner signs in again.
    assert_eq!(sign_in_with(&b, &site, "alice", &pw).await, 200);
    let pool = lab.info.user_pool_id.clone();
    learner::aws(
        &dir,
        &format!("cognito-idp admin-user-global-sign-out --user-pool-id {pool} --username alice"),
    )
    .unwrap();
    assert_eq!(get(&b, &format!("{site}/v1/secrets")).await.0, 200);
    assert!(!checks::run(&refused, &t).await.pass);
    advance(3600).await.unwrap();
    let (_, at, _) = get(&b, &format!("{site}/v1/secrets")).await;
    assert!(at.contains("/login"), "{at}");
    let o = checks::run(&refused, &t).await;
    assert!(o.pass, "{}", o.detail);

    // Reset: the wall clock again, kept in the state directory for the next start.
    assert_eq!(
        change(&http, &lab.info, ClockChange::Reset)
            .await
            .unwrap()
            .offset,
        0
    );
    let forbidden = http
        .post(lab.info.clock_url())
        .json(&serde_json::json!({"advance": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403, "no run header, no change");
    advance(120).await.unwrap();
    lab.stop().await;
    let again = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    let kept = change(&http, &again.info, ClockChange::Show).await.unwrap();
    assert_eq!(kept.offset, 120);
    again.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The guide's demonstrations ("show me") move the lab's clock and show each lifetime ending,
/// with its own browser: they pass, and none of the learner's time checks passes on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_time_demonstrations_pass_none_of_the_learners_checks() {
    let (dir, lab) = fresh_lab("demo").await;
    let t = Target::local(&lab.info);
    for c in time_checks() {
        let demo = Check {
            kind: c.show_me.clone().expect("a time check has a show_me"),
            ..c.clone()
        };
        let shown = checks::run(&demo, &t).await;
        assert!(shown.pass, "show me {}: {}", c.name, shown.detail);
        let o = checks::run(&c, &t).await;
        assert!(
            !o.pass,
            "{} passed on the guide's traffic: {}",
            c.name, o.detail
        );
    }
    let moved = change(&reqwest::Client::new(), &lab.info, ClockChange::Show)
        .await
        .unwrap();
    assert!(moved.offset > 7 * 86_400, "{moved:?}");
    lab.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
