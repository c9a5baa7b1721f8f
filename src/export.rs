//! What the lab saw, written out: HAR 1.2 (the format a browser's developer tools save and
//! open) and a Mermaid sequence diagram for a Markdown page. Both come from the trace's
//! exchanges, whose secrets the lab masked already (client secret, passwords).

use cognito_learning_contract::trace::{Client, Exchange, Header, SetCookie, TraceEvent};
use cognito_learning_tokens::time::utc_millis;
use serde_json::{Value, json};

use crate::exchange::http_reason;

/// The events as a HAR 1.2 log, in the order their requests began.
pub fn har(events: &[TraceEvent]) -> Value {
    let mut sorted: Vec<&TraceEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.order());
    let entries: Vec<Value> = sorted.into_iter().map(entry).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "cognito-learning", "version": env!("CARGO_PKG_VERSION")},
            "entries": entries,
            "comment": "The local lab's trace: each exchange between the browser, the ALB, Cognito and the app. Client secrets and passwords are masked; long cookie values are cut.",
        }
    })
}

fn entry(e: &TraceEvent) -> Value {
    let empty = Exchange::default();
    let ex = e.exchange.as_deref().unwrap_or(&empty);
    let (method, url) = if ex.url.is_empty() {
        let (m, p) = e.request.split_once(' ').unwrap_or(("GET", &e.request));
        (m.to_owned(), format!("http://lab{p}"))
    } else {
        (ex.method.to_string(), ex.url.to_string())
    };
    let time = e.at_ms.saturating_sub(e.start_ms);
    let request_cookies: Vec<Value> = ex
        .cookies_sent()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let response_cookies: Vec<Value> = ex
        .response_header("set-cookie")
        .filter_map(SetCookie::parse)
        .map(|c| {
            let mut o = json!({"name": c.name, "value": c.value});
            for (k, v) in [("path", "Path"), ("domain", "Domain")] {
                if let Some(x) = c.attribute(v) {
                    o[k] = json!(x);
                }
            }
            // HAR wants an ISO 8601 date-time, not the cookie's HTTP date.
            if let Some(secs) = c
                .attribute("Expires")
                .and_then(cognito_learning_contract::trace::http_date_secs)
            {
                o["expires"] = json!(utc_millis(secs * 1000));
            }
            o["httpOnly"] = json!(c.attribute("HttpOnly").is_some());
            o["secure"] = json!(c.attribute("Secure").is_some());
            o
        })
        .collect();
    let query: Vec<Value> = ex
        .query()
        .into_iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let mut request = json!({
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": request_cookies,
        "headers": headers(&ex.request_headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": ex.request_body.as_ref().map_or(0, |b| b.size),
    });
    if let Some(b) = &ex.request_body {
        request["postData"] = json!({
            "mimeType": b.mime,
            "text": b.text,
        });
    }
    let location = ex.response_header("location").next().unwrap_or("");
    let body = ex.response_body.as_ref();
    let mut content = json!({
        "size": body.map_or(0, |b| b.size),
        "mimeType": body.map_or("", |b| &*b.mime),
    });
    if let Some(b) = body.filter(|b| !b.text.is_empty()) {
        content["text"] = json!(b.text);
    }
    json!({
        "startedDateTime": utc_millis(e.start_ms),
        "time": time,
        "request": request,
        "response": {
            "status": e.status,
            "statusText": http_reason(e.status),
            "httpVersion": "HTTP/1.1",
            "cookies": response_cookies,
            "headers": headers(&ex.response_headers),
            "content": content,
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": body.map_or(0, |b| b.size),
        },
        "cache": {},
        "timings": {"send": 0, "wait": time, "receive": 0},
        "comment": comment(e),
    })
}

fn headers(hs: &[Header]) -> Vec<Value> {
    hs.iter()
        .map(|h| json!({"name": h.name, "value": h.value}))
        .collect()
}

fn comment(e: &TraceEvent) -> String {
    let mut c = format!("{} → {}", e.from.name(), e.to.name());
    if e.back_channel {
        c.push_str(", back channel (the browser never sees it)");
    }
    if e.client == Client::Guide {
        c.push_str(", made by the guide's own check");
    }
    if !e.note.is_empty() {
        c.push_str(": ");
        c.push_str(&e.note);
    }
    c
}

/// The events as a Mermaid sequence diagram: a request arrow and its answer for each, the back
/// channel dashed and noted, the guide's exchanges marked.
pub fn mermaid(events: &[TraceEvent]) -> String {
    let mut sorted: Vec<&TraceEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.order());
    let mut out = String::from(
        "sequenceDiagram\n    participant Browser\n    participant ALB\n    participant Cognito\n    participant App\n",
    );
    for e in sorted {
        let (from, to) = (e.from.name(), e.to.name());
        let guide = if e.client == Client::Guide {
            " (guide)"
        } else {
            ""
        };
        let arrow = if e.back_channel { "-)" } else { "->>" };
        out.push_str(&format!(
            "    {from}{arrow}{to}: {}{guide}\n",
            text(&e.request)
        ));
        let answer = if e.note.is_empty() {
            format!("{} {}", e.status, http_reason(e.status))
        } else {
            format!("{} · {}", e.status, e.note)
        };
        out.push_str(&format!("    {to}-->>{from}: {}\n", text(&answer)));
    }
    out
}

/// Text safe on a Mermaid message line: no line breaks, `;` and `#` written as entities.
fn text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' => " ".to_owned(),
            '#' => "#35;".to_owned(),
            ';' => "#59;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Writes `events` as HAR 1.2 to `path`, readable by its owner only (it holds tokens).
pub fn write_har(events: &[TraceEvent], path: &std::path::Path) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(&har(events)).map_err(std::io::Error::other)?;
    cognito_learning_emulator::state::write_private(path, &text)
}

/// Writes `events` as a Mermaid sequence diagram to `path`, readable by its owner only.
pub fn write_mermaid(events: &[TraceEvent], path: &std::path::Path) -> std::io::Result<()> {
    cognito_learning_emulator::state::write_private(path, mermaid(events).as_bytes())
}

/// Writes `events` as `<stem>.har` and `<stem>.mmd` beside each other, readable by their owner
/// only (they hold tokens); a line saying what was written.
pub fn write_both(events: &[TraceEvent], stem: &std::path::Path) -> std::io::Result<String> {
    let har_path = stem.with_extension("har");
    write_har(events, &har_path)?;
    write_mermaid(events, &stem.with_extension("mmd"))?;
    Ok(format!(
        "wrote {} exchange(s) to {} (HAR 1.2) and .mmd (Mermaid)",
        events.len(),
        har_path.display(),
    ))
}

/// The JWTs an exchange carries, with where each was: the ALB's headers, a bearer token, and
/// the token endpoint's answer.
pub fn tokens_in(ex: &Exchange) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |label: &'static str, raw: &str| {
        let raw = raw.trim();
        if raw.split('.').count() == 3 && !out.iter().any(|(_, r): &(_, String)| r == raw) {
            out.push((label, raw.to_owned()));
        }
    };
    for v in ex.request_header("x-amzn-oidc-data") {
        add("x-amzn-oidc-data", v);
    }
    for v in ex.request_header("x-amzn-oidc-accesstoken") {
        add("x-amzn-oidc-accesstoken", v);
    }
    for v in ex.request_header("authorization") {
        if let Some(t) = v.strip_prefix("Bearer ") {
            add("the bearer access token", t);
        }
    }
    if let Some(body) = &ex.response_body
        && let Ok(v) = serde_json::from_str::<Value>(&body.text)
    {
        for (field, label) in [
            ("access_token", "the access token"),
            ("id_token", "the ID token"),
        ] {
            if let Some(t) = v.get(field).and_then(Value::as_str) {
                add(label, t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognito_learning_contract::trace::{Actor, Body};

    fn event() -> TraceEvent {
        let h = |n: &str, v: &str| Header {
            name: n.into(),
            value: v.into(),
        };
        TraceEvent {
            seq: 3,
            at_ms: 1_796_636_000_250,
            start_seq: 2,
            start_ms: 1_796_636_000_000,
            from: Actor::Alb,
            to: Actor::Cognito,
            request: "POST /oauth2/token".into(),
            status: 200,
            note: "code → id, access, refresh token".into(),
            back_channel: true,
            client: Client::Learner,
            exchange: Some(Box::new(Exchange {
                method: "POST".into(),
                url: "http://127.0.0.1:9229/oauth2/token".into(),
                request_headers: vec![
                    h("authorization", "Basic base64(abc:********)"),
                    h("cookie", "a=1; b=2"),
                ],
                request_body: Some(Body {
                    mime: "application/x-www-form-urlencoded".into(),
                    text: "grant_type=authorization_code&code=xyz".into(),
                    size: 38,
                }),
                response_headers: vec![h("set-cookie", "cognito=s; Path=/; HttpOnly")],
                response_body: Some(Body {
                    mime: "application/json".into(),
                    text: "{\"id_token\":\"e30.e30.x\"}".into(),
                    size: 24,
                }),
            })),
        }
    }

    #[test]
    fn a_har_entry_holds_what_the_format_requires() {
        let har = har(&[event()]);
        let e = &har["log"]["entries"][0];
        assert_eq!(har["log"]["version"], "1.2");
        assert_eq!(e["startedDateTime"], "2026-12-07T09:33:20.000Z");
        assert_eq!(e["time"], 250);
        assert_eq!(e["request"]["method"], "POST");
        assert_eq!(e["request"]["cookies"][1]["name"], "b");
        assert_eq!(
            e["request"]["postData"]["mimeType"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(e["response"]["statusText"], "OK");
        assert_eq!(e["response"]["cookies"][0]["httpOnly"], true);
        assert_eq!(e["response"]["content"]["size"], 24);
        for k in ["cache", "timings"] {
            assert!(e[k].is_object(), "{k}");
        }
        assert!(e["comment"].as_str().unwrap().contains("back channel"));
    }

    #[test]
    fn the_diagram_has_an_arrow_and_an_answer_per_exchange() {
        let mut guide = event();
        guide.client = Client::Guide;
        guide.back_channel = false;
        guide.request = "GET /v1/secrets#x;y".into();
        let m = mermaid(&[event(), guide]);
        assert!(m.starts_with("sequenceDiagram\n"));
        assert!(m.contains("    ALB-)Cognito: POST /oauth2/token\n"), "{m}");
        assert!(m.contains("    Cognito-->>ALB: 200 · code → id, access, refresh token\n"));
        assert!(
            m.contains("ALB->>Cognito: GET /v1/secrets#35;x#59;y (guide)"),
            "{m}"
        );
    }
}
