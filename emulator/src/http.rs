//! Small HTTP pieces the stand-ins share: a serving loop, requests in, responses out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

pub type Resp = Response<Body>;

/// A response body: whole, or a stream of chunks that ends when its sender is dropped (a Live
/// Tail session's event stream).
#[derive(Debug)]
pub enum Body {
    Whole(Option<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

impl Body {
    pub fn whole(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        Body::Whole((!b.is_empty()).then_some(b))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Whole(b) => {
                std::task::Poll::Ready(b.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|b| b.map(|b| Ok(http_body::Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Whole(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Whole(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

/// A request with its body read (bounded), as every handler here wants it.
#[derive(Debug)]
pub struct Req {
    pub parts: http::request::Parts,
    pub body: Bytes,
    pub peer: SocketAddr,
}

impl Req {
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// Query parameters; the first of a repeated name wins.
    pub fn query(&self) -> HashMap<String, String> {
        parse_pairs(self.parts.uri.query().unwrap_or("").as_bytes())
    }

    /// `application/x-www-form-urlencoded` body parameters.
    pub fn form(&self) -> HashMap<String, String> {
        parse_pairs(&self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        cookie(&self.parts.headers, name)
    }
}

pub fn parse_pairs(bytes: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Every `name=value` pair of the Cookie headers.
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// Percent-encodes everything outside RFC 3986's unreserved set (spaces as `%20`).
pub fn encode(s: &str) -> String {
    cognito_learning_server::percent_encode(s)
}

/// `k=v&k=v` with each part percent-encoded, in the order given.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Body::whole(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub fn html(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    response(status, "text/html;charset=UTF-8", body)
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Resp {
    response(status, "application/json;charset=UTF-8", value.to_string())
}

pub fn redirect(location: &str) -> Resp {
    let mut r = response(StatusCode::FOUND, "text/html;charset=UTF-8", Bytes::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub fn add_cookie(resp: &mut Resp, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The largest request body a stand-in reads: above PutLogEvents' 1 MiB of events, so that
/// the API itself can refuse an oversized batch the way AWS does.
pub const MAX_BODY: usize = 8 << 20;

/// Serves `listener` with `handler` until `shutdown`, then lets open requests finish (10 s).
pub async fn serve<H, F>(listener: TcpListener, handler: H, shutdown: impl Future<Output = ()>)
where
    H: Fn(Req) -> F + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let handler = Arc::new(handler);
    let graceful = GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let svc = service_fn(move |req: Request<Incoming>| {
            let handler = handler.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = match Limited::new(body, MAX_BODY).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(_) => {
                        return Ok::<_, Infallible>(response(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "text/plain",
                            "request body too large",
                        ));
                    }
                };
                Ok(handler(Req { parts, body, peer }).await)
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
}
