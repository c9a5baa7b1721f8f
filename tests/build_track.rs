//! The build track as a learner does it: `cognito-learning lab --blank`, then the lessons'
//! commands (once with the AWS CLI, exactly as the lessons show them on a blank lab, and once
//! with boto3) from nothing to a login through the ALB, a 403 for the user outside the group,
//! the logout trap and the way out of it, the guide's checks passing on what was built, and
//! the deletes that leave nothing behind.
#![allow(clippy::unwrap_used)]

#[path = "fixtures/lab_process.rs"]
mod lab_process;
#[path = "fixtures/learner.rs"]
mod learner;

use std::path::{Path, PathBuf};
use std::process::Command;

use learner::{land, shell, sign_in};
use serde_json::Value;

/// A blank lab process, stopped however the test ends.
struct Running(std::process::Child, PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn blank_lab(name: &str) -> (Running, Value) {
    let dir = std::env::temp_dir().join(format!("cl-build-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (child, info) = lab_process::start_lab_with(&dir, &["--blank"]);
    (Running(child, dir), info)
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` and returns its last line of output, failing with its stderr.
fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// The shell blocks of the steps' notes for a blank lab (`build`), lesson by lesson in course
/// order, with the lab's values filled in: `(where, script)`.
fn build_blocks(state: &Path) -> Vec<(String, String)> {
    let info = cognito_learning_contract::lab::read_running(state).unwrap();
    let vars = cognito_learning::target::Target::local(&info).vars;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let (lessons, errors) = cognito_learning::lessons::load(Some(&dir));
    assert!(errors.is_empty(), "{errors:?}");
    let mut out = Vec::new();
    for lesson in &lessons {
        for step in &lesson.steps {
            let Some(text) = &step.build else { continue };
            let text = cognito_learning::lessons::render(text, &vars).unwrap();
            let mut open: Option<String> = None;
            for line in text.lines() {
                match (line.trim_start().strip_prefix("```"), &mut open) {
                    (Some(_), Some(body)) => {
                        out.push((format!("{} › {}", lesson.id, step.title), body.clone()));
                        open = None;
                    }
                    (Some(info), None) => open = (info.trim() == "sh").then(String::new),
                    (None, Some(body)) => {
                        body.push_str(line);
                        body.push('\n');
                    }
                    (None, None) => {}
                }
            }
        }
    }
    out
}

/// Runs the blocks in one shell after `lab env`, as a learner pastes them one after another:
/// the first command that fails stops it, and the test, with what it printed.
fn cli(state: &Path, blocks: &[(String, String)]) -> Command {
    // `aws` as the learner types it, whichever way pip installed the CLI.
    let mut script = String::from("set -euo pipefail; aws() { python3 -m awscli \"$@\"; }\n");
    for (at, block) in blocks {
        script.push_str(&format!("echo '# {}' >&2\n{block}", at.replace('\'', "")));
    }
    let mut c = shell(state, &script);
    // Files the learner writes (actions.json) go where the learner is.
    c.current_dir(state);
    c
}

/// `cognito-learning check --lesson N` against the lab in `state`: its exit status and report.
fn check(state: &Path, lesson: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cognito-learning"))
        .args(["check", "--lesson", lesson, "--lessons"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons"))
        .arg("--state-dir")
        .arg(state)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

fn boto3(info: &Value, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg(fixture("build_track.py"))
        .arg(info["aws"].as_str().unwrap())
        .args(args)
        .env(
            "AWS_ACCESS_KEY_ID",
            info["aws_access_key_id"].as_str().unwrap(),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            info["aws_secret_access_key"].as_str().unwrap(),
        )
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    c
}

/// What a learner checks in the browser once the build is done.
async fn the_built_lab_behaves(site: &str, cognito: &str) {
    // Before any sign-in, /v1/secrets goes to the learner's pool's hosted UI.
    let b = cognito_learning::browser::Browser::new(cognito_learning::browser::client().unwrap());
    let (status, url, _) = land(&b, &format!("{site}/v1/secrets")).await;
    assert_eq!(status, 200);
    assert!(url.starts_with(cognito), "the sign-in page: {url}");

    // alice is in secret-readers: she reads the secrets.
    let (alice, _, status, next) = sign_in(site, "alice", "Passw0rd!").await;
    assert_eq!(status, 302, "{next}");
    let (status, _, body) = land(&alice, &next).await;
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["caller"]["username"], "alice", "{body}");

    // bob is not: the app answers 403.
    let (bob, _, status, next) = sign_in(site, "bob", "Passw0rd!").await;
    assert_eq!(status, 302, "{next}");
    let (status, _, body) = land(&bob, &next).await;
    assert_eq!(status, 403, "{body}");

    // The trap: clearing only the ALB's cookie, Cognito's session signs alice in again with no
    // password.
    land(&alice, &format!("{site}/logout")).await;
    let (status, url, _) = land(&alice, &format!("{site}/v1/secrets")).await;
    assert_eq!(
        (status, url.starts_with(site)),
        (200, true),
        "silently back: {url}"
    );

    // The way out: Cognito's /logout too, with the sign-out URL the client registered.
    let (status, url, _) = land(&alice, &format!("{site}/")).await;
    assert_eq!((status, url.as_str()), (200, format!("{site}/").as_str()));
    let home = alice
        .follow(&cognito_learning::browser::url(&format!("{site}/")).unwrap())
        .await
        .unwrap();
    let href = home
        .body
        .split("id=\"logout\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let (status, url, _) = land(&alice, &href).await;
    assert_eq!(status, 200);
    assert!(url.starts_with(&format!("{site}/logout")), "{url}");
    let (status, url, body) = land(&alice, &format!("{site}/v1/secrets")).await;
    assert_eq!(status, 200);
    assert!(
        url.starts_with(cognito) && body.contains("password"),
        "signed out: the sign-in form again, not {url}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lessons_commands_build_a_blank_lab_into_a_working_login_and_tear_it_down() {
    let (lab, info) = blank_lab("cli");
    let state = lab.1.clone();
    let site = info["alb"].as_str().unwrap();
    let cognito = info["cognito"].as_str().unwrap();
    assert_eq!(info["blank"], true);
    assert_eq!(info["user_pool_id"], "");
    let nothing = reqwest::get(format!("{site}/v1/public")).await.unwrap();
    assert_eq!(nothing.status(), 503, "no listener yet");

    // Before the learner builds anything, the guide's checks fail, and say what is missing.
    let (passed, report) = check(&state, "5");
    assert!(!passed, "{report}");
    assert!(report.contains("forwards to no target group"), "{report}");
    let (passed, report) = check(&state, "9");
    assert!(!passed, "{report}");
    assert!(
        report.contains("no user pool with an app client yet"),
        "{report}"
    );

    let blocks = build_blocks(&state);
    let (build, teardown): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|(at, _)| !at.starts_with("16-"));
    let lessons: std::collections::BTreeSet<&str> = build
        .iter()
        .map(|(at, _)| at.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        lessons.into_iter().collect::<Vec<_>>(),
        [
            "05-through-the-alb",
            "08-dns-and-tls",
            "09-cognito",
            "10-the-alb-rule"
        ]
    );
    assert_eq!(teardown.len(), 1);
    let s = state.clone();
    tokio::task::spawn_blocking(move || run(cli(&s, &build)))
        .await
        .unwrap();

    // The lab now records what the learner built, for the guide and `check`.
    let built = cognito_learning_contract::lab::read_running(&state).unwrap();
    assert!(built.user_pool_id.starts_with("eu-west-1_"), "{built:?}");
    assert!(built.issuer.ends_with(&built.user_pool_id), "{built:?}");
    assert!(!built.client_secret.is_empty(), "{built:?}");
    let users: Vec<_> = built.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);

    the_built_lab_behaves(site, cognito).await;

    // The guide's checks pass on what the learner built, with the passwords they chose.
    for lesson in ["5", "8", "9", "10", "12", "13"] {
        let s = state.clone();
        let (passed, report) = tokio::task::spawn_blocking(move || check(&s, lesson))
            .await
            .unwrap();
        assert!(passed, "lesson {lesson}: {report}");
    }

    let s = state.clone();
    let last = tokio::task::spawn_blocking(move || run(cli(&s, &teardown)))
        .await
        .unwrap();
    assert_eq!(last, "503", "no listener left");
    let after = cognito_learning_contract::lab::read_running(&state).unwrap();
    assert_eq!(
        (after.user_pool_id.as_str(), after.users.len()),
        ("", 0),
        "the pool is gone from what the lab records: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_builds_a_blank_lab_into_a_working_login_and_tears_it_down() {
    let (_lab, info) = blank_lab("boto3");
    let site = info["alb"].as_str().unwrap().to_owned();
    let cognito = info["cognito"].as_str().unwrap();
    let i = info.clone();
    let s = site.clone();
    let ids = tokio::task::spawn_blocking(move || run(boto3(&i, &["build", &s])))
        .await
        .unwrap();

    the_built_lab_behaves(&site, cognito).await;

    let i = info.clone();
    let left = tokio::task::spawn_blocking(move || run(boto3(&i, &["teardown", &ids])))
        .await
        .unwrap();
    let left: Value = serde_json::from_str(&left).unwrap();
    assert_eq!(left, serde_json::json!({"target_groups": 0, "pools": 0}));
}
