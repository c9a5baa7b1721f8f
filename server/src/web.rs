//! Text that reaches a browser: the one HTML escape every page of the app and the lab uses, and
//! the one percent-encoding for the URLs they build.

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
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
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
    }
}
