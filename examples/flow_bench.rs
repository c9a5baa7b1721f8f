//! The Flow pane and the exports with 10,000 whole exchanges held: resident memory they add to
//! the guide, the frame time (following new traffic, paused on a selection, and with an
//! exchange open), and the time to write them as HAR and as a Mermaid diagram.
//!
//! The exchanges are the worst case for memory: 1,250 sign-ins of eight exchanges each, as the
//! lab records them (the ALB's redirect, Cognito's authorize and sign-in page, the form posted,
//! the back channel's token and userInfo calls, the callback setting the session's cookies, the
//! app's request with the ALB's two token headers), every sign-in with its own tokens, cookies,
//! state and code. Nothing is shared between sign-ins but the headers every page has. A
//! learner's and the guide's alternate. Prints one JSON line.
//!
//!     cargo run --release --example flow_bench

use std::time::Instant;

#[path = "support/rss.rs"]
mod rss;
use rss::rss_kb;

use cognito_learning::export;
use cognito_learning::lessons::{self, Track};
use cognito_learning::progress::Progress;
use cognito_learning::tui::app::{App, FLOW_BUFFER, Msg, Pane};
use cognito_learning::tui::theme::Theme;
use cognito_learning::tui::ui::View;
use cognito_learning_contract::trace::{Actor, Body, Client, Exchange, Header, TraceEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const TOKEN: &str = include_str!("../tokens/tests/data/alb-real-token.txt");

fn h(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

/// A text `len` bytes long that no other sign-in has: the real token's characters, ending in
/// the sign-in's number and `kind`.
fn unique(len: usize, signin: u64, kind: char) -> String {
    let base = TOKEN.trim().repeat(len / TOKEN.len() + 1);
    format!("{}{kind}{signin:010}", &base[..len - 11])
}

fn json(mime: &str, text: String) -> Option<Body> {
    Some(Body {
        mime: mime.into(),
        size: text.len(),
        text: text.into(),
    })
}

/// The `i`th exchange (from 0): the `i % 8`th step of sign-in `i / 8`.
fn exchange(i: u64) -> TraceEvent {
    let n = i / 8;
    let guide = n.is_multiple_of(2);
    let ua = if guide {
        "cognito-learning-check/0.1.0 (the lab guide's own check)"
    } else {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    };
    let alb = "http://localhost:8080";
    let cognito = "http://127.0.0.1:9229";
    let state = unique(220, n, 's');
    let code = unique(36, n, 'c');
    let (id, access, refresh, data) = (
        unique(1100, n, 'i'),
        unique(1000, n, 'a'),
        unique(1700, n, 'r'),
        unique(TOKEN.trim().len(), n, 'd'),
    );
    let shard = format!("{}…[4096 bytes]", unique(48, n, 'k'));
    let authorize = format!(
        "{cognito}/oauth2/authorize?client_id=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Foauth2%2Fidpresponse&response_type=code&scope=openid&state={state}"
    );
    let browser = vec![
        h("host", "localhost:8080"),
        h("user-agent", ua),
        h(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        h("accept-language", "en-GB,en;q=0.9"),
    ];
    let with = |mut hs: Vec<Header>, more: Vec<Header>| {
        hs.extend(more);
        hs
    };
    let sessioned = || {
        with(
            browser.clone(),
            vec![h(
                "cookie",
                &format!("AWSELBAuthSessionCookie-0={shard}; AWSELBAuthSessionCookie-1={shard}"),
            )],
        )
    };
    let back = vec![h("host", "127.0.0.1:9229"), h("user-agent", "awselb/2.0")];
    #[rustfmt::skip]
    let (from, to, method, url, req_headers, req_body, status, res_headers, res_body) = match i % 8 {
        0 => (Actor::Browser, Actor::Alb, "GET", format!("{alb}/v1/secrets"), browser.clone(), None, 302,
            vec![h("location", &authorize), h("set-cookie", &format!("AWSALBAuthNonce={}; Path=/; HttpOnly", unique(44, n, 'n'))), h("server", "awselb/2.0")], None),
        1 => (Actor::Browser, Actor::Cognito, "GET", authorize.clone(), browser.clone(), None, 302,
            vec![h("location", &format!("{cognito}/login?client_id=abc&state={state}"))], None),
        2 => (Actor::Browser, Actor::Cognito, "GET", format!("{cognito}/login?client_id=abc&state={state}"), browser.clone(), None, 200,
            vec![h("content-type", "text/html; charset=utf-8"), h("set-cookie", &format!("XSRF-TOKEN={}; Path=/; HttpOnly", unique(36, n, 'x')))],
            json("text/html; charset=utf-8", format!("<html><head><title>Signin</title></head><body>{}<form action=\"/login\"><input type=\"hidden\" name=\"_csrf\" value=\"{}\"><input name=\"username\"><input name=\"password\"></form></body></html>", "<p>text</p>".repeat(200), unique(36, n, 'x')))),
        3 => (Actor::Browser, Actor::Cognito, "POST", format!("{cognito}/login?client_id=abc&state={state}"), browser.clone(),
            json("application/x-www-form-urlencoded", format!("_csrf={}&username=alice&password=********", unique(36, n, 'x'))), 302,
            vec![h("location", &format!("{alb}/oauth2/idpresponse?code={code}&state={state}")), h("set-cookie", &format!("cognito={}; Path=/; Secure; HttpOnly; SameSite=Lax", unique(300, n, 'g')))], None),
        4 => (Actor::Alb, Actor::Cognito, "POST", format!("{cognito}/oauth2/token"), with(back.clone(), vec![h("authorization", "Basic base64(abc:********)")]),
            json("application/x-www-form-urlencoded", format!("grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Foauth2%2Fidpresponse")), 200,
            vec![h("content-type", "application/json")],
            json("application/json", format!(r#"{{"id_token":"{id}","access_token":"{access}","refresh_token":"{refresh}","token_type":"Bearer","expires_in":3600}}"#))),
        5 => (Actor::Alb, Actor::Cognito, "GET", format!("{cognito}/oauth2/userInfo"), with(back.clone(), vec![h("authorization", &format!("Bearer {access}"))]), None, 200,
            vec![h("content-type", "application/json")],
            json("application/json", format!(r#"{{"sub":"{}","email":"alice@example.com","username":"alice"}}"#, unique(36, n, 'u')))),
        6 => (Actor::Browser, Actor::Alb, "GET", format!("{alb}/oauth2/idpresponse?code={code}&state={state}"), browser.clone(), None, 302,
            vec![h("location", &format!("{alb}/v1/secrets")),
                 h("set-cookie", &format!("AWSELBAuthSessionCookie-0={shard}; Expires=Mon, 14 Dec 2026 10:00:00 GMT; Path=/; HttpOnly")),
                 h("set-cookie", &format!("AWSELBAuthSessionCookie-1={shard}; Expires=Mon, 14 Dec 2026 10:00:00 GMT; Path=/; HttpOnly")),
                 h("set-cookie", "AWSALBAuthNonce=; Path=/; Max-Age=0; HttpOnly"), h("server", "awselb/2.0")], None),
        _ => (Actor::Alb, Actor::App, "GET", "http://127.0.0.1:5000/v1/secrets".to_owned(),
            with(sessioned(), vec![h("x-amzn-oidc-data", &data), h("x-amzn-oidc-accesstoken", &access), h("x-amzn-oidc-identity", &unique(36, n, 'u'))]), None, 200,
            vec![h("content-type", "application/json")],
            json("application/json", format!(r#"{{"caller":{{"sub":"{}","email":"alice@example.com"}},"secrets":["launch-code","the recipe"]}}"#, unique(36, n, 'u')))),
    };
    let path = url.split_once("://").map_or("/", |(_, r)| r);
    let path = &path[path.find('/').unwrap_or(0)..];
    let request = format!("{method} {}", path.split_once('?').map_or(path, |(p, _)| p));
    TraceEvent {
        seq: i + 1,
        at_ms: 1_796_636_000_000 + i * 10 + 3,
        start_seq: i + 1,
        start_ms: 1_796_636_000_000 + i * 10,
        from,
        to,
        request,
        status,
        note: "→ /v1/secrets · sets AWSELBAuthSessionCookie-0 · expires AWSALBAuthNonce".into(),
        back_channel: from == Actor::Alb && to == Actor::Cognito,
        client: if guide {
            Client::Guide
        } else {
            Client::Learner
        },
        exchange: Some(Box::new(Exchange {
            method: method.into(),
            url: url.into(),
            request_headers: req_headers,
            request_body: req_body,
            response_headers: res_headers,
            response_body: res_body,
        })),
    }
}

fn frames(app: &App, w: u16, h: u16) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut term = Terminal::new(TestBackend::new(w, h))?;
    let theme = Theme { color: true };
    for _ in 0..50 {
        term.draw(|f| f.render_widget(View { app, theme }, f.area()))?;
    }
    let mut times = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        term.draw(|f| f.render_widget(View { app, theme }, f.area()))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "p50_ms": times[times.len() / 2],
        "p99_ms": times[times.len() * 99 / 100],
        "max_ms": times[times.len() - 1],
    }))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (lessons, _) = lessons::load(None);
    let mut app = App::new(lessons, Vec::new(), Track::Local, Progress::default());
    let n = u64::try_from(FLOW_BUFFER)?;
    // As the guide gets them: pages of the lab's trace, each added as it arrives.
    let before = rss_kb();
    for page in (0..n).collect::<Vec<_>>().chunks(100) {
        app.update(Msg::Flow(page.iter().map(|&i| exchange(i)).collect()));
    }
    let after = rss_kb();
    let held: Vec<TraceEvent> = app.flow.iter().cloned().collect();
    let json_bytes = serde_json::to_vec(&held)?.len();
    assert_eq!(app.flow.len(), FLOW_BUFFER);
    app.now_ms = 1_796_636_000_000;

    let key = |c| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let following = frames(&app, 120, 40)?;
    app.focus = Pane::Flow;
    for _ in 0..5_000 {
        app.update(key(KeyCode::Char('k')));
    }
    let paused = frames(&app, 120, 40)?;
    app.update(key(KeyCode::Char('g')));
    let hiding = frames(&app, 120, 40)?;
    app.update(key(KeyCode::Enter));
    let opened = frames(&app, 120, 40)?;

    let t = Instant::now();
    let har = serde_json::to_vec(&export::har(&held))?;
    let har_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let mermaid = export::mermaid(&held);
    let mermaid_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "exchanges": FLOW_BUFFER,
            "trace_json_bytes": json_bytes,
            "rss_kb_before": before,
            "rss_kb_after": after,
            "rss_kb_added": after.saturating_sub(before),
            "frame_following": following,
            "frame_paused_on_a_selection": paused,
            "frame_guide_hidden": hiding,
            "frame_exchange_open": opened,
            "har_ms": har_ms,
            "har_bytes": har.len(),
            "mermaid_ms": mermaid_ms,
            "mermaid_bytes": mermaid.len(),
        })
    );
    Ok(())
}
