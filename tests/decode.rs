//! `cognito-learning decode` as a user runs it, on the real ALB token and on lab-signed tokens
//! whose keys are served over loopback.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use cognito_learning_tokens::sign::{KeyServer, RsaSigner};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cognito-learning");
const REAL_TOKEN: &str = include_str!("../tokens/tests/data/alb-real-token.txt");
const REAL_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tokens/tests/data/alb-real-key.pem"
);
const REAL_ARN: &str = "arn:aws:elasticloadbalancing:eu-central-1:197280958225:loadbalancer/app/ecs-with-cognito-lb/6284be65b827c598";

fn decode(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_real_alb_token_is_valid_before_its_expiry() {
    let token = REAL_TOKEN.trim();
    let (code, out, _) = decode(
        &[
            token,
            "--alb-key-file",
            REAL_KEY,
            "--alb-arn",
            REAL_ARN,
            "--now",
            "1687748000",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ALB user claims (x-amzn-oidc-data)"));
    assert!(out.contains("\"username\": \"duke\""));
    assert!(out.contains("exp       1687748045 (2023-06-26T02:54:05Z, 45 s left)"));
    assert!(out.contains(
        "verdict   ✓ valid: ES256 signature by key c2f80c8b-c05c-4068-af14-17299f7896b1, 45 s left"
    ));
    assert!(out.contains("note: issuer not checked"));
    assert!(!out.contains("signer not checked"));
}

#[test]
fn stdin_json_and_exit_codes_say_valid_or_not() {
    let token = REAL_TOKEN.trim();
    let (code, out, _) = decode(&["-", "--alb-key-file", REAL_KEY, "--json"], Some(token));
    assert_eq!(code, 1, "today the real token is long expired");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("expired 3 years ago")
    );
    assert_eq!(v["token"]["kind"], "alb-data");
    // One character of the signature changed: still a token, no longer a valid one.
    let mut forged = token.to_owned();
    let i = token.len() - 10;
    let c = if &token[i..=i] == "A" { "B" } else { "A" };
    forged.replace_range(i..=i, c);
    let (code, out, _) = decode(
        &[&forged, "--alb-key-file", REAL_KEY, "--now", "1687748000"],
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verdict   ✗"));
    let (code, _, err) = decode(&["not.a.token!"], None);
    assert_eq!(code, 2);
    assert!(err.contains("is not base64url"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cognito_tokens_are_verified_against_the_issuers_jwks() {
    let keys = KeyServer::default();
    let base = keys
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let signer = RsaSigner::generate("k1=").unwrap();
    keys.put_jwks("/pool", &[&signer]);
    let iss = format!("{base}/pool");
    let now = cognito_learning_tokens::time::now();
    let claims = json!({"sub":"s","iss":iss,"token_use":"access","client_id":"c","exp":now+600,"iat":now,"scope":"openid"});
    let token = signer.sign(claims.as_object().unwrap()).unwrap();
    let t = token.clone();
    // Verified as of the second the token was made: "10 min left" however long the run takes.
    let at = now.to_string();
    let (code, out, _) =
        tokio::task::spawn_blocking(move || decode(&[&t, "--client-id", "c", "--now", &at], None))
            .await
            .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Cognito access token"));
    assert!(out.contains(&format!(
        "RS256 signature by key k1= from {iss}/.well-known/jwks.json, 10 min left"
    )));
    let (code, out, _) =
        tokio::task::spawn_blocking(move || decode(&[&token, "--client-id", "other"], None))
            .await
            .unwrap();
    assert_eq!(code, 1);
    assert!(out.contains("✗ wrong client c, expected other"), "{out}");
}

#[path = "fixtures/lab_process.rs"]
mod lab_process;

/// A token the lab issued decodes with no flags: `decode` finds the running lab, fetches its
/// ALB key and checks the signer, issuer and client against it.
#[test]
fn a_lab_token_needs_no_flags_while_its_lab_runs() {
    let home = std::env::temp_dir().join(format!("cl-decode-lab-{}", std::process::id()));
    let state = home.join("cognito-learning/lab");
    let (mut child, info) = lab_process::start_lab(&state);
    // alice signs in through the lab, as lesson 10's demonstration does, so the app logs her
    // tokens.
    let check = Command::new(BIN)
        .args(["check", "--lesson", "10", "--show-me"])
        .env("XDG_STATE_HOME", &home)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let log = std::fs::read_to_string(state.join("server.log")).unwrap();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["path"] == "/v1/secrets" && l["alb"]["data"]["verdict"] == "valid")
        .expect("alice's request in server.log");
    for record in [&line["alb"]["data"], &line["alb"]["accesstoken"]] {
        // As of a minute before its expiry, so a slow machine cannot let the data token lapse.
        let at = (record["claims"]["exp"].as_u64().unwrap() - 60).to_string();
        let out = Command::new(BIN)
            .args(["decode", record["raw"].as_str().unwrap(), "--now", &at])
            .env("XDG_STATE_HOME", &home)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("✓ valid"), "{text}");
        assert!(
            text.contains("against the running local lab")
                && text.contains(info["alb_arn"].as_str().unwrap()),
            "{text}"
        );
        assert!(!text.contains("not checked"), "{text}");
    }
    // Another client's expectation still fails: the lab fills in only what was not given.
    let out = Command::new(BIN)
        .args([
            "decode",
            line["alb"]["accesstoken"]["raw"].as_str().unwrap(),
            "--client-id",
            "someone-else",
        ])
        .env("XDG_STATE_HOME", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    lab_process::signal(&child, "-TERM");
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&home);
}
