//! PutLogEvents throughput against any CloudWatch Logs endpoint, with the real SDK.
//!
//!   logs_bench ENDPOINT REGION KEY SECRET [SECONDS]
//!
//! 8 writers, each putting batches of 100 events of 200 bytes into its own stream, for SECONDS
//! (default 5). Prints one JSON line: calls/s and events/s.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, region, key, secret, rest @ ..] = &args[..] else {
        anyhow::bail!("usage: logs_bench ENDPOINT REGION KEY SECRET [SECONDS]");
    };
    let seconds: u64 = rest.first().map_or(Ok(5), |s| s.parse())?;
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key, secret, None, None, "bench"))
        .build();
    let client = Client::from_conf(conf);
    let group = format!("bench-{}", std::process::id());
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await?;
    let message = "x".repeat(200);
    let run = Duration::from_secs(seconds);
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, group, message) = (client.clone(), group.clone(), message.clone());
        writers.push(tokio::spawn(async move {
            let stream = format!("w{w}");
            client
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .send()
                .await?;
            let mut calls = 0u64;
            while start.elapsed() < run {
                let t = cognito_learning_tokens::time::now_millis() as i64;
                let events: Vec<InputLogEvent> = (0..100)
                    .map(|_| {
                        InputLogEvent::builder()
                            .timestamp(t)
                            .message(message.clone())
                            .build()
                    })
                    .collect::<Result<_, _>>()?;
                client
                    .put_log_events()
                    .log_group_name(&group)
                    .log_stream_name(&stream)
                    .set_log_events(Some(events))
                    .send()
                    .await?;
                calls += 1;
            }
            anyhow::Ok(calls)
        }));
    }
    let mut calls = 0;
    for w in writers {
        calls += w.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"calls_per_s\":{:.0},\"events_per_s\":{:.0}}}",
        calls as f64 / secs,
        calls as f64 * 100.0 / secs
    );
    Ok(())
}
