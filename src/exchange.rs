//! One exchange of the lab's trace, read out for a learner: the request line with each query
//! parameter decoded and said what it is for, the headers and cookies, the answer's status
//! and headers with each `Set-Cookie`'s attributes in words, and the body (a form decoded,
//! JSON pretty, HTML summarised). The Flow pane's exchange view draws these lines.

use cognito_learning_contract::trace::{
    Body, Client, Exchange, Header, SetCookie, TraceEvent, form_pairs,
};
use cognito_learning_tokens::time::{span, utc};
use serde_json::Value;

use crate::browser::unescape;

/// What a line is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Heading,
    /// `name: value`
    Field,
    /// What the field above is for.
    Explain,
    /// Body text, kept as it was.
    Text,
    Dim,
}

pub type Out = Vec<(Kind, String)>;

/// Longest value shown in full; a longer one (a token, a session shard) is cut with its length.
const SHOWN: usize = 160;

/// What each OAuth 2.0 and hosted-UI parameter is for.
const PARAMS: &[(&str, &str)] = &[
    (
        "client_id",
        "the app client the sign-in is for; Cognito accepts only a redirect_uri listed for it",
    ),
    (
        "redirect_uri",
        "where Cognito sends the browser back with the code; it must equal one of the client's callback URLs exactly (the ALB's is https://<DNS name>/oauth2/idpresponse)",
    ),
    (
        "response_type",
        "code: the authorization code grant; the browser carries only a one-time code, and the ALB swaps it for tokens on the back channel",
    ),
    (
        "scope",
        "what the tokens may hold; openid asks for an ID token, the rest for claims the ALB reads from userInfo",
    ),
    (
        "state",
        "a value the ALB made for this sign-in; it comes back with the code and must match the browser's AWSALBAuthNonce cookie, so a callback nobody started is refused",
    ),
    (
        "nonce",
        "copied into the ID token, so that a token cannot be replayed into another sign-in",
    ),
    (
        "code",
        "the one-time authorization code: valid 5 minutes, used once, worth nothing without the client secret",
    ),
    (
        "code_challenge",
        "PKCE: the hash of a secret the client keeps; the token request must show the secret (code_verifier)",
    ),
    (
        "code_challenge_method",
        "PKCE: how the challenge was made from the verifier (S256: SHA-256)",
    ),
    (
        "code_verifier",
        "PKCE: the secret whose hash the authorize request sent; proves the same client is asking",
    ),
    (
        "grant_type",
        "authorization_code swaps a code for tokens; refresh_token gets new ones from a refresh token",
    ),
    (
        "refresh_token",
        "the long-lived token (30 days by default) that gets new ID and access tokens without a sign-in",
    ),
    (
        "client_secret",
        "the app client's secret, which only the ALB and Cognito know (masked here)",
    ),
    (
        "logout_uri",
        "where Cognito's /logout sends the browser after ending its session; it must be one of the client's sign-out URLs",
    ),
    (
        "_csrf",
        "the hosted UI's anti-forgery value; it must equal the XSRF-TOKEN cookie Cognito set with the form",
    ),
    ("username", "who is signing in"),
    ("password", "the password typed in the form (masked here)"),
    ("lang", "the language of Cognito's pages"),
    (
        "identity_provider",
        "which identity provider to sign in with (COGNITO: the pool's own users)",
    ),
];

/// What each cookie the lab's parties set is for.
const COOKIES: &[(&str, &str)] = &[
    (
        "AWSELBAuthSessionCookie",
        "the ALB's session, sealed: who you are and your tokens, cut into shards of up to 4 KB; while it lives the ALB lets /v1/secrets through without Cognito",
    ),
    (
        "AWSALBAuthNonce",
        "ties this browser to the sign-in it started: the callback's state must match it",
    ),
    (
        "cognito",
        "Cognito's own session, on its domain: for an hour /oauth2/authorize signs you in again without the form (only Cognito's /logout ends it)",
    ),
    (
        "XSRF-TOKEN",
        "the hosted UI's anti-forgery value; the sign-in form sends it back as _csrf",
    ),
];

/// What each header worth a word is for.
const HEADERS: &[(&str, &str)] = &[
    (
        "x-amzn-oidc-data",
        "the user's claims, signed by the ALB (ES256); the app verifies it with the ALB's public key",
    ),
    (
        "x-amzn-oidc-accesstoken",
        "Cognito's access token, as the ALB got it (RS256, verifiable with the pool's JWKS)",
    ),
    (
        "x-amzn-oidc-identity",
        "the user's sub, unsigned: trusted only when it equals the verified data token's sub",
    ),
    (
        "x-forwarded-for",
        "the client's address as the ALB saw it, appended to what the client claimed",
    ),
    (
        "x-amzn-trace-id",
        "the ALB's request id, the same in its access log and the app's",
    ),
    ("location", "where the browser goes next"),
    (
        "authorization",
        "the caller's credentials: Basic for the client id and secret, Bearer for an access token",
    ),
];

/// What the parameter or header `name` is for: the table's entry of that exact name.
fn explain<'a>(table: &'a [(&str, &'a str)], name: &str) -> Option<&'a str> {
    table
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map(|(_, what)| *what)
}

/// What a cookie is for: by its name, or the start of it for the ALB's numbered shards
/// (`AWSELBAuthSessionCookie-0`).
fn explain_cookie(name: &str) -> Option<&'static str> {
    COOKIES
        .iter()
        .find(|(n, _)| {
            name == *n
                || name
                    .strip_prefix(n)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(_, what)| *what)
}

/// A long value shortened, with its length.
fn shown(v: &str) -> String {
    if v.chars().count() <= SHOWN {
        return v.to_owned();
    }
    let head: String = v.chars().take(SHOWN - 40).collect();
    format!("{head}… ({} chars)", v.chars().count())
}

/// The whole exchange, read out. `now` (Unix seconds) decides whether a cookie's `Expires`
/// has passed.
pub fn read_out(e: &TraceEvent, now: u64) -> Out {
    let mut out = Out::new();
    let who = match e.client {
        Client::Learner => "you (a browser, curl)",
        Client::Guide => "the guide's own check",
    };
    out.push((
        Kind::Dim,
        format!(
            "{} → {}{} · made by {who} · {}",
            e.from.name(),
            e.to.name(),
            if e.back_channel {
                " · back channel: the browser never sees this"
            } else {
                ""
            },
            utc(e.start_ms / 1000)
        ),
    ));
    let Some(ex) = &e.exchange else {
        out.push((Kind::Field, format!("{} → {}", e.request, e.status)));
        if !e.note.is_empty() {
            out.push((Kind::Explain, e.note.clone()));
        }
        out.push((
            Kind::Dim,
            "this exchange was recorded without its headers and body".into(),
        ));
        return out;
    };
    request(ex, &mut out);
    out.push((Kind::Text, String::new()));
    out.push((
        Kind::Heading,
        format!("Response {} {}", e.status, http_reason(e.status)),
    ));
    if !e.note.is_empty() {
        out.push((Kind::Explain, e.note.clone()));
    }
    headers(&ex.response_headers, "set-cookie", &mut out);
    let host = ex
        .url
        .split_once("://")
        .map(|(_, r)| r.split(['/', ':']).next().unwrap_or(""))
        .unwrap_or("");
    for c in ex
        .response_header("set-cookie")
        .filter_map(SetCookie::parse)
    {
        set_cookie(&c, host, now, &mut out);
    }
    if let Some(b) = &ex.response_body {
        body(b, &mut out);
    }
    out
}

fn request(ex: &Exchange, out: &mut Out) {
    out.push((
        Kind::Heading,
        format!("Request {} {}", ex.method, ex.path()),
    ));
    out.push((Kind::Dim, shown(&ex.url)));
    let q = ex.query();
    if !q.is_empty() {
        out.push((Kind::Heading, "Query".into()));
        params(&q, out);
    }
    headers(&ex.request_headers, "cookie", out);
    let cookies: Vec<(&str, &str)> = ex.cookies_sent().collect();
    if !cookies.is_empty() {
        out.push((Kind::Heading, "Cookies sent".into()));
        for (name, value) in cookies {
            out.push((Kind::Field, format!("{name} = {}", shown(value))));
            if let Some(what) = explain_cookie(name) {
                out.push((Kind::Explain, what.into()));
            }
        }
    }
    if let Some(b) = &ex.request_body {
        body(b, out);
    }
}

fn params(pairs: &[(String, String)], out: &mut Out) {
    for (k, v) in pairs {
        out.push((Kind::Field, format!("{k} = {}", shown(v))));
        if let Some(what) = explain(PARAMS, k) {
            out.push((Kind::Explain, what.into()));
        }
    }
}

/// Every header but `skip` (read out on its own), each known one explained.
fn headers(hs: &[Header], skip: &str, out: &mut Out) {
    let shown_headers: Vec<&Header> = hs
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case(skip))
        .collect();
    if shown_headers.is_empty() {
        return;
    }
    out.push((Kind::Heading, "Headers".into()));
    for h in shown_headers {
        out.push((Kind::Field, format!("{}: {}", h.name, shown(&h.value))));
        if let Some(what) = explain(HEADERS, &h.name.to_ascii_lowercase()) {
            out.push((Kind::Explain, what.into()));
        }
    }
}

fn set_cookie(c: &SetCookie, host: &str, now: u64, out: &mut Out) {
    let removes = c.removes(now);
    out.push((
        Kind::Field,
        if removes {
            format!(
                "Set-Cookie {}: expires the cookie (the browser drops it)",
                c.name
            )
        } else {
            format!(
                "Set-Cookie {} = {}",
                c.name,
                if c.value.is_empty() {
                    "(empty)".to_owned()
                } else {
                    shown(&c.value)
                }
            )
        },
    ));
    let mut said = Vec::new();
    for (k, v) in &c.attributes {
        let v = v.as_deref().unwrap_or("");
        said.push(match k.to_ascii_lowercase().as_str() {
            "max-age" => match v.parse::<i64>() {
                Ok(s) if s > 0 => format!("Max-Age={v}: kept for {}", span(s.unsigned_abs())),
                _ => format!("Max-Age={v}: dropped at once"),
            },
            "expires" if removes => format!("Expires={v}: a date in the past"),
            "expires" => format!("Expires={v}: kept until then"),
            "path" => format!("Path={v}: sent with requests under {v}"),
            "httponly" => "HttpOnly: page scripts cannot read it".into(),
            "secure" => "Secure: sent over HTTPS only".into(),
            "samesite" => format!("SameSite={v}: which cross-site requests carry it"),
            "domain" => format!("Domain={v}: sent to {v} and its subdomains"),
            _ => format!("{k}={v}"),
        });
    }
    if c.attribute("Domain").is_none() && !host.is_empty() {
        said.push(format!("no Domain: sent to {host} only"));
    }
    if c.attribute("Max-Age").is_none() && c.attribute("Expires").is_none() {
        said.push("no Max-Age or Expires: kept until the browser closes".into());
    }
    for s in said {
        out.push((Kind::Explain, s));
    }
    if !removes && let Some(what) = explain_cookie(&c.name) {
        out.push((Kind::Explain, what.into()));
    }
}

fn body(b: &Body, out: &mut Out) {
    let cut = if b.is_cut() {
        format!(", first {} shown", b.text.len())
    } else {
        String::new()
    };
    out.push((
        Kind::Heading,
        format!(
            "Body ({}{} bytes{cut})",
            if b.mime.is_empty() {
                String::new()
            } else {
                format!("{}, ", b.mime)
            },
            b.size
        ),
    ));
    if b.text.is_empty() {
        out.push((Kind::Dim, "(not text)".into()));
    } else if b.mime.starts_with("application/x-www-form-urlencoded") {
        params(&form_pairs(&b.text), out);
    } else if let Ok(v) = serde_json::from_str::<Value>(&b.text) {
        let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
        out.extend(pretty.lines().map(|l| (Kind::Text, shown(l))));
    } else if b.mime.starts_with("text/html") {
        html_summary(&b.text, out);
    } else {
        out.extend(b.text.lines().take(40).map(|l| (Kind::Text, shown(l))));
    }
}

/// An HTML page as a learner wants it: its title, headings, form fields and links.
fn html_summary(html: &str, out: &mut Out) {
    let mut said = 0;
    for (tag, what) in [
        ("title", "title"),
        ("h1", "heading"),
        ("h2", "heading"),
        ("p", "text"),
    ] {
        for text in elements(html, tag).into_iter().take(4) {
            out.push((Kind::Text, format!("{what}: {}", shown(&text))));
            said += 1;
        }
    }
    let forms = attributes(html, "form", "action");
    for f in &forms {
        out.push((Kind::Text, format!("form posting to {}", shown(f))));
    }
    let fields = attributes(html, "input", "name");
    if !fields.is_empty() {
        out.push((Kind::Text, format!("form fields: {}", fields.join(", "))));
    }
    let links = attributes(html, "a", "href");
    for l in links.iter().take(6) {
        out.push((Kind::Text, format!("link: {}", shown(l))));
    }
    if said + forms.len() + fields.len() + links.len() == 0 {
        out.push((
            Kind::Dim,
            "(an HTML page with no title, text or form)".into(),
        ));
    }
}

/// The text of each `<tag …>…</tag>`, tags inside removed.
fn elements(html: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // `<p` must not match `<path`.
        if !after.starts_with(['>', ' ', '\n', '\t']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let inner = &after[gt + 1..];
        let end = inner.find(&close).unwrap_or(inner.len());
        let text = strip_tags(&inner[..end]);
        if !text.is_empty() {
            found.push(text);
        }
        rest = &inner[end..];
    }
    found
}

/// The values of `attr` on each `<tag …>`.
fn attributes(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let open = format!("<{tag} ");
    let key = format!("{attr}=\"");
    html.match_indices(&open)
        .filter_map(|(i, _)| {
            let t = &html[i..];
            let t = &t[..t.find('>').unwrap_or(t.len())];
            let v = &t[t.find(&key)? + key.len()..];
            Some(unescape(&v[..v.find('"')?]))
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The reason phrase for a status: HTTP's own, and the ALB's 561 for an IdP error.
pub fn http_reason(status: u16) -> &'static str {
    match status {
        561 => "Unauthorized (the ALB's IdP error)",
        s => reqwest::StatusCode::from_u16(s)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_is_explained_by_its_own_name_and_a_shard_by_its_cookies() {
        assert!(explain(PARAMS, "code").is_some_and(|w| w.contains("one-time")));
        assert!(explain(PARAMS, "code_challenge").is_some_and(|w| w.starts_with("PKCE")));
        assert_eq!(explain(PARAMS, "codex"), None);
        assert!(explain_cookie("AWSELBAuthSessionCookie-3").is_some_and(|w| w.contains("shards")));
        assert!(explain_cookie("cognito").is_some());
        assert_eq!(explain_cookie("cognito-fl"), None);
    }
}
