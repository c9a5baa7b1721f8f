//! Text that reaches a browser, and what comes back from one: the one HTML escape every page of
//! the app and the lab uses, the one percent-encoding for the URLs they build (and SigV4 signs),
//! and the one reading of a request's cookies.

use http::{HeaderMap, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986's unreserved characters stay; everything else is encoded.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, with `/` kept (a URI path, as SigV4 canonicalises it).
const RESERVED_BUT_SLASH: &AsciiSet = &RESERVED.remove(b'/');

/// Escapes `s` for HTML element content, attribute values (quoted with `"` or `'`) and comments.
///
/// Every value that reaches HTML goes through here: the app's pages, the ALB stand-in's error
/// pages and the hosted UI's forms. `<` and `>` are escaped, so a comment cannot be closed from
/// inside (`-->` becomes `--&gt;`) and no tag can be opened.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything outside RFC 3986's unreserved set (spaces as `%20`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RESERVED).to_string()
}

/// [`percent_encode`] with `/` kept.
pub fn percent_encode_path(s: &str) -> String {
    utf8_percent_encode(s, RESERVED_BUT_SLASH).to_string()
}

/// Every `name=value` pair of a request's Cookie headers, in order.
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

/// The first cookie called `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_leaves_no_markup() {
        assert_eq!(
            escape_html(r#"--><script>alert('x')</script>"&"#),
            "--&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
        assert_eq!(escape_html("plain é text"), "plain é text");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(
            percent_encode("http://localhost:8080/logout"),
            "http%3A%2F%2Flocalhost%3A8080%2Flogout"
        );
        assert_eq!(percent_encode("a-b_c.d~e f"), "a-b_c.d~e%20f");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode_path("/a b/c"), "/a%20b/c");
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; b=x=y".parse().unwrap());
        h.append(header::COOKIE, "c=3".parse().unwrap());
        let all: Vec<_> = cookies(&h).collect();
        assert_eq!(all, [("a", "1"), ("b", "x=y"), ("c", "3")]);
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "d"), None);
    }
}
