//! The listener's own protections, over real sockets: a request that never finishes its
//! headers is cut off at the header timeout; an idle keep-alive connection lasts the idle
//! timeout (longer than the header timeout); the app still answers while a thousand stalled
//! connections are open; at the connection cap, new connections wait and the log says so once.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cognito_learning_server::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

struct App {
    addr: std::net::SocketAddr,
    log: std::path::PathBuf,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn app(name: &str, tweak: impl FnOnce(&mut Settings)) -> App {
    let log = common::temp_log(name);
    let mut settings = Settings {
        log_file: Some(log.clone()),
        cloudwatch: Some(false),
        ..Settings::default()
    };
    tweak(&mut settings);
    let config = settings.validate().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        cognito_learning_server::run(listener, config, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    App {
        addr,
        log,
        stop,
        task,
    }
}

impl App {
    async fn stop(self) -> String {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// Seconds until the server closes `conn` (reads until EOF or an error), at most `limit`.
async fn closed_after(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(t.elapsed()), conn.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> u16 {
    let resp = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    resp.status().as_u16()
}

#[tokio::test]
async fn a_half_sent_request_is_closed_at_the_header_timeout() {
    let a = app("half-sent", |s| {
        s.header_timeout = Some(1);
        s.idle_timeout = Some(30);
    })
    .await;
    let mut conn = TcpStream::connect(a.addr).await.unwrap();
    conn.write_all(b"GET /v1/public HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let closed = closed_after(&mut conn, Duration::from_secs(20)).await;
    // Closed at the header timeout (1 s), long before the idle timeout (30 s).
    let t = closed.expect("the stalled connection was never closed");
    assert!(t >= Duration::from_millis(900), "closed too early: {t:?}");
    assert!(t < Duration::from_secs(15), "closed only after {t:?}");
    a.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_closes() {
    let a = app("idle", |s| {
        s.header_timeout = Some(1);
        s.idle_timeout = Some(3);
    })
    .await;
    let mut conn = TcpStream::connect(a.addr).await.unwrap();
    let req = b"GET /v1/public HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0u8; 8192];
    conn.write_all(req).await.unwrap();
    let n = conn.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Idle past the header timeout: the connection is still there for the next request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    conn.write_all(req).await.unwrap();
    let n = conn.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "the idle connection was closed early"
    );
    let t = closed_after(&mut conn, Duration::from_secs(20))
        .await
        .expect("the idle connection was never closed");
    assert!(
        t >= Duration::from_secs(2),
        "closed after {t:?}, before the idle timeout"
    );
    a.stop().await;
}

#[tokio::test]
async fn the_app_answers_while_a_thousand_stalled_connections_are_open() {
    let a = app("thousand", |s| {
        s.header_timeout = Some(2);
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..1000 {
        let mut c = TcpStream::connect(a.addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        stalled.push(c);
    }
    assert_eq!(get(a.addr, "/v1/public").await, 200);
    // And every stalled one is closed in time.
    for c in &mut stalled {
        assert!(closed_after(c, Duration::from_secs(30)).await.is_some());
    }
    assert_eq!(get(a.addr, "/v1/public").await, 200);
    a.stop().await;
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_wait_and_the_log_says_so() {
    let a = app("cap", |s| {
        s.max_connections = Some(20);
        s.header_timeout = Some(1);
        s.idle_timeout = Some(2);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(a.addr).await.unwrap());
    }
    // The 21st waits in the listen queue until an idle one is closed (2 s), then is answered.
    let t = Instant::now();
    assert_eq!(get(a.addr, "/v1/public").await, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "answered at once: {:?}",
        t.elapsed()
    );
    let log = a.stop().await;
    let notes = log
        .lines()
        .filter(|l| l.contains("the most it takes"))
        .count();
    assert_eq!(notes, 1, "{log}");
    drop(idle);
}
