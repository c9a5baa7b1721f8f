//! The real aws-sdk-ssm client against the lab's one instance.
#![allow(clippy::unwrap_used)]

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{InstanceInformationStringFilter, PingStatus};
use cognito_learning_emulator::aws::ssm::{ALLOWED, INSTANCE_ID};
use cognito_learning_emulator::{Lab, LabOptions};

async fn lab(upstream: Option<String>) -> Lab {
    Lab::start(LabOptions {
        upstream,
        state_dir: std::env::temp_dir().join(format!(
            "cl-ssm-{}",
            cognito_learning_emulator::state::uuid()
        )),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap()
}

fn client(lab: &Lab) -> Client {
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(lab.info.region.clone()))
        .endpoint_url(&lab.info.aws)
        .credentials_provider(Credentials::new(
            &lab.info.aws_access_key_id,
            &lab.info.aws_secret_access_key,
            None,
            None,
            "lab",
        ))
        .build();
    Client::from_conf(conf)
}

async fn run(c: &Client, command: &str) -> (String, i32, String) {
    let sent = c
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(INSTANCE_ID)
        .parameters("commands", vec![command.to_owned()])
        .comment("lab check")
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    let inv = c
        .get_command_invocation()
        .command_id(&id)
        .instance_id(INSTANCE_ID)
        .send()
        .await
        .unwrap();
    (
        inv.status().unwrap().as_str().to_owned(),
        inv.response_code(),
        inv.standard_output_content().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_instance_is_online_while_the_app_answers_and_runs_only_its_checks() {
    let lab = lab(None).await;
    let c = client(&lab);
    let info = c.describe_instance_information().send().await.unwrap();
    let i = &info.instance_information_list()[0];
    assert_eq!(i.instance_id(), Some(INSTANCE_ID));
    assert_eq!(i.ping_status(), Some(&PingStatus::Online));
    assert_eq!(
        (i.platform_name(), i.platform_version()),
        (Some("Amazon Linux"), Some("2023"))
    );
    assert!(
        i.last_ping_date_time().is_some(),
        "an epoch-seconds float the SDK parses"
    );
    let lost = c
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("PingStatus")
                .values("ConnectionLost")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        lost.instance_information_list().is_empty(),
        "online, so not listed as lost"
    );
    let by_id = c
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(INSTANCE_ID)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.instance_information_list().len(), 1);

    let (status, code, out) = run(&c, ALLOWED[2].0).await;
    assert_eq!((status.as_str(), code, out.as_str()), ("Success", 0, "200"));
    let (_, _, os) = run(&c, "cat /etc/os-release").await;
    assert!(os.contains("PRETTY_NAME=\"Amazon Linux 2023\""));
    let (_, _, log) = run(&c, "tail -n 20 /opt/cognito-learning/server.log").await;
    assert!(
        log.contains("\"path\":\"/v1/public\""),
        "the check's own request is in the log: {log}"
    );

    let refused = c
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(INSTANCE_ID)
        .parameters("commands", vec!["rm -rf /".to_owned()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidParameters"));
    let wrong = c
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids("i-0123456789abcdef0")
        .parameters("commands", vec![ALLOWED[0].0.to_owned()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("InvalidInstanceId"));

    let listed = c
        .list_command_invocations()
        .details(true)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.command_invocations().len(), 3);
    assert!(
        listed
            .command_invocations()
            .iter()
            .all(|i| i.command_plugins().len() == 1)
    );
    lab.stop().await;
}

#[tokio::test]
async fn with_the_app_stopped_the_instance_has_lost_its_connection() {
    // An upstream nothing listens on: the lab's instance has no app running.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lab = lab(Some(format!("http://127.0.0.1:{port}"))).await;
    let c = client(&lab);
    let info = c.describe_instance_information().send().await.unwrap();
    assert_eq!(
        info.instance_information_list()[0].ping_status(),
        Some(&PingStatus::ConnectionLost)
    );
    let (status, code, out) = run(&c, "systemctl is-active cognito-learning-server").await;
    assert_eq!(
        (status.as_str(), code, out.as_str()),
        ("Failed", 3, "inactive\n")
    );
    lab.stop().await;
}
