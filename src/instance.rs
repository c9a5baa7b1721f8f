//! Checking the app's instance through SSM: is it managed and online, and what do the course's
//! read-only check commands print there. The same code serves the local lab and a real account.

use std::time::{Duration, Instant};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{CommandInvocationStatus, InstanceInformationStringFilter, PingStatus};

/// A client for the lab's endpoint with its credentials.
pub fn lab_client(endpoint: &str, region: &str, key: &str, secret: &str) -> Client {
    Client::new(&crate::aws::lab_config(endpoint, region, key, secret))
}

/// A client for a real account, from the standard chain.
pub async fn aws_client(profile: Option<&str>, region: Option<&str>) -> Client {
    Client::new(&crate::aws::account_config(profile, region).await)
}

fn explain<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &SdkError<E>) -> String {
    match err.code() {
        Some("AccessDeniedException") => format!(
            "not allowed: {} (the profile needs SSM read and SendCommand permissions)",
            err.message().unwrap_or("")
        ),
        _ => crate::aws::explain(err, "SSM"),
    }
}

/// Whether `instance` is managed by SSM and online; `Err` says what to fix.
pub async fn online(client: &Client, instance: &str) -> Result<(), String> {
    let out = client
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(instance)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| explain(&e))?;
    match out
        .instance_information_list()
        .first()
        .and_then(|i| i.ping_status())
    {
        Some(PingStatus::Online) => Ok(()),
        Some(PingStatus::ConnectionLost) => Err(format!(
            "instance {instance} has lost its connection to SSM: is it running, and can it reach the SSM endpoints (through the NAT gateway)?"
        )),
        Some(other) => Err(format!("instance {instance} is {}", other.as_str())),
        None => Err(format!(
            "instance {instance} is not managed by SSM: check that its role has AmazonSSMManagedInstanceCore and that the SSM agent runs"
        )),
    }
}

/// What a check printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub success: bool,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one read-only check with `AWS-RunShellScript` and waits (up to `limit`) for its result.
pub async fn run(
    client: &Client,
    instance: &str,
    command: &str,
    limit: Duration,
) -> Result<Output, String> {
    let sent = client
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(instance)
        .parameters("commands", vec![command.to_owned()])
        .comment("cognito-learning check")
        .send()
        .await
        .map_err(|e| explain(&e))?;
    let id = sent
        .command()
        .and_then(|c| c.command_id())
        .ok_or("SSM returned no command id")?
        .to_owned();
    let started = Instant::now();
    loop {
        match client
            .get_command_invocation()
            .command_id(&id)
            .instance_id(instance)
            .send()
            .await
        {
            Ok(inv) => {
                let status = inv.status().cloned();
                let done = !matches!(
                    status,
                    Some(
                        CommandInvocationStatus::Pending
                            | CommandInvocationStatus::InProgress
                            | CommandInvocationStatus::Delayed
                    ) | None
                );
                if done {
                    return Ok(Output {
                        success: status == Some(CommandInvocationStatus::Success),
                        code: inv.response_code(),
                        stdout: inv.standard_output_content().unwrap_or_default().to_owned(),
                        stderr: inv.standard_error_content().unwrap_or_default().to_owned(),
                    });
                }
            }
            // Right after SendCommand, AWS may not know the invocation yet.
            Err(e) if e.code() == Some("InvocationDoesNotExist") => {}
            Err(e) => return Err(explain(&e)),
        }
        if started.elapsed() > limit {
            return Err(format!(
                "the command did not finish within {limit:?} (command id {id})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
