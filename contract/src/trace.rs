//! The lab's trace: one event per exchange it sees, for the guide's Flow pane
//! (`GET /lab/trace?after=SEQ` on the lab's AWS API port answers a [`TracePage`]).
//!
//! An event is published when its answer is known, but it is stamped when its request arrived
//! ([`TraceEvent::start_seq`], [`TraceEvent::start_ms`]): a browser's request to the ALB
//! starts before the ALB's onward request to the app and ends after it, and the Flow pane
//! draws them in the order they started.
//!
//! Each event says who made it ([`Client`]): the learner (a browser, curl) or the guide's own
//! checks, which send [`GUIDE_USER_AGENT`]; the ALB's onward calls belong to the client whose
//! request caused them. And each carries the whole [`Exchange`] as the lab saw it (headers,
//! cookies, bodies up to [`BODY_KEEP`]), with the client secret and passwords masked.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Text an exchange holds. Shared, because most of it repeats from one exchange to the next
/// (a session's cookie and tokens, a page's headers): the guide keeps one copy of each
/// (its Flow pane's interner).
pub type Text = Arc<str>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Browser,
    Alb,
    Cognito,
    App,
}

impl Actor {
    /// The four, in the order the Flow pane draws their lanes.
    pub const ALL: [Actor; 4] = [Actor::Browser, Actor::Alb, Actor::Cognito, Actor::App];

    /// How the guide, its exports and its lessons name it.
    pub fn name(self) -> &'static str {
        match self {
            Actor::Browser => "Browser",
            Actor::Alb => "ALB",
            Actor::Cognito => "Cognito",
            Actor::App => "App",
        }
    }
}

/// The start of the `User-Agent` the guide's own requests send, so that the lab can tell them
/// from the learner's.
pub const GUIDE_USER_AGENT: &str = "cognito-learning-check";

/// Who made an exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// A browser, curl, any client but the guide: what the learner did.
    #[default]
    Learner,
    /// The guide's checks and demonstrations.
    Guide,
}

impl Client {
    /// Who sent a request with this `User-Agent`.
    pub fn from_user_agent(ua: Option<&str>) -> Self {
        match ua {
            Some(ua) if ua.starts_with(GUIDE_USER_AGENT) => Client::Guide,
            _ => Client::Learner,
        }
    }
}

/// Bodies are kept up to this many bytes (cut at a character boundary); [`Body::size`] says
/// how long the whole was.
pub const BODY_KEEP: usize = 8 * 1024;
/// Header values are kept up to this many bytes: a token fits, an ALB session cookie shard is
/// cut (its value is sealed, and is the session itself).
pub const HEADER_KEEP: usize = 2 * 1024;

/// What stands in place of a secret.
pub const MASK: &str = "********";

/// One header, as sent (a name may repeat: each `Set-Cookie` is its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: Text,
    pub value: Text,
}

/// A request's or a response's body, as far as it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The `Content-Type`, when one was sent.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub mime: Text,
    /// The text, up to [`BODY_KEEP`] bytes; a body that is not UTF-8 is not kept.
    pub text: Text,
    /// The whole body's length in bytes.
    pub size: usize,
}

impl Body {
    /// Whether the text stops short of the body: it reached [`BODY_KEEP`] (less the few bytes
    /// a cut at a character boundary loses). A masked form is shorter or longer than what was
    /// sent without being cut.
    pub fn is_cut(&self) -> bool {
        self.text.len() < self.size && self.text.len() + 4 > BODY_KEEP
    }
}

/// The whole exchange: request line, headers, body, and the answer's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: Text,
    /// The full URL asked for, query included.
    pub url: Text,
    pub request_headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Body>,
    pub response_headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Body>,
}

impl Exchange {
    /// The values of each request header called `name` (any case).
    pub fn request_header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        values(&self.request_headers, name)
    }

    /// The values of each response header called `name` (any case).
    pub fn response_header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        values(&self.response_headers, name)
    }

    /// The request's query parameters, decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let q = self.url.split_once('?').map_or("", |(_, q)| q);
        let q = q.split_once('#').map_or(q, |(q, _)| q);
        form_pairs(q)
    }

    /// The cookies the request sent, name and value, in order.
    pub fn cookies_sent(&self) -> impl Iterator<Item = (&str, &str)> {
        self.request_header("cookie")
            .flat_map(|c| c.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
    }

    /// The path of the URL, without query.
    pub fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        path.split_once('?').map_or(path, |(p, _)| p)
    }
}

/// `a=1&b=%20x` decoded into pairs, as a form is (`+` is a space; a broken escape stays).
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn values<'a>(hs: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a str> {
    hs.iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| &*h.value)
}

/// One `Set-Cookie` header, read: the cookie and each attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Each attribute as written, name and value (`Secure` has none).
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let attributes = parts
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                None => (a.to_owned(), None),
            })
            .collect();
        Some(Self {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            attributes,
        })
    }

    /// The value of attribute `name` (any case), or `Some("")` for a flag that is present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Whether the header removes the cookie from the browser at `now` (Unix seconds): a
    /// `Max-Age` of zero or less wins over `Expires`, else an `Expires` in the past.
    pub fn removes(&self, now: u64) -> bool {
        if let Some(age) = self
            .attribute("Max-Age")
            .and_then(|a| a.parse::<i64>().ok())
        {
            return age <= 0;
        }
        self.attribute("Expires")
            .and_then(http_date_secs)
            .is_some_and(|t| t <= now)
    }
}

/// `Thu, 01 Jan 1970 00:00:00 GMT` as Unix seconds (the one form RFC 9110 says to send).
pub fn http_date_secs(s: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut f = s.split_whitespace().skip(1);
    let d: i64 = f.next()?.parse().ok()?;
    let month = f.next()?;
    let m = i64::try_from(MONTHS.iter().position(|&m| m == month)?).ok()? + 1;
    let y: i64 = f.next()?.parse().ok()?;
    let mut hms = f.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (hms.next()??, hms.next()??, hms.next()??);
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// The order of publication: a reader asks for the events after the last one it has.
    pub seq: u64,
    /// When the answer was known (Unix milliseconds).
    pub at_ms: u64,
    /// The order of arrival, on the same counter as `seq`.
    pub start_seq: u64,
    /// When the request arrived (Unix milliseconds).
    pub start_ms: u64,
    pub from: Actor,
    pub to: Actor,
    /// `GET /v1/secrets`
    pub request: String,
    pub status: u16,
    /// What matters about the answer, in a few words.
    pub note: String,
    /// The ALB's own calls to Cognito (token, userInfo), which the browser never sees.
    pub back_channel: bool,
    /// Who made it: the learner, or the guide's checks.
    #[serde(default)]
    pub client: Client,
    /// The whole exchange, when the lab saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Box<Exchange>>,
}

impl TraceEvent {
    /// The key the Flow pane sorts by: arrival, then publication.
    pub fn order(&self) -> (u64, u64) {
        (self.start_seq, self.seq)
    }
}

/// What the ALB's authenticate action did about an expired session, first in its row's note.
pub mod alb_note {
    /// The session outlived the rule's `SessionTimeout`: a full sign-in again.
    pub const SESSION_TIMED_OUT: &str =
        "session timed out (the rule's SessionTimeout): sign in again";
    /// The access token had expired; the ALB swapped its refresh token for new tokens.
    pub const REFRESHED: &str = "access token expired: refreshed through the back channel";
    /// The IdP refused the refresh token (a logout, a global sign-out, a revoked token).
    pub const REFRESH_REFUSED: &str =
        "access token expired and the refresh was refused: sign in again";
}

/// One answer of `GET /lab/trace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePage {
    /// The lab run these events belong to ([`crate::lab::LabInfo::run`]): a new one means the
    /// lab restarted, and its sequence numbers start again from 1.
    pub run: String,
    pub events: Vec<TraceEvent>,
    /// How far the lab's clock runs ahead of the wall clock, in seconds (`lab clock`).
    #[serde(default)]
    pub clock_offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_decode_and_a_broken_escape_stays() {
        let ex = Exchange {
            url: "http://localhost:8080/oauth2/authorize?redirect_uri=http%3A%2F%2Fx%2Fcb&scope=openid+email&bad=%zz&end=%4".into(),
            ..Exchange::default()
        };
        assert_eq!(
            ex.query(),
            [
                ("redirect_uri".to_owned(), "http://x/cb".to_owned()),
                ("scope".into(), "openid email".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
        assert_eq!(ex.path(), "/oauth2/authorize");
    }

    #[test]
    fn set_cookie_attributes_are_read_and_removal_is_seen() {
        let c = SetCookie::parse("cognito=abc; Path=/; Max-Age=3600; HttpOnly; Secure").unwrap();
        assert_eq!((c.name.as_str(), c.value.as_str()), ("cognito", "abc"));
        assert_eq!(c.attribute("httponly"), Some(""));
        assert!(!c.removes(1_700_000_000));
        let gone = SetCookie::parse(
            "AWSELBAuthSessionCookie-0=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
        )
        .unwrap();
        assert!(gone.removes(1_700_000_000));
        assert_eq!(
            http_date_secs("Mon, 26 Jun 2023 02:54:05 GMT"),
            Some(1_687_748_045)
        );
        assert_eq!(
            http_date_secs("Tue, 29 Feb 2000 00:00:00 GMT"),
            Some(951_782_400)
        );
        let later =
            SetCookie::parse("a=b; Max-Age=-1; Expires=Mon, 26 Jun 2093 02:54:05 GMT").unwrap();
        assert!(later.removes(0), "Max-Age wins");
        assert_eq!(SetCookie::parse("novalue"), None);
    }

    #[test]
    fn a_masked_form_is_not_a_cut_one() {
        let masked = Body {
            mime: "application/x-www-form-urlencoded".into(),
            text: "username=alice&password=********".into(),
            size: 35,
        };
        assert!(!masked.is_cut());
        let cut = Body {
            mime: "text/html".into(),
            text: "x".repeat(BODY_KEEP - 2).into(),
            size: 20_000,
        };
        assert!(cut.is_cut());
    }

    #[test]
    fn the_guide_is_known_by_its_user_agent() {
        assert_eq!(
            Client::from_user_agent(Some("cognito-learning-check/0.1")),
            Client::Guide
        );
        assert_eq!(Client::from_user_agent(Some("curl/8.5")), Client::Learner);
        assert_eq!(Client::from_user_agent(None), Client::Learner);
    }

    #[test]
    fn an_event_from_an_older_lab_reads_as_the_learners_without_an_exchange() {
        let old = r#"{"seq":2,"at_ms":5,"start_seq":1,"start_ms":4,"from":"browser","to":"alb","request":"GET /","status":200,"note":"","back_channel":false}"#;
        let e: TraceEvent = serde_json::from_str(old).unwrap();
        assert_eq!((e.client, e.exchange), (Client::Learner, None));
    }
}
