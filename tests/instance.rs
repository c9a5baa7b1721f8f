//! The SSM checks against the lab's instance, and the sentences a learner gets when they fail.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use cognito_learning::instance::{lab_client, online, run};
use cognito_learning_emulator::aws::ssm::INSTANCE_ID;
use cognito_learning_emulator::{Lab, LabOptions};

async fn lab(upstream: Option<String>) -> Lab {
    Lab::start(LabOptions {
        upstream,
        state_dir: std::env::temp_dir().join(format!(
            "cl-inst-{}",
            cognito_learning_emulator::state::uuid()
        )),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn instance_checks_pass_and_fail_with_reasons() {
    let up = lab(None).await;
    let i = &up.info;
    let c = lab_client(
        &i.aws,
        &i.region,
        &i.aws_access_key_id,
        &i.aws_secret_access_key,
    );
    online(&c, INSTANCE_ID).await.unwrap();
    let out = run(
        &c,
        INSTANCE_ID,
        "curl -s -o /dev/null -w %{http_code} https://aws.amazon.com",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(out.success && out.stdout == "200");
    let err = online(&c, "i-0123456789abcdef0").await.unwrap_err();
    assert!(
        err.contains("is not managed by SSM: check that its role has AmazonSSMManagedInstanceCore"),
        "{err}"
    );
    let err = run(&c, INSTANCE_ID, "whoami", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.starts_with("InvalidParameters"), "{err}");
    let stranger = lab_client(&i.aws, &i.region, "AKIANOTTHELABSKEY000", "x");
    assert!(
        online(&stranger, INSTANCE_ID)
            .await
            .unwrap_err()
            .contains("credentials were refused")
    );
    up.stop().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = lab(Some(format!("http://127.0.0.1:{port}"))).await;
    let i = &down.info;
    let c = lab_client(
        &i.aws,
        &i.region,
        &i.aws_access_key_id,
        &i.aws_secret_access_key,
    );
    let err = online(&c, INSTANCE_ID).await.unwrap_err();
    assert!(err.contains("has lost its connection to SSM"), "{err}");
    let out = run(
        &c,
        INSTANCE_ID,
        "systemctl is-active cognito-learning-server",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(!out.success && out.code == 3);
    down.stop().await;
}
