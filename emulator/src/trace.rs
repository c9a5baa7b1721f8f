//! Every exchange the lab sees, published for the lab guide's Flow pane.
//!
//! One event per exchange, published once its answer is known and stamped with when its request
//! arrived (a [`Began`] taken first): who called whom, what was asked, the status and a short
//! note (the redirect target, the cookie set, why something was refused). The ALB's calls to
//! Cognito's token and userInfo endpoints are marked as the back channel: the browser never
//! sees them. The event type is the contract crate's, which the guide reads.
//!
//! Each event holds the whole exchange ([`request`], [`answered`]) with secrets masked, and
//! says who made it: the client whose request the ALB is answering (set with [`as_client`] for
//! the calls it makes on that request's behalf), else the request's own `User-Agent`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Method, header};

pub use cognito_learning_contract::trace::{
    Actor, Client, Exchange, SetCookie, TraceEvent, TracePage, form_pairs,
};
use cognito_learning_contract::trace::{BODY_KEEP, Body, HEADER_KEEP, Header, MASK};
use cognito_learning_tokens::time::now_millis;

const KEEP: usize = 1000;

tokio::task_local! {
    static CLIENT: Client;
}

/// Runs `f` with every exchange it traces counted as `client`'s: the ALB's calls to Cognito
/// and to the app on behalf of a browser's request are that browser's.
pub async fn as_client<F: Future>(client: Client, f: F) -> F::Output {
    CLIENT.scope(client, f).await
}

/// Who sent a request with these headers.
pub fn client_of(headers: &HeaderMap) -> Client {
    Client::from_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
}

/// An exchange as the stand-ins had it: its headers and the start of each body, copied as
/// they are. It becomes an [`Exchange`], masked and cut, only when the trace is read, so that
/// a request the lab forwards under load pays for a few copies and little more.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    method: Method,
    url: String,
    request_headers: Heads,
    request_body: Kept,
    response_headers: Heads,
    response_body: Kept,
}

/// A header map copied into one buffer. (A clone of the map would share the buffers its values
/// were read into, which the connection could then not reuse while the trace holds them.)
#[derive(Debug, Clone, Default)]
struct Heads {
    text: Vec<u8>,
    /// Where each name ends, and then its value, in `text`.
    ends: Vec<(usize, usize)>,
}

impl Heads {
    fn of(h: &HeaderMap) -> Self {
        let size = h.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        let mut text = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(h.len());
        for (n, v) in h {
            text.extend_from_slice(n.as_str().as_bytes());
            let name_end = text.len();
            text.extend_from_slice(v.as_bytes());
            ends.push((name_end, text.len()));
        }
        Self { text, ends }
    }

    /// Each header, name (lower case, as `http` keeps it) and value, in order.
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, end)| {
            let name = std::str::from_utf8(&self.text[start..name_end]).unwrap_or_default();
            let value = &self.text[name_end..end];
            start = end;
            (name, value)
        })
    }

    /// The first value of `name` (lower case), as text.
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// The start of a body (up to [`BODY_KEEP`] bytes), and its whole length.
#[derive(Debug, Clone, Default)]
struct Kept {
    start: Bytes,
    size: usize,
}

impl Kept {
    fn of(body: &[u8]) -> Self {
        Self {
            start: Bytes::copy_from_slice(&body[..body.len().min(BODY_KEEP)]),
            size: body.len(),
        }
    }
}

impl Captured {
    /// The exchange as the trace serves it: secrets masked, long values cut.
    pub fn exchange(&self) -> Exchange {
        Exchange {
            method: self.method.as_str().into(),
            url: self.url.as_str().into(),
            request_headers: kept(&self.request_headers),
            request_body: kept_body(&self.request_headers, &self.request_body),
            response_headers: kept(&self.response_headers),
            response_body: kept_body(&self.response_headers, &self.response_body),
        }
    }
}

/// A request as it was sent, for the trace.
pub fn request(method: &Method, url: String, headers: &HeaderMap, body: &[u8]) -> Captured {
    Captured {
        method: method.clone(),
        url,
        request_headers: Heads::of(headers),
        request_body: Kept::of(body),
        ..Captured::default()
    }
}

/// Adds the answer to `ex`.
pub fn answered(mut ex: Captured, headers: &HeaderMap, body: &[u8]) -> Captured {
    ex.response_headers = Heads::of(headers);
    ex.response_body = Kept::of(body);
    ex
}

/// The full URL of a request that arrived at a stand-in: its `Host`, path and query.
pub fn url_of(parts: &http::request::Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{pq}")
}

fn kept(headers: &Heads) -> Vec<Header> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value);
            let value = if name == header::AUTHORIZATION {
                masked_authorization(&value)
            } else if name == header::SET_COOKIE {
                // The value is cut, never the attributes after it.
                let (pair, attrs) = value.split_once(';').unwrap_or((&value, ""));
                let sep = if attrs.is_empty() { "" } else { ";" };
                format!("{}{sep}{attrs}", short_cookies(pair))
            } else if name == header::COOKIE {
                short_cookies(&value)
            } else {
                cut(&value, HEADER_KEEP)
            };
            Header {
                name: name.into(),
                value: value.into(),
            }
        })
        .collect()
}

/// Longest cookie value kept whole: a session shard (4 KB, sealed) is named by its start and
/// length, so that a request's other cookies and a `Set-Cookie`'s attributes stay readable.
const COOKIE_KEEP: usize = 256;

/// `a=1; b=<4 KB>` with each long value cut to its start and length.
fn short_cookies(pairs: &str) -> String {
    pairs
        .split(';')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if v.len() > COOKIE_KEEP => {
                format!("{k}={}…[{} bytes]", cut(v, 48), v.len())
            }
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `Basic` credentials keep the client id and lose the secret; a bearer token is kept (it is
/// what the Tokens pane explains).
fn masked_authorization(v: &str) -> String {
    let Some(b64) = v.strip_prefix("Basic ") else {
        return cut(v, HEADER_KEEP);
    };
    let id = STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(id, _)| id.to_owned()))
        .unwrap_or_default();
    format!("Basic base64({id}:{MASK})")
}

fn kept_body(headers: &Heads, body: &Kept) -> Option<Body> {
    if body.size == 0 {
        return None;
    }
    let mime = headers
        .get(header::CONTENT_TYPE.as_str())
        .unwrap_or("")
        .to_owned();
    // The start may end inside a character: the text stops before it.
    let start = &body.start[..];
    let utf8 = match std::str::from_utf8(start) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&start[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let text = match utf8 {
        Some(t) if mime.starts_with("application/x-www-form-urlencoded") => masked_form(t),
        Some(t) => cut(t, BODY_KEEP),
        None => String::new(),
    };
    Some(Body {
        mime: mime.into(),
        text: text.into(),
        size: body.size,
    })
}

/// A form with every password and secret field masked.
fn masked_form(form: &str) -> String {
    let fields: Vec<String> = form
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if secret_field(k) => format!("{k}={MASK}"),
            _ => kv.to_owned(),
        })
        .collect();
    cut(&fields.join("&"), BODY_KEEP)
}

/// What the answer's `Set-Cookie` headers do, for a note: `sets cognito · expires AWSALBAuthNonce`.
pub fn cookie_note(headers: &HeaderMap) -> Option<String> {
    let now = cognito_learning_tokens::time::now();
    let (mut set, mut gone) = (Vec::new(), Vec::new());
    for c in headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| SetCookie::parse(v.to_str().ok()?))
    {
        if c.removes(now) {
            gone.push(c.name);
        } else {
            set.push(c.name);
        }
    }
    let mut note = Vec::new();
    if !set.is_empty() {
        note.push(format!("sets {}", set.join(", ")));
    }
    if !gone.is_empty() {
        note.push(format!("expires {}", gone.join(", ")));
    }
    (!note.is_empty()).then(|| note.join(" · "))
}

/// Whether a form field holds a secret: a password or a client secret.
pub fn secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("secret")
}

/// `s` up to `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// When an exchange began: its place in the lab's one sequence, and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Began {
    seq: u64,
    ms: u64,
}

/// The latest trace events, which `GET /lab/trace` serves.
#[derive(Debug)]
pub struct Trace {
    /// One counter for arrivals and publications, so that both orders compare.
    seq: AtomicU64,
    /// Each event without its exchange, and the exchange as captured.
    recent: Mutex<VecDeque<(TraceEvent, Captured)>>,
}

impl Default for Trace {
    fn default() -> Self {
        Self {
            seq: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::with_capacity(KEEP)),
        }
    }
}

impl Trace {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Stamps an exchange's arrival; pass it to [`Trace::emit`] when the answer is known.
    pub fn begin(&self) -> Began {
        Began {
            seq: self.next(),
            ms: now_millis(),
        }
    }

    pub fn emit(
        &self,
        began: Began,
        (from, to): (Actor, Actor),
        request: String,
        status: u16,
        note: String,
        exchange: Captured,
    ) {
        let back_channel = matches!((from, to), (Actor::Alb, Actor::Cognito));
        let client = CLIENT.try_with(|c| *c).unwrap_or_else(|_| {
            Client::from_user_agent(exchange.request_headers.get(header::USER_AGENT.as_str()))
        });
        let ev = TraceEvent {
            seq: self.next(),
            at_ms: now_millis(),
            start_seq: began.seq,
            start_ms: began.ms,
            from,
            to,
            request,
            status,
            note,
            back_channel,
            client,
            exchange: None,
        };
        let dropped = match self.recent.lock() {
            Ok(mut r) => {
                let old = (r.len() == KEEP).then(|| r.pop_front()).flatten();
                r.push_back((ev, exchange));
                old
            }
            Err(_) => None,
        };
        // The oldest event is freed after the lock is let go.
        drop(dropped);
    }

    /// The latest events, oldest first.
    pub fn recent(&self) -> Vec<TraceEvent> {
        self.after(0)
    }

    /// The kept events published after `seq`, oldest first, each with its whole exchange.
    pub fn after(&self, seq: u64) -> Vec<TraceEvent> {
        let picked: Vec<(TraceEvent, Captured)> = self
            .recent
            .lock()
            .map(|r| r.iter().filter(|(e, _)| e.seq > seq).cloned().collect())
            .unwrap_or_default();
        picked
            .into_iter()
            .map(|(mut e, c)| {
                e.exchange = Some(Box::new(c.exchange()));
                e
            })
            .collect()
    }
}

/// A URL shortened for a trace note: path and the names of its parameters.
pub fn short(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    if query.is_empty() {
        return path.to_owned();
    }
    let names: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .collect();
    format!("{path}?{}", names.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_that_began_first_sorts_first_though_it_ends_last() {
        let t = Trace::default();
        let outer = t.begin();
        let inner = t.begin();
        t.emit(
            inner,
            (Actor::Alb, Actor::App),
            "GET /".into(),
            200,
            String::new(),
            Captured::default(),
        );
        t.emit(
            outer,
            (Actor::Browser, Actor::Alb),
            "GET /".into(),
            200,
            String::new(),
            Captured::default(),
        );
        let mut got = t.recent();
        assert!(got[0].seq < got[1].seq, "published inner first");
        got.sort_by_key(TraceEvent::order);
        assert_eq!(got[0].from, Actor::Browser);
        assert!(
            got.iter()
                .all(|e| e.start_seq < e.seq && e.start_ms <= e.at_ms)
        );
    }
}

#[cfg(test)]
mod capture {
    use super::*;

    #[test]
    fn a_long_body_keeps_its_start_to_a_whole_character_and_its_size() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "text/html".parse().unwrap());
        // Two-byte characters from an odd offset: the kept bytes end inside one.
        let page = format!("<{}", "é".repeat(BODY_KEEP));
        let ex = answered(
            request(&Method::GET, "http://x/".into(), &h, b""),
            &h,
            page.as_bytes(),
        )
        .exchange();
        let body = ex.response_body.unwrap();
        assert_eq!(body.size, page.len());
        assert_eq!(body.text.len(), BODY_KEEP - 1);
        assert!(page.starts_with(&*body.text));
        assert!(body.is_cut());
        assert_eq!(ex.request_body, None, "an empty body is none");
    }

    #[test]
    fn secrets_are_masked_and_the_client_id_kept() {
        let mut h = HeaderMap::new();
        let basic = STANDARD.encode("abc123:s3cr3t");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let ex = request(
            &Method::POST,
            "http://127.0.0.1:9229/oauth2/token".into(),
            &h,
            b"grant_type=authorization_code&client_secret=s3cr3t&password=hunter2&code=xyz",
        )
        .exchange();
        let text = serde_json::to_string(&ex).unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter2"),
            "{text}"
        );
        assert_eq!(
            ex.request_header("authorization").next(),
            Some("Basic base64(abc123:********)")
        );
        let body = ex.request_body.unwrap();
        assert_eq!(
            &*body.text,
            "grant_type=authorization_code&client_secret=********&password=********&code=xyz"
        );
        assert_eq!(body.size, 76);
    }

    #[tokio::test]
    async fn an_exchange_made_for_a_client_is_that_clients() {
        let t = Trace::default();
        let mut ua = HeaderMap::new();
        ua.insert(
            header::USER_AGENT,
            "cognito-learning-check/1".parse().unwrap(),
        );
        let ex = request(&Method::GET, "http://localhost:8080/".into(), &ua, b"");
        let pair = (Actor::Browser, Actor::Alb);
        t.emit(t.begin(), pair, "GET /".into(), 200, String::new(), ex);
        as_client(Client::Learner, async {
            let ex = request(&Method::GET, "http://127.0.0.1:5000/".into(), &ua, b"");
            t.emit(t.begin(), pair, "GET /".into(), 200, String::new(), ex);
        })
        .await;
        let got: Vec<Client> = t.recent().iter().map(|e| e.client).collect();
        assert_eq!(got, [Client::Guide, Client::Learner]);
    }

    #[test]
    fn a_session_shard_is_cut_and_its_attributes_kept() {
        let shard = "x".repeat(4000);
        let mut h = HeaderMap::new();
        h.append(
            header::SET_COOKIE,
            format!("AWSELBAuthSessionCookie-0={shard}; Expires=Mon, 14 Dec 2026 10:00:00 GMT; Path=/; HttpOnly")
                .parse()
                .unwrap(),
        );
        h.append(
            header::COOKIE,
            format!("a=1; AWSELBAuthSessionCookie-0={shard}; b=2")
                .parse()
                .unwrap(),
        );
        let ex = answered(request(&Method::GET, "http://x/".into(), &h, b""), &h, b"").exchange();
        let set = ex.response_header("set-cookie").next().unwrap();
        let c = SetCookie::parse(set).unwrap();
        assert!(c.value.ends_with("…[4000 bytes]"), "{set}");
        assert_eq!(c.attribute("HttpOnly"), Some(""));
        assert_eq!(c.attribute("Path"), Some("/"));
        let sent = ex.request_header("cookie").next().unwrap();
        assert!(
            sent.starts_with("a=1; AWSELBAuthSessionCookie-0=xxx") && sent.ends_with("bytes]; b=2"),
            "{sent}"
        );
    }

    #[test]
    fn a_long_value_is_cut_at_a_character_boundary() {
        let s = "é".repeat(HEADER_KEEP);
        let c = cut(&s, HEADER_KEEP + 1);
        assert!(c.len() <= HEADER_KEEP + 1 && s.starts_with(&c));
    }
}
