//! The server binary as it is deployed: flags, environment, signals, and CloudWatch Logs through
//! the real AWS SDK (against moto's independent implementation of the API, and against nothing).
#![allow(clippy::unwrap_used)]

mod common;

use common::moto::Moto;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{log_lines, temp_log};

const BIN: &str = env!("CARGO_BIN_EXE_cognito-learning-server");

/// A server process with a clean AWS environment plus `env`.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn start(log: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--log-file",
            log.to_str().unwrap(),
        ])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("COGNITO_LEARNING_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in stderr.lines() {});
        Proc { child, url }
    }

    fn get(&self, path: &str) -> u16 {
        status_of(&format!("{}{path}", self.url))
    }

    /// SIGTERM, as systemd sends; the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

/// A plain blocking GET over a fresh connection: the status code.
fn status_of(url: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn wait_for(log: &Path, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::fs::read_to_string(log).is_ok_and(|t| t.contains(what)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn bad_configuration_fails_at_start_naming_the_setting() {
    let out = Command::new(BIN)
        .args(["--site-url", "ftp:/nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--site-url: \"ftp:/nowhere\""), "{err}");
    let out = Command::new(BIN)
        .args(["--cloudwatch", "maybe"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected on or off"));
}

#[test]
fn help_documents_every_setting() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--listen",
        "--site-url",
        "--cognito-domain",
        "--client-id",
        "--region",
        "--user-pool-id",
        "--cognito-issuer",
        "--alb-arn",
        "--alb-key-url",
        "--session-cookie",
        "--required-group",
        "--log-file",
        "--log-group",
        "--log-stream",
        "--cloudwatch",
        "--redact-tokens",
        "COGNITO_LEARNING_SITE_URL",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn without_aws_credentials_it_serves_says_so_once_and_stops_on_sigterm() {
    let log = temp_log("no-credentials");
    let p = Proc::start(&log, &["--region", "eu-west-1"], &[]);
    assert_eq!(p.get("/v1/public"), 200);
    assert!(
        wait_for(&log, "CloudWatch Logs off: no AWS credentials"),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(p.get("/"), 200);
    assert!(p.terminate().success());
    let lines = log_lines(&log);
    assert_eq!(lines.iter().filter(|l| l["event"] == "request").count(), 2);
    let offs = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("CloudWatch Logs off"))
        })
        .count();
    assert_eq!(offs, 1, "said once");
    assert_eq!(lines.last().unwrap()["message"], "stopped");
}

#[test]
fn an_unreachable_cloudwatch_never_stops_the_server() {
    let log = temp_log("unreachable");
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let p = Proc::start(
        &log,
        &["--region", "eu-west-1"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ],
    );
    for _ in 0..5 {
        assert_eq!(p.get("/v1/public"), 200);
    }
    assert!(wait_for(&log, "CloudWatch Logs unavailable"));
    let started = Instant::now();
    assert!(p.terminate().success());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown is bounded"
    );
    let lines = log_lines(&log);
    assert_eq!(
        lines.iter().filter(|l| l["event"] == "request").count(),
        5,
        "server.log keeps every event"
    );
}

#[tokio::test]
async fn every_request_reaches_cloudwatch_logs_through_the_sdk() {
    let moto = Moto::start();
    let log = temp_log("moto");
    let env = [
        ("AWS_ENDPOINT_URL", moto.1.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let p = Proc::start(
        &log,
        &[
            "--region",
            "us-east-1",
            "--log-group",
            "cl-test",
            "--log-stream",
            "api",
        ],
        &env,
    );
    for i in 0..40 {
        assert_eq!(p.get(&format!("/v1/public?n={i}")), 200);
    }
    assert!(
        p.terminate().success(),
        "SIGTERM flushes the queue and exits 0"
    );

    let creds =
        aws_sdk_cloudwatchlogs::config::Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .endpoint_url(&moto.1)
        .credentials_provider(creds)
        .build();
    let client = aws_sdk_cloudwatchlogs::Client::from_conf(conf);
    let mut messages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_log_events()
            .log_group_name("cl-test")
            .log_stream_name("api")
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        messages.extend(
            out.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned)),
        );
        let next = out.next_forward_token().map(str::to_owned);
        if next == token || out.events().is_empty() {
            break;
        }
        token = next;
    }
    let shipped: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    let queries: Vec<&str> = shipped
        .iter()
        .filter(|l| l["event"] == "request")
        .filter_map(|l| l["query"].as_str())
        .collect();
    let expected: Vec<String> = (0..40).map(|i| format!("n={i}")).collect();
    assert_eq!(queries, expected, "every request, in order");
    let local = log_lines(&log);
    assert_eq!(local.iter().filter(|l| l["event"] == "request").count(), 40);
}
