//! What the checks say about what they saw: headers, cookie names, URLs cut to what a learner
//! needs, and errors with their causes.

use reqwest::Url;

use crate::browser;

pub(super) type Res = Result<String, String>;

pub(super) fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of the cookies an answer sets.
pub(super) fn cookie_names(r: &reqwest::Response) -> Vec<String> {
    r.cookies().map(|c| c.name().to_owned()).collect()
}

pub(super) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// `scheme://host:port` of a URL (the text itself when it does not parse).
pub(super) fn origin(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| browser::origin(&u))
}

/// The path and query of a URL.
pub(super) fn path_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// A long URL cut to its origin and path.
pub(super) fn without_query(url: &str) -> String {
    let cut = url.split('?').next().unwrap_or(url);
    if cut.len() < url.len() {
        format!("{cut}?…")
    } else {
        cut.to_owned()
    }
}

pub(super) fn err(e: anyhow::Error) -> String {
    chain(&e)
}

pub(super) fn chain(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s = format!("{s}: {text}");
        }
        src = inner.source();
    }
    s
}

pub(super) fn unreachable(url: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("nothing answers at {} (timed out)", origin(url))
    } else if e.is_connect() {
        format!(
            "nothing answers at {} ({})",
            origin(url),
            crate::aws::root_cause(e).to_lowercase()
        )
    } else {
        format!("{url}: {}", error_chain(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            origin("http://localhost:8080/v1/x?y=1"),
            "http://localhost:8080"
        );
        assert_eq!(path_of("http://localhost:8080/v1/x"), "/v1/x");
        assert_eq!(origin("http://h"), "http://h");
        assert_eq!(origin("http://[::1]:8080/x"), "http://[::1]:8080");
        assert_eq!(without_query("http://h/a?b=c"), "http://h/a?…");
    }
}
