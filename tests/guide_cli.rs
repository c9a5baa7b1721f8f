#![allow(clippy::unwrap_used)]
//! `cognito-learning check` and `lessons` as a learner and CI run them: every lesson loads,
//! every local-track check passes against a real lab, and broken input says where and why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cognito_learning_emulator::{Lab, LabOptions};

#[path = "fixtures/account.rs"]
mod fixture;
#[path = "../server/tests/common/moto.rs"]
mod moto;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cognito-learning"))
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cl-guide-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A lab on free ports with its own state directory.
async fn lab(name: &str) -> (PathBuf, Lab) {
    let state = temp(name);
    let lab = Lab::start(LabOptions {
        state_dir: state.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    (state, lab)
}

fn lessons_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons"))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn every_local_check_of_every_lesson_passes_against_a_lab_started_for_it() {
    let state = temp("all");
    let listed = bin()
        .args(["lessons", "--json", "--lessons"])
        .arg(lessons_dir())
        .output()
        .unwrap();
    assert!(listed.status.success());
    let local: u64 = json(&listed)
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["checks"]["local"].as_u64().unwrap())
        .sum();
    assert!(local > 0);

    // Nobody has signed in: the checks that wait for the learner's own traffic say so, and
    // only they fail.
    let run = |show_me: bool| {
        let mut c = bin();
        c.args(["check", "--all", "--json", "--any-ports", "--lessons"])
            .arg(lessons_dir())
            .arg("--state-dir")
            .arg(&state);
        if show_me {
            c.arg("--show-me");
        }
        c.output().unwrap()
    };
    let out = run(false);
    let doc = json(&out);
    let waiting: Vec<_> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pass"] != true)
        .collect();
    assert!(waiting.len() >= 8, "{waiting:#?}");
    for r in &waiting {
        assert!(
            r["detail"].as_str().unwrap().starts_with("waiting for you"),
            "{r:#?}"
        );
    }
    assert_eq!(out.status.code(), Some(1));
    // With the guide doing the learner's part (`--show-me`), every one passes.
    let out = run(true);
    let doc = json(&out);
    let failed: Vec<_> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pass"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(doc["passed"], local, "every local check ran once");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !state.join("running.json").exists(),
        "the lab it started is stopped and its record removed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_uses_a_lab_that_is_already_running() {
    let (state, lab) = lab("attach").await;
    let out = tokio::task::spawn_blocking({
        let state = state.clone();
        move || {
            bin()
                .args([
                    "check",
                    "--lesson",
                    "5",
                    "--step",
                    "1",
                    "--json",
                    "--lessons",
                ])
                .arg(lessons_dir())
                .arg("--state-dir")
                .arg(&state)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc}");
    // The target's health from DescribeTargetHealth, then the two pages through the ALB.
    assert_eq!(doc["results"].as_array().unwrap().len(), 3);
    // The requests went through this lab's ALB.
    let seen = lab.trace.recent();
    assert!(
        seen.iter().any(|e| e.request == "GET /v1/public"),
        "{seen:?}"
    );
    lab.stop().await;
}

#[test]
fn a_broken_lesson_folder_is_reported_by_file_and_line() {
    let dir = temp("broken");
    std::fs::write(
        dir.join("01-bad.toml"),
        "format_version = 1\ntitle = \"t\"\n[[steps]]\ntitle = \"s\"\ntext = \"x\"\n[[steps.checks]]\nkind = \"http\"\nname = \"n\"\ncommand = \"curl\"\nurl = \"{site}/\"\nexpect = 200\n",
    )
    .unwrap();
    std::fs::write(dir.join("02-bad.toml"), "format_version = 1\ntitle = \n").unwrap();
    for args in [&["lessons"][..], &["check", "--all"][..]] {
        let out = bin()
            .args(args)
            .arg("--lessons")
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("01-bad.toml:6: check \"n\": unknown field `expect`"),
            "{err}"
        );
        assert!(err.contains("02-bad.toml:2:"), "{err}");
    }
}

#[test]
fn an_unknown_lesson_or_step_is_a_usage_error() {
    let out = bin()
        .args(["check", "--lesson", "99-nothing", "--lessons"])
        .arg(lessons_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there are: 01-architecture"));
    let out = bin()
        .args(["check", "--lesson", "5", "--step", "9", "--lessons"])
        .arg(lessons_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has steps 1 to 2"));
}

/// The cloud track's code (the standard credential chain, settings from the environment, the
/// Region's issuer and key URLs overridden) against the lab's stand-ins, as against an account.
/// The services the lab does not stand in for (EC2, Elastic Load Balancing, ACM and the
/// pipeline's) are moto's, holding the course's resources as `tests/fixtures/account.py` builds
/// them, and reached through the standard per-service endpoint variables.
#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_track_passes_against_the_lab_as_an_account() {
    let (_state, lab) = lab("cloud").await;
    let i = lab.info.clone();
    let moto = moto::Moto::start();
    fixture::build(
        &moto.1,
        &i.region,
        &["vpc", "nat", "app", "pipeline", "certificate"],
    );
    let others = moto.1.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = bin();
        for service in [
            "EC2",
            "ELASTIC_LOAD_BALANCING_V2",
            "ACM",
            "CODEPIPELINE",
            "CODEBUILD",
            "CODEDEPLOY",
        ] {
            cmd.env(format!("AWS_ENDPOINT_URL_{service}"), &others);
        }
        // The guide signs in itself where a check waits for the learner.
        cmd.args([
            "check",
            "--all",
            "--json",
            "--show-me",
            "--target",
            "aws",
            "--lessons",
        ])
        .arg(lessons_dir())
        .env("AWS_ACCESS_KEY_ID", &i.aws_access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &i.aws_secret_access_key)
        .env("AWS_REGION", &i.region)
        .env("AWS_ENDPOINT_URL", &i.aws)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("COGNITO_LEARNING_SITE", &i.alb)
        .env("COGNITO_LEARNING_ALB", &i.alb)
        .env("COGNITO_LEARNING_COGNITO_DOMAIN", &i.cognito)
        .env("COGNITO_LEARNING_USER_POOL_ID", &i.user_pool_id)
        .env("COGNITO_LEARNING_CLIENT_ID", &i.client_id)
        .env("COGNITO_LEARNING_ALB_ARN", &i.alb_arn)
        .env("COGNITO_LEARNING_ISSUER", &i.issuer)
        .env("COGNITO_LEARNING_ALB_KEYS_URL", &i.alb_key_url)
        .env(
            "COGNITO_LEARNING_INSTANCE",
            cognito_learning_emulator::aws::ssm::INSTANCE_ID,
        )
        .env("COGNITO_LEARNING_PASSWORD_ALICE", "Passw0rd!")
        .env("COGNITO_LEARNING_PASSWORD_BOB", "Passw0rd!")
        .output()
        .unwrap()
    })
    .await
    .unwrap();
    let doc = json(&out);
    // Some cloud checks need what only a real account has: a certificate for the site's name,
    // an HTTP listener on port 80 that redirects, and a site that has been torn down. Others
    // look in moto for what lives in the lab (its ALB), for what moto never finishes (a
    // deployment), or for a tear-down that has not happened. They run, and fail for the reason
    // they should.
    let expected = [
        (
            "05-through-the-alb",
            &*format!("there is no load balancer {}", lab.info.alb_arn),
        ),
        ("07-the-pipeline", "is Created, not finished"),
        (
            "08-dns-and-tls",
            "ACM holds no certificate for localhost in this Region",
        ),
        (
            "08-dns-and-tls",
            "no valid TLS for localhost: connection refused",
        ),
        ("08-dns-and-tls", "nothing answers at http://localhost ("),
        ("08-dns-and-tls", "LoadBalancerNotFound"),
        ("10-the-alb-rule", "LoadBalancerNotFound"),
        ("16-tear-down", "still answers (200)"),
        ("16-tear-down", "still billing in vpc-"),
        (
            "17-troubleshooting",
            "the load balancer's rules could not be read to say why: LoadBalancerNotFound",
        ),
    ];
    let failed: Vec<_> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pass"] != true)
        .collect();
    // The lab's ALB has one address where a real one has one per Availability Zone; whether
    // `localhost` also resolves to ::1 depends on the machine, so this one may pass or fail.
    let may_fail = [("05-through-the-alb", "expected at least 2")];
    for r in &failed {
        let known = expected.iter().chain(&may_fail).any(|(lesson, why)| {
            r["lesson"] == *lesson && r["detail"].as_str().unwrap().contains(why)
        });
        assert!(known, "unexpected failure: {r:#?}");
    }
    for (lesson, why) in expected {
        assert!(
            failed
                .iter()
                .any(|r| r["lesson"] == lesson && r["detail"].as_str().unwrap().contains(why)),
            "{lesson}: {why}: {failed:#?}"
        );
    }
    assert_eq!(doc["track"], "aws");
    assert!(doc["passed"].as_u64().unwrap() > 10);
    // Read from moto through the per-service endpoints: the network, the pipeline and the bill.
    for (lesson, seen) in [
        ("02-network", "route through it"),
        ("07-the-pipeline", "the latest build succeeded"),
        ("16-tear-down", "NAT gateway nat-"),
    ] {
        assert!(
            doc["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["lesson"] == lesson
                    && r["pass"] == true
                    && r["detail"].as_str().unwrap().contains(seen)),
            "{lesson}: {seen}"
        );
    }
    lab.stop().await;
}

#[test]
fn a_cloud_check_without_its_setting_says_which_to_give() {
    let out = bin()
        .args([
            "check",
            "--lesson",
            "5",
            "--step",
            "1",
            "--target",
            "aws",
            "--lessons",
        ])
        .arg(lessons_dir())
        .env_remove("COGNITO_LEARNING_SITE")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("{site} is not set: give it with its flag"),
        "{text}"
    );
}
