//! For the shipping benchmark: a CloudWatch Logs endpoint that reads each request whole, counts
//! the bytes and answers `{}`, as PutLogEvents does. CloudWatch ingests on AWS's machines, not
//! the server's; on a two-core machine the lab's full stand-in competes with the load generator,
//! so this measures the server's own cost of shipping without that.
//!
//! `discard_sink PORT` serves until SIGTERM, then prints the bytes it received.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: discard_sink PORT"))?
        .parse()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let counter = counter.clone();
                    async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        counter.fetch_add(body.len() as u64, Ordering::Relaxed);
                        let answer = Response::builder()
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from_static(b"{}")));
                        Ok::<_, anyhow::Error>(answer?)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?
        .recv()
        .await;
    println!("{}", received.load(Ordering::Relaxed));
    Ok(())
}
