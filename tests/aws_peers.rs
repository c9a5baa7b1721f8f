//! The AWS clients run against two implementations of each API: the lab's stand-ins, and moto's
//! server mode (PyPI `moto[server]`, which this project did not write). CloudWatch Logs: one
//! scenario with the SDK and our log follower. SSM: our instance checks, for the calls moto
//! implements (it answers DescribeInstanceInformation with HTTP 500). Where they differ, the AWS
//! documentation decides and the difference is written down in the README.
#![allow(clippy::unwrap_used)]

#[path = "../server/tests/common/moto.rs"]
mod moto;

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use cognito_learning::stream::{Cursor, Follower, lab_client};
use cognito_learning_emulator::{Lab, LabOptions};
use moto::Moto;

async fn lab(name: &str) -> Lab {
    Lab::start(LabOptions {
        state_dir: std::env::temp_dir().join(format!(
            "{name}-{}",
            cognito_learning_emulator::state::uuid()
        )),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap()
}

/// The scenario: returns what was observed, for comparison.
async fn scenario(c: &Client, group: &str) -> Vec<String> {
    let mut seen = Vec::new();
    c.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let dup = c
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap_err();
    seen.push(format!("duplicate group: {}", dup.code().unwrap_or("?")));
    let missing = c
        .create_log_stream()
        .log_group_name("no-such-group")
        .log_stream_name("s")
        .send()
        .await
        .unwrap_err();
    seen.push(format!(
        "stream in missing group: {}",
        missing.code().unwrap_or("?")
    ));
    c.create_log_stream()
        .log_group_name(group)
        .log_stream_name("api")
        .send()
        .await
        .unwrap();
    let t = cognito_learning_tokens::time::now_millis() as i64 - 60_000;
    let events: Vec<InputLogEvent> = (0..25)
        .map(|i| {
            InputLogEvent::builder()
                .timestamp(t + i)
                .message(format!(
                    "line {i} {}",
                    if i % 2 == 0 { "even" } else { "odd" }
                ))
                .build()
                .unwrap()
        })
        .collect();
    c.put_log_events()
        .log_group_name(group)
        .log_stream_name("api")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    let unordered = c
        .put_log_events()
        .log_group_name(group)
        .log_stream_name("api")
        .log_events(
            InputLogEvent::builder()
                .timestamp(t + 100)
                .message("b")
                .build()
                .unwrap(),
        )
        .log_events(
            InputLogEvent::builder()
                .timestamp(t + 99)
                .message("a")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    seen.push(format!(
        "out of order batch: {}",
        unordered
            .err()
            .and_then(|e| e.code().map(str::to_owned))
            .unwrap_or_else(|| "accepted".into())
    ));

    // FilterLogEvents with a term, paged until no nextToken.
    let mut odd = 0;
    let mut token = None;
    loop {
        let p = c
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern("odd")
            .limit(5)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        odd += p.events().len();
        token = p.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    seen.push(format!("odd lines: {odd}"));

    // GetLogEvents from the head until the token repeats.
    let mut lines = 0;
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let p = c
            .get_log_events()
            .log_group_name(group)
            .log_stream_name("api")
            .start_from_head(true)
            .limit(10)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        lines += p.events().len();
        let next = p.next_forward_token().map(str::to_owned);
        if next == token {
            break;
        }
        token = next;
    }
    seen.push(format!("lines read from the head: {lines}"));

    // The follower: everything once, then nothing new.
    let mut f = Follower::new(c.clone(), group, Cursor::from(t));
    let first = f.poll().await.unwrap();
    let again = f.poll().await.unwrap();
    seen.push(format!("follower: {} then {}", first.len(), again.len()));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_and_moto_agree_on_the_scenario() {
    let lab = lab("cl-peers").await;
    let i = &lab.info;
    let ours = scenario(
        &lab_client(
            &i.aws,
            &i.region,
            &i.aws_access_key_id,
            &i.aws_secret_access_key,
        ),
        "peer-test",
    )
    .await;
    let moto = Moto::start();
    let theirs = scenario(
        &lab_client(&moto.1, "us-east-1", "testing", "testing"),
        "peer-test",
    )
    .await;
    let expected = [
        "duplicate group: ResourceAlreadyExistsException",
        "stream in missing group: ResourceNotFoundException",
        "out of order batch: InvalidParameterException",
        "odd lines: 12",
        "lines read from the head: 25",
        "follower: 25 then 0",
    ];
    assert_eq!(ours, expected, "the lab");
    assert_eq!(theirs, expected, "moto");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssm_commands_run_through_our_client_on_the_lab_and_on_moto() {
    use cognito_learning::instance;
    use cognito_learning_emulator::aws::ssm::INSTANCE_ID;
    let lab = lab("cl-peers-ssm").await;
    let i = &lab.info;
    let ours = instance::lab_client(
        &i.aws,
        &i.region,
        &i.aws_access_key_id,
        &i.aws_secret_access_key,
    );
    let moto = Moto::start();
    let theirs = instance::lab_client(&moto.1, "us-east-1", "testing", "testing");
    let command = "cat /etc/os-release";
    let a = instance::run(&ours, INSTANCE_ID, command, Duration::from_secs(10))
        .await
        .unwrap();
    let b = instance::run(&theirs, INSTANCE_ID, command, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        a.success && b.success,
        "both report the command as a success"
    );
    // moto records commands without running them; the lab answers from its instance.
    assert!(a.stdout.contains("Amazon Linux 2023"));
    assert_eq!(b.stdout, "");
    instance::online(&ours, INSTANCE_ID).await.unwrap();
    let err = instance::online(&theirs, INSTANCE_ID).await.unwrap_err();
    assert_eq!(
        err,
        "SSM answered HTTP 500 without an AWS error: does this endpoint implement the call?"
    );
    lab.stop().await;
}

/// moto does not serve StartLiveTail: a follower asked for Live Tail says so once and polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_falls_back_to_polling_where_live_tail_is_not_served() {
    let moto = Moto::start();
    let c = lab_client(&moto.1, "us-east-1", "testing", "testing");
    c.create_log_group()
        .log_group_name("tail-fallback")
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name("tail-fallback")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let t = cognito_learning_tokens::time::now_millis() as i64;
    c.put_log_events()
        .log_group_name("tail-fallback")
        .log_stream_name("s")
        .log_events(
            InputLogEvent::builder()
                .timestamp(t)
                .message("after the fallback")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let f = Follower::new(c, "tail-fallback", Cursor::from(t - 1000)).with_live_tail(true);
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let task = tokio::spawn(f.run(Duration::from_millis(100), tx));
    let first = tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let status = first.unwrap_err();
    assert!(status.starts_with("Live Tail unavailable"), "{status}");
    let lines = tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].message, "after the fallback");
    assert!(!lines[0].event_id.is_empty(), "a polled line has its id");
    task.abort();
}

/// Where moto (5.x) differs from what AWS documents, so the comparison below leaves it out.
/// Each is also listed in the README.
const MOTO_GAPS: &[(&str, &str)] = &[
    (
        "create_managed_login_branding",
        "moto answers HTTP 500: it has no managed-login branding",
    ),
    (
        "delete_user_pool (with a domain)",
        "moto deletes a pool that still has a domain; AWS refuses",
    ),
];

/// Keys moto puts in answers that AWS leaves out when they are not set (or, for
/// `CloudFrontDomain`, sends only for a custom domain).
const MOTO_EXTRA_KEYS: &[&str] = &[
    "Description",
    "MFAOptions",
    "PreferredMfaSetting",
    "UserMFASettingList",
    "CloudFrontDomain",
];

/// The course's Cognito build (lessons 9, 12, 13, 15) in boto3, once against the lab and once
/// against moto: every call the lab serves succeeds or fails alike, with the same error codes,
/// and the lab's answers carry every key moto's do.
#[tokio::test]
async fn the_cognito_build_runs_alike_on_the_lab_and_on_moto() {
    let lab = lab("cognito-peers").await;
    let (ours, theirs) = on_lab_and_moto(lab, "cognito_build.py", &[]).await;

    let calls = ours["calls"].as_object().unwrap();
    assert!(calls.len() >= 25, "{ours}");
    for (label, code) in [
        ("create_group (again)", "GroupExistsException"),
        ("describe_user_pool (unknown)", "ResourceNotFoundException"),
        (
            "delete_user_pool (with a domain)",
            "InvalidParameterException",
        ),
    ] {
        assert_eq!(calls[label]["error"], code, "{label}");
    }
    compare(calls, &theirs, MOTO_GAPS, MOTO_EXTRA_KEYS);
}

/// Runs a boto3 script of `tests/fixtures` against `endpoint` with these credentials, and reads
/// the JSON it prints.
fn boto3(
    script: &str,
    args: &[&str],
    endpoint: &str,
    key: &str,
    secret: &str,
) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg(format!(
            "{}/tests/fixtures/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{endpoint}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A boto3 script's record, run against `lab` (then stopped) and against a fresh moto.
async fn on_lab_and_moto(
    lab: Lab,
    script: &'static str,
    args: &'static [&'static str],
) -> (serde_json::Value, serde_json::Value) {
    let i = lab.info.clone();
    let ours = tokio::task::spawn_blocking(move || {
        boto3(
            script,
            args,
            &i.aws,
            &i.aws_access_key_id,
            &i.aws_secret_access_key,
        )
    })
    .await
    .unwrap();
    let moto = Moto::start();
    let endpoint = moto.1.clone();
    let theirs =
        tokio::task::spawn_blocking(move || boto3(script, args, &endpoint, "testing", "testing"))
            .await
            .unwrap();
    lab.stop().await;
    (ours, theirs)
}

/// Every call the lab answers alike with moto: succeeded or failed alike, with the same error
/// code, and every key of moto's answer (and of the object inside it) in the lab's, but for
/// the `gaps` (moto's own departures from AWS) and `extra` keys only moto writes.
fn compare(
    calls: &serde_json::Map<String, serde_json::Value>,
    theirs: &serde_json::Value,
    gaps: &[(&str, &str)],
    extra: &[&str],
) {
    for (label, call) in calls {
        if !label.contains('(') {
            assert_eq!(call["ok"], true, "the lab refused {label}: {call}");
        }
        if gaps.iter().any(|(g, _)| g == label) {
            continue;
        }
        let peer = &theirs["calls"][label];
        assert_eq!(call["ok"], peer["ok"], "{label}: lab {call}, moto {peer}");
        assert_eq!(call["error"], peer["error"], "{label}");
        let has = |v: &serde_json::Value, k: &str| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(k)))
        };
        for k in peer["keys"].as_array().into_iter().flatten() {
            let k = k.as_str().unwrap();
            assert!(
                has(&call["keys"], k) || extra.contains(&k),
                "{label}: moto answers with {k}, the lab does not: {call}"
            );
        }
        for (outer, keys) in peer["inner"].as_object().into_iter().flatten() {
            for k in keys.as_array().unwrap() {
                let k = k.as_str().unwrap();
                assert!(
                    has(&call["inner"][outer], k) || extra.contains(&k),
                    "{label}: moto's {outer} has {k}, the lab's does not: {call}"
                );
            }
        }
    }
}

/// Where moto's ELBv2 departs from AWS's model, and the lab follows AWS.
const ELB_MOTO_GAPS: &[(&str, &str)] = &[
    (
        "create_listener (same port)",
        "moto accepts a second listener on a port that has one; AWS answers DuplicateListener",
    ),
    (
        "delete_target_group",
        "moto's duplicate listener still forwards to the group, so moto says ResourceInUse",
    ),
];

/// Keys moto writes that AWS leaves out for an ALB's HTTP listener.
const ELB_MOTO_EXTRA_KEYS: &[&str] = &["AlpnPolicy", "SslPolicy"];

/// The load balancer's part of the build (lessons 5, 8, 10, 13, 15) in boto3, on a blank lab
/// and on moto (where the script first makes the network, instance and load balancer).
#[tokio::test]
async fn the_load_balancer_build_runs_alike_on_the_lab_and_on_moto() {
    let lab = Lab::start(LabOptions {
        state_dir: std::env::temp_dir().join(format!(
            "elb-peers-{}",
            cognito_learning_emulator::state::uuid()
        )),
        blank: true,
        ..LabOptions::any_ports()
    })
    .await
    .unwrap();
    let (ours, theirs) = on_lab_and_moto(lab, "build_track.py", &["peers"]).await;
    let calls = ours["calls"].as_object().unwrap();
    assert!(calls.len() >= 25, "{ours}");
    for (label, code) in [
        ("create_listener (same port)", "DuplicateListener"),
        ("create_rule (taken priority)", "PriorityInUse"),
        ("create_rule (no such listener)", "ListenerNotFound"),
        ("create_rule (no such target group)", "TargetGroupNotFound"),
        ("delete_target_group (in use)", "ResourceInUse"),
    ] {
        assert_eq!(calls[label]["error"], code, "{label}");
    }
    compare(calls, &theirs, ELB_MOTO_GAPS, ELB_MOTO_EXTRA_KEYS);
}
