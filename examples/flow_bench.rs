//! The Flow pane and the exports with 10,000 whole exchanges held: resident memory they add to
//! the guide, the frame time (following new traffic, paused on a selection, and with an
//! exchange open), and the time to write them as HAR and as a Mermaid diagram. The exchanges
//! are shaped as the lab records a sign-in: a redirect with its cookies, the hosted UI's page,
//! the back channel's token answer, the app's JSON, a learner's and the guide's alternating.
//! Prints one JSON line.
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

/// The `i`th exchange (from 1) of a sign-in as the lab records it.
fn exchange(i: u64) -> TraceEvent {
    let token = TOKEN.trim();
    let ua = if i.is_multiple_of(2) {
        "cognito-learning-check/0.1.0 (the lab guide's own check)"
    } else {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    };
    let shard = format!("{}…[4096 bytes]", "a".repeat(48));
    let mut request_headers = vec![
        h("host", "localhost:8080"),
        h("user-agent", ua),
        h(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        h("accept-language", "en-GB,en;q=0.9"),
        h(
            "cookie",
            &format!("AWSELBAuthSessionCookie-0={shard}; AWSELBAuthSessionCookie-1={shard}"),
        ),
    ];
    let (from, to, request, status, url, response_headers, body) = match i % 4 {
        0 => (
            Actor::Browser,
            Actor::Alb,
            "GET /oauth2/idpresponse?code&state",
            302,
            format!("http://localhost:8080/oauth2/idpresponse?code={}&state={}", "c".repeat(36), "s".repeat(220)),
            vec![
                h("location", "http://localhost:8080/v1/secrets"),
                h("set-cookie", &format!("AWSELBAuthSessionCookie-0={shard}; Expires=Mon, 14 Dec 2026 10:00:00 GMT; Path=/; HttpOnly")),
                h("set-cookie", "AWSALBAuthNonce=; Path=/; Max-Age=0; HttpOnly"),
                h("server", "awselb/2.0"),
            ],
            None,
        ),
        1 => (
            Actor::Browser,
            Actor::Cognito,
            "GET /login",
            200,
            "http://127.0.0.1:9229/login?client_id=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Foauth2%2Fidpresponse&response_type=code&scope=openid".into(),
            vec![h("content-type", "text/html; charset=utf-8"), h("set-cookie", "XSRF-TOKEN=71724902-0f87-49d1-9991-e5a8312942c9; Path=/; HttpOnly")],
            Some(Body { mime: "text/html; charset=utf-8".into(), text: format!("<html><head><title>Sign in</title></head><body>{}<form action=\"/login\"><input name=\"_csrf\"><input name=\"username\"><input name=\"password\"></form></body></html>", "<p>text</p>".repeat(200)), size: 2400 }),
        ),
        2 => (
            Actor::Alb,
            Actor::Cognito,
            "POST /oauth2/token",
            200,
            "http://127.0.0.1:9229/oauth2/token".into(),
            vec![h("content-type", "application/json")],
            Some(Body { mime: "application/json".into(), text: format!(r#"{{"id_token":"{token}","access_token":"{token}","refresh_token":"{}","token_type":"Bearer","expires_in":3600}}"#, "r".repeat(1700)), size: 4000 }),
        ),
        _ => (
            Actor::Alb,
            Actor::App,
            "GET /v1/secrets",
            200,
            "http://127.0.0.1:5000/v1/secrets".into(),
            vec![h("content-type", "application/json")],
            Some(Body { mime: "application/json".into(), text: r#"{"caller":{"sub":"e4c1","email":"alice@example.com"},"secrets":["launch-code","the recipe"]}"#.into(), size: 90 }),
        ),
    };
    if to == Actor::App {
        request_headers.push(h("x-amzn-oidc-data", token));
        request_headers.push(h("x-amzn-oidc-accesstoken", token));
    }
    TraceEvent {
        seq: i,
        at_ms: 1_796_636_000_000 + i * 10 + 3,
        start_seq: i,
        start_ms: 1_796_636_000_000 + i * 10,
        from,
        to,
        request: request.into(),
        status,
        note: "→ /v1/secrets · sets AWSELBAuthSessionCookie-0 · expires AWSALBAuthNonce".into(),
        back_channel: from == Actor::Alb && to == Actor::Cognito,
        client: if i.is_multiple_of(2) {
            Client::Guide
        } else {
            Client::Learner
        },
        exchange: Some(Box::new(Exchange {
            method: request.split(' ').next().unwrap_or("GET").into(),
            url,
            request_headers,
            request_body: None,
            response_headers,
            response_body: body,
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
    for page in (1..=n).collect::<Vec<_>>().chunks(100) {
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
