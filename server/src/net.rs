//! The one serving loop of the app and of the lab's stand-ins: HTTP/1.1 on a listener, with the
//! limits every listener needs and a graceful shutdown.
//!
//! - **Header timeout**: from a request's first byte to the end of its headers, at most
//!   [`Limits::header_timeout`]; a client that stalls mid-header is cut off.
//! - **Idle timeout**: a connection with no request in flight is closed after
//!   [`Limits::idle_timeout`] (hyper's header-read timer, which runs from the moment a
//!   connection is idle).
//! - **Connection cap**: at most [`Limits::max_connections`] open at once, fewer when the
//!   process's file limit is lower; at the cap, new connections wait in the listen queue until one
//!   closes, and the loop says so once.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How a listener protects itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From a request's first byte to its last header byte.
    pub header_timeout: Duration,
    /// How long a connection may wait, with no request in flight, for the next one.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// How many of these listeners (and their onward connections) share the process's file
    /// limit: the cap is at most the limit divided by this.
    pub fd_share: usize,
    /// How long open requests get to finish once shutdown starts.
    pub drain: Duration,
}

impl Limits {
    /// The app behind the ALB. AWS advises a target's keep-alive to be longer than the ALB's
    /// idle timeout (60 s by default), so that the ALB, not the target, closes idle
    /// connections; the header timeout is short, as the ALB sends whole requests.
    pub const APP: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(65),
        max_connections: 4096,
        fd_share: 1,
        drain: Duration::from_secs(10),
    };

    /// A lab stand-in: the ALB's documented default idle timeout of 60 s. Four listeners and
    /// the ALB's onward connections share one process.
    pub const LAB: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 1024,
        fd_share: 6,
        drain: Duration::from_secs(10),
    };

    /// The cap in force: `max_connections`, or less when the process may open fewer files.
    pub fn connection_cap(&self) -> usize {
        let budget =
            open_file_limit().map_or(usize::MAX, |n| n.saturating_sub(64) / self.fd_share.max(1));
        self.max_connections.min(budget).max(8)
    }
}

/// The soft limit on open files, read from `/proc/self/limits` (Linux); `None` elsewhere.
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `listener` until `shutdown`, then lets open requests finish for `limits.drain`.
/// `note` receives the loop's own messages (the cap reached, accept errors). Returns false when
/// connections were still open at the end of the drain.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    limits: Limits,
    handler: H,
    note: Arc<dyn Fn(&str) + Send + Sync>,
    shutdown: impl Future<Output = ()>,
) -> bool
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let handler = Arc::new(handler);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper's header-read timer starts whenever the connection waits for a request head, which
    // includes waiting idle between requests: it is the idle timeout. The header timeout proper
    // is `Watched`'s.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    let cap = limits.connection_cap();
    let slots = Arc::new(Semaphore::new(cap));
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut at_cap = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(s) => {
                at_cap = false;
                s
            }
            Err(_) => {
                if !std::mem::replace(&mut at_cap, true) {
                    note(&format!(
                        "{cap} connections are open on {addr}, the most it takes: new ones wait \
                         until one closes (idle ones close after {:?})",
                        limits.idle_timeout
                    ));
                }
                tokio::select! {
                    s = slots.clone().acquire_owned() => match s {
                        Ok(s) => s,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    note(&format!("accept on {addr} failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(ConnState::default());
        let io = Watched {
            io: stream,
            conn: conn.clone(),
            header_timeout: limits.header_timeout,
            deadline: None,
            sleep: None,
        };
        let handler = handler.clone();
        let svc = service_fn(move |req: Request<Incoming>| {
            conn.started.fetch_add(1, Ordering::Relaxed);
            conn.in_flight.fetch_add(1, Ordering::Relaxed);
            let done = InFlight(conn.clone());
            let answer = handler(req, peer);
            async move {
                let resp = answer.await;
                drop(done);
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), svc));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_ok()
}

/// What a connection's service tells its reader: how many requests have started, and how many
/// are being answered.
#[derive(Debug, Default)]
struct ConnState {
    started: AtomicU64,
    in_flight: AtomicUsize,
}

/// Marks a request answered, even if its handler is dropped half-way.
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection that enforces the header timeout: when bytes of a new request arrive and no
/// request is being answered, the head must be complete (the service called) within the
/// timeout, or reading fails and hyper closes the connection.
struct Watched {
    io: TcpStream,
    conn: Arc<ConnState>,
    header_timeout: Duration,
    /// The request count when the running deadline was set, if one runs.
    deadline: Option<u64>,
    /// One timer per connection, reset for each request rather than made anew.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let started = this.conn.started.load(Ordering::Relaxed);
        // A request started since the deadline was set: its head arrived in time.
        if this.deadline.is_some_and(|at| at != started) {
            this.deadline = None;
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let idle = this.conn.in_flight.load(Ordering::Relaxed) == 0;
                if buf.filled().len() > before && idle && this.deadline.is_none() {
                    let at = tokio::time::Instant::now() + this.header_timeout;
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                    sleep.as_mut().reset(at);
                    // Registers the timer with this task, so that a silent client still wakes it.
                    let _ = sleep.as_mut().poll(cx);
                    this.deadline = Some(started);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let expired = this.deadline.is_some()
                    && this
                        .sleep
                        .as_mut()
                        .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request's headers did not arrive in time",
                    )))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_never_exceeds_what_the_file_limit_allows() {
        let cap = Limits::LAB.connection_cap();
        assert!((8..=Limits::LAB.max_connections).contains(&cap), "{cap}");
        if let Some(files) = open_file_limit() {
            assert!(cap * Limits::LAB.fd_share <= files.max(8 * Limits::LAB.fd_share));
        }
    }
}
