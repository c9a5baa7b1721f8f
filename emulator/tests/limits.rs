//! The lab's listeners hold under a slow-loris: a thousand connections that never finish their
//! headers neither stop the ALB from answering nor stay open past the header timeout.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cognito_learning_server::net::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn the_alb_answers_through_a_thousand_stalled_connections_and_closes_them_in_time() {
    let (lab, dir) = common::lab("limits").await;
    let addr = lab
        .info
        .alb
        .trim_start_matches("http://")
        .replace("localhost", "127.0.0.1");
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..1000 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /v1/secrets HTTP/1.1\r\nHost: localhost\r\nCookie: ")
            .await
            .unwrap();
        stalled.push(c);
    }
    let r = reqwest::get(format!("{}/v1/public", lab.info.alb))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = [0u8; 1024];
    let limit = Limits::LAB.header_timeout;
    for c in &mut stalled {
        let read = tokio::time::timeout(limit * 3, c.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "a stalled connection stayed open"
        );
    }
    // Not before the header timeout, counted from the first stalled connection.
    assert!(started.elapsed() >= limit - Duration::from_millis(200));
    lab.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
