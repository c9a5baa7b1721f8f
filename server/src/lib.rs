//! The app at the heart of the lab: four routes behind an AWS Application Load Balancer that
//! authenticates users with Amazon Cognito.
//!
//! - [`config`]: flags, environment and TOML file, validated into a [`Config`].
//! - [`auth`]: the three ALB headers verified once per request; who may read `/v1/secrets`.
//! - `routes`: `/`, `/v1/public`, `/v1/secrets`, `/logout`, and the log record of each request.
//! - [`logging`]: `server.log` (JSON lines, never loses one) and the CloudWatch copy.
//! - [`cloudwatch`]: batching and shipping to CloudWatch Logs without blocking requests.
//! - [`error`]: what a client sees when it is refused.
//!
//! [`run`] serves on a listener until `shutdown` completes, then lets in-flight requests finish
//! and flushes the logs. The binary only parses flags and binds.

pub mod auth;
pub mod cloudwatch;
pub mod config;
pub mod error;
pub mod logging;
mod routes;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, Settings, StaticCredentials};
pub use routes::encode as percent_encode;

use auth::Verifiers;
use cloudwatch::{Shipper, ShipperConfig};
use logging::{FileLog, LogSink};
use routes::Pages;

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(10);

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

    let graceful = GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    app.log.note("ERROR", &format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let (parts, _body) = req.into_parts();
                Ok::<_, Infallible>(routes::handle(&app, parts, peer).await)
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    app.log.emit(
        "INFO",
        "server",
        json!({"message": "shutting down: finishing requests in flight"}),
    );
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        app.log.note(
            "WARN",
            &format!("some connections were still open after {DRAIN:?}"),
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
