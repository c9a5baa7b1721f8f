//! The app at the heart of the lab: four routes behind an AWS Application Load Balancer that
//! authenticates users with Amazon Cognito.
//!
//! - [`config`]: flags, environment and TOML file, validated into a [`Config`].
//! - [`auth`]: the three ALB headers verified once per request; who may read `/v1/secrets`.
//! - `routes`: `/`, `/v1/public`, `/v1/secrets`, `/logout`, and the log record of each request.
//! - [`logging`]: `server.log` (JSON lines, 0600, none lost while the app runs) and the CloudWatch copy.
//! - [`cloudwatch`]: batching and shipping to CloudWatch Logs without blocking requests.
//! - [`error`]: what a client sees when it is refused.
//! - [`net`]: the serving loop with its timeouts and connection cap, shared with the lab.
//! - [`web`]: the one HTML escape and percent-encoding, shared with the lab's pages.
//!
//! [`run`] serves on a listener until `shutdown` completes, then lets in-flight requests finish
//! and flushes the logs. The binary only parses flags and binds.

pub mod auth;
pub mod cloudwatch;
pub mod config;
pub mod error;
pub mod logging;
pub mod net;
mod routes;
pub mod web;

use std::sync::Arc;

use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, Settings, StaticCredentials};
pub use web::{escape_html, percent_encode};

use auth::Verifiers;
use cloudwatch::{Shipper, ShipperConfig};
use logging::{FileLog, LogSink};
use routes::Pages;

/// Shared by every connection.
#[derive(Debug)]
pub struct App {
    config: Config,
    verifiers: Verifiers,
    pages: Pages,
    log: LogSink,
}

/// Serves `listener` until `shutdown` resolves; returns once the logs are flushed.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let file = FileLog::open(&config.log_file).map_err(|e| {
        anyhow::anyhow!(
            "--log-file: cannot write {}: {e}",
            config.log_file.display()
        )
    })?;
    let cloud = config.cloudwatch.then(|| {
        Shipper::start(
            ShipperConfig {
                region: config.region.clone(),
                group: config.log_group.clone(),
                stream: config.log_stream.clone(),
                endpoint_url: config.aws_endpoint_url.clone(),
                credentials: config.aws_credentials.clone(),
            },
            file.sender(),
        )
    });
    let app = Arc::new(App {
        verifiers: Verifiers::new(&config),
        pages: Pages::new(&config),
        log: LogSink { file, cloud },
        config,
    });
    let addr = listener.local_addr()?;
    app.log.emit(
        "INFO",
        "server",
        json!({
            "message": format!("listening on http://{addr}"),
            "alb_verification": app.config.alb.as_ref().map(|a| &a.arn),
            "cloudwatch": app.config.cloudwatch.then(|| format!("{}/{}", app.config.log_group, app.config.log_stream)),
        }),
    );
    if app.config.alb.is_none() {
        app.log.note(
            "WARN",
            "ALB verification is not configured (--alb-arn): /v1/secrets will answer 401 to everyone",
        );
    }

    let log = app.clone();
    let note: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |m: &str| log.log.note("WARN", m));
    let handler = {
        let app = app.clone();
        move |req: hyper::Request<Incoming>, peer| {
            let app = app.clone();
            async move {
                let (parts, _body) = req.into_parts();
                routes::handle(&app, parts, peer).await
            }
        }
    };
    let stopping = {
        let app = app.clone();
        async move {
            shutdown.await;
            app.log.emit(
                "INFO",
                "server",
                json!({"message": "shutting down: finishing requests in flight"}),
            );
        }
    };
    if !net::serve(listener, app.config.limits, handler, note, stopping).await {
        app.log.note(
            "WARN",
            &format!(
                "some connections were still open after {:?}",
                app.config.limits.drain
            ),
        );
    }
    let dropped = app.log.cloud.as_ref().map_or(0, Shipper::dropped);
    app.log.emit(
        "INFO",
        "server",
        json!({"message": "stopped", "cloudwatch_events_not_shipped": dropped}),
    );
    app.log.close().await;
    Ok(())
}
