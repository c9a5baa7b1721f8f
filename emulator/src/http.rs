//! Small HTTP pieces the stand-ins share: a serving loop, requests in, responses out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cognito_learning_server::net::Limits;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
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

    /// A whole body's bytes (none for a stream).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Whole(Some(b)) => b,
            _ => &[],
        }
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

pub use cognito_learning_server::web::{cookie, cookies, percent_encode as encode};

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

/// A stand-in that answers requests: what [`serve_service`] serves.
pub trait Service: Send + Sync + 'static {
    fn call(&self, req: Req) -> impl Future<Output = Resp> + Send;
}

/// The largest request body a stand-in reads: above PutLogEvents' 1 MiB of events, so that
/// the API itself can refuse an oversized batch the way AWS does.
pub const MAX_BODY: usize = 8 << 20;

/// Serves `listener` with `service` (shared) until `shutdown`, then lets open requests finish,
/// with `limits` (the lab's are [`Limits::LAB`]): bodies are read whole, up to [`MAX_BODY`].
pub async fn serve_service<S: Service>(
    listener: TcpListener,
    limits: Limits,
    service: Arc<S>,
    shutdown: impl Future<Output = ()>,
) {
    let note: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|m: &str| eprintln!("lab: {m}"));
    let answer = move |req: Request<Incoming>, peer: SocketAddr| {
        let service = service.clone();
        async move {
            let (parts, body) = req.into_parts();
            match Limited::new(body, MAX_BODY).collect().await {
                Ok(b) => {
                    service
                        .call(Req {
                            parts,
                            body: b.to_bytes(),
                            peer,
                        })
                        .await
                }
                Err(_) => response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "text/plain",
                    "request body too large",
                ),
            }
        }
    };
    let _ = cognito_learning_server::net::serve(listener, limits, answer, note, shutdown).await;
}
