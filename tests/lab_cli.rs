//! `cognito-learning lab --json` as scripts use it.
#![allow(clippy::unwrap_used)]

#[path = "fixtures/lab_process.rs"]
mod lab_process;

use lab_process::{signal, start_lab};

#[test]
fn lab_json_prints_what_a_script_needs_and_serves_it() {
    let dir = std::env::temp_dir().join(format!("cl-lab-cli-{}", std::process::id()));
    let (mut child, info) = start_lab(&dir);
    for key in [
        "alb",
        "cognito",
        "issuer",
        "client_id",
        "client_secret",
        "region",
        "alb_arn",
        "alb_key_url",
        "server",
        "users",
    ] {
        assert!(info.get(key).is_some(), "{key} missing from {info}");
    }
    assert!(
        info["alb"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:")
    );
    assert!(
        info["cognito"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(
        info["users"][0],
        serde_json::json!({"username": "alice", "groups": ["secret-readers"]})
    );
    // The ALB's key is served by kid, as a PEM, where alb_key_url says.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let issuer = info["issuer"].as_str().unwrap().to_owned();
    let jwks: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{issuer}/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let status = rt.block_on(async {
        reqwest::get(format!(
            "{}/not-a-kid",
            info["alb_key_url"].as_str().unwrap()
        ))
        .await
        .unwrap()
        .status()
    });
    assert_eq!(status, 404);
    signal(&child, "-INT");
    assert!(
        child.wait().unwrap().success(),
        "Ctrl-C stops the lab cleanly"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `eval "$(cognito-learning lab env)"` points the real AWS CLI (from PyPI) at a running lab,
/// whatever profile the learner had set; with no lab running it says how to start one.
#[test]
fn lab_env_points_the_aws_cli_at_the_running_lab() {
    let dir = std::env::temp_dir().join(format!("cl-lab-env-{}", std::process::id()));
    let bin = env!("CARGO_BIN_EXE_cognito-learning");
    let none = std::process::Command::new(bin)
        .args(["lab", "env", "--state-dir"])
        .arg(dir.join("nothing-here"))
        .output()
        .unwrap();
    assert!(!none.status.success());
    let said = String::from_utf8_lossy(&none.stderr);
    assert!(said.contains("no lab is running from"), "{said}");

    let (mut child, info) = start_lab(&dir);
    let script = format!(
        r#"set -e
aws() {{ python3 -m awscli "$@"; }}
eval "$('{bin}' lab env --state-dir '{}')"
aws logs describe-log-groups --query 'logGroups[].logGroupName' --output text
aws ssm describe-instance-information --query 'InstanceInformationList[].PingStatus' --output text
echo "$AWS_ENDPOINT_URL ${{AWS_PROFILE:-no-profile}}"
"#,
        dir.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("AWS_PROFILE", "a-profile-the-learner-had")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    signal(&child, "-TERM");
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0].trim(), "cognito-learning", "{stdout}");
    assert_eq!(lines[1].trim(), "Online", "{stdout}");
    assert_eq!(
        lines[2],
        format!("{} no-profile", info["aws"].as_str().unwrap())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
