//! The lab's SigV4 check against botocore's own signer (AWS's Python SDK, which `scripts/test`
//! installs with moto): what the SDK signs passes; a skewed clock, another region, another
//! service's signing name or a wrong secret get AWS's error codes and messages.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

#[tokio::test]
async fn botocore_signed_requests_are_checked_as_aws_checks_them() {
    let (lab, dir) = common::lab("sigv4").await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sigv4_botocore.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("LAB_AWS", &lab.info.aws)
        .env("LAB_KEY", &lab.info.aws_access_key_id)
        .env("LAB_SECRET", &lab.info.aws_secret_access_key)
        .env("LAB_REGION", &lab.info.region)
        .output()
        .await
        .expect("python3 with boto3 (scripts/test installs it)");
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let is = |case: &str, code: &str, says: &str| {
        let c = &cases[case];
        assert_eq!(c["code"], code, "{case}: {c}");
        assert!(c["message"].as_str().unwrap().contains(says), "{case}: {c}");
    };
    is("logs", "ok", "");
    is("ssm", "ok", "");
    is("five_minutes_slow", "ok", "");
    is("signed_for_logs", "ok", "");
    is(
        "wrong_region",
        "InvalidSignatureException",
        "scoped to a valid region",
    );
    is(
        "wrong_secret",
        "InvalidSignatureException",
        "does not match",
    );
    is(
        "sixteen_minutes_slow",
        "InvalidSignatureException",
        "Signature expired",
    );
    is(
        "sixteen_minutes_fast",
        "InvalidSignatureException",
        "Signature not yet current",
    );
    is(
        "signed_for_ssm",
        "InvalidSignatureException",
        "correct service: 'logs'",
    );
}
