//! The lab as a process, treated roughly: SIGTERM and SIGHUP stop it as Ctrl-C does, `kill -9`
//! loses at most the last second of its CloudWatch logs, a second lab on the same state
//! directory refuses to start, an unusable state directory is named, and every file that holds
//! tokens is private.
#![allow(clippy::unwrap_used)]

#[path = "fixtures/lab_process.rs"]
mod lab_process;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use lab_process::{lab_command, signal, start_lab};
use serde_json::Value;

fn state_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cl-faults-{name}-{}", std::process::id()))
}

fn logs(info: &Value) -> Client {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(info["region"].as_str().unwrap().to_owned()))
        .endpoint_url(info["aws"].as_str().unwrap())
        .credentials_provider(Credentials::new(
            info["aws_access_key_id"].as_str().unwrap(),
            info["aws_secret_access_key"].as_str().unwrap(),
            None,
            None,
            "lab",
        ))
        .build();
    Client::from_conf(conf)
}

/// Puts one event into a group of its own; the group and stream are made first.
async fn put(c: &Client, group: &str, message: &str) {
    let _ = c.create_log_group().log_group_name(group).send().await;
    let _ = c
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name("s")
        .send()
        .await;
    let now = cognito_learning_tokens::time::now_millis() as i64;
    c.put_log_events()
        .log_group_name(group)
        .log_stream_name("s")
        .log_events(
            InputLogEvent::builder()
                .timestamp(now)
                .message(message)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn messages(c: &Client, group: &str) -> Vec<String> {
    match c.filter_log_events().log_group_name(group).send().await {
        Ok(out) => out
            .events()
            .iter()
            .filter_map(|e| e.message().map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "the lab did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_and_sighup_stop_the_lab_and_keep_its_logs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = state_dir("signals");
    for (sig, group) in [("-TERM", "after-term"), ("-HUP", "after-hup")] {
        let (mut child, info) = start_lab(&dir);
        rt.block_on(put(&logs(&info), group, sig));
        signal(&child, sig);
        let status = wait_exit(&mut child, Duration::from_secs(20));
        assert!(status.success(), "{sig}: {status}");
        assert!(
            !dir.join("running.json").exists(),
            "{sig} left running.json behind"
        );
    }
    let (mut child, info) = start_lab(&dir);
    let c = logs(&info);
    assert_eq!(rt.block_on(messages(&c, "after-term")), ["-TERM"]);
    assert_eq!(rt.block_on(messages(&c, "after-hup")), ["-HUP"]);
    signal(&child, "-TERM");
    wait_exit(&mut child, Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn kill_9_loses_at_most_the_last_second_of_cloudwatch_logs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = state_dir("kill9");
    let (mut child, info) = start_lab(&dir);
    let c = logs(&info);
    for i in 0..50 {
        rt.block_on(put(&c, "before-kill", &format!("line {i}")));
    }
    // A second after the last put, everything put is in the journal.
    std::thread::sleep(Duration::from_millis(1100));
    signal(&child, "-KILL");
    wait_exit(&mut child, Duration::from_secs(10));
    // The lock died with the process: a new lab starts on the same directory.
    let (mut child, info) = start_lab(&dir);
    let got = rt.block_on(messages(&logs(&info), "before-kill"));
    let want: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
    signal(&child, "-TERM");
    wait_exit(&mut child, Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_lab_on_the_same_state_directory_refuses_and_names_the_first() {
    let dir = state_dir("two");
    let (mut first, info) = start_lab(&dir);
    let running = std::fs::read_to_string(dir.join("running.json")).unwrap();
    let out = lab_command(&dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
    assert!(err.contains(info["alb"].as_str().unwrap()), "{err}");
    // The first lab's record is untouched.
    assert_eq!(
        std::fs::read_to_string(dir.join("running.json")).unwrap(),
        running
    );
    signal(&first, "-TERM");
    wait_exit(&mut first, Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unusable_state_directory_is_named_in_the_error() {
    // /proc takes no new directories, even from root.
    let dir = Path::new("/proc/cognito-learning-test/lab");
    let out = lab_command(dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/cognito-learning-test/lab"), "{err}");
    assert!(err.contains("--state-dir"), "{err}");
}

#[test]
fn files_that_hold_tokens_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = state_dir("modes");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory an older version left open is tightened.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut child, info) = start_lab(&dir);
    rt.block_on(async {
        reqwest::get(format!("{}/v1/public", info["alb"].as_str().unwrap()))
            .await
            .unwrap();
    });
    std::thread::sleep(Duration::from_millis(1100));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for f in [
        "keys.json",
        "running.json",
        "lab.lock",
        "server.log",
        "aws-logs.journal",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    signal(&child, "-TERM");
    wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(mode(&dir.join("aws-logs.json")), 0o600);
    let _ = std::fs::remove_dir_all(dir);
}
