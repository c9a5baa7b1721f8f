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
