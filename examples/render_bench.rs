//! Render cost of the guide with a full token buffer: 10,000 token events (each with the real
//! ALB data token from tokens/tests/data, decoded) and 500 flow events, drawn on ratatui's
//! TestBackend as the guide draws every frame. Prints one JSON line.
//!
//!     cargo run --release --example render_bench

use std::time::Instant;

#[path = "support/rss.rs"]
mod rss;
use rss::rss_kb;

use cognito_learning::lessons::{self, Track};
use cognito_learning::progress::Progress;
use cognito_learning::stream::{SeenToken, TokenEvent};
use cognito_learning::tui::app::{App, Msg, TOKEN_BUFFER};
use cognito_learning::tui::theme::Theme;
use cognito_learning::tui::ui::View;
use cognito_learning_contract::trace::{Actor, TraceEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const TOKEN: &str = include_str!("../tokens/tests/data/alb-real-token.txt");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = rss_kb();
    let (lessons, _) = lessons::load(None);
    let mut app = App::new(lessons, Vec::new(), Track::Local, Progress::default());
    let raw = TOKEN.trim().to_owned();
    let claims = cognito_learning_tokens::Decoded::parse(&raw, 0)?.claims;
    let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
    let events: Vec<TokenEvent> = (0..TOKEN_BUFFER)
        .map(|i| TokenEvent {
            at_ms: 1_687_748_000_000 + i64::try_from(i).unwrap_or(0),
            method: "GET".into(),
            path: if i % 2 == 0 {
                "/v1/secrets"
            } else {
                "/v1/secrets/x"
            }
            .into(),
            status: 200,
            data: Some(SeenToken::new(&raw, Ok(()))),
            access: Some(SeenToken::new(&raw, Err("signature does not match".into()))),
            identity: Some(sub.clone()),
            app: cognito_learning::stream::AppVerdicts {
                data: Some("valid".into()),
                access: Some("invalid: bad signature".into()),
                identity: Some("matches the verified sub".into()),
            },
            client: Default::default(),
            direct: false,
        })
        .collect();
    let before = rss_kb();
    app.update(Msg::Tokens(events));
    let after = rss_kb();
    app.update(Msg::Flow(
        // Sequence numbers start at 1: 0 marks a row from the app's log.
        (1..=500)
            .map(|seq| TraceEvent {
                seq,
                at_ms: seq,
                start_seq: seq,
                start_ms: seq,
                from: Actor::Browser,
                to: Actor::Alb,
                request: "GET /v1/secrets".into(),
                status: 302,
                note: "to /oauth2/authorize".into(),
                back_channel: false,
                client: Default::default(),
                exchange: None,
            })
            .collect(),
    ));
    app.now_ms = 1_687_748_000_000;
    assert_eq!(app.tokens.len(), TOKEN_BUFFER);

    let mut results = Vec::new();
    for (name, w, h, filter) in [
        ("120x40", 120, 40, ""),
        ("80x24", 80, 24, ""),
        ("200x60", 200, 60, ""),
        ("120x40, filter matching every event", 120, 40, "duke"),
        ("120x40, filter matching none", 120, 40, "no-such-claim"),
    ] {
        // The filter is typed as a learner types it; the last key re-filters the buffer.
        app.update(key(KeyCode::Char('/')));
        while !app.tokens.filter.is_empty() {
            app.update(key(KeyCode::Backspace));
        }
        let mut last_key_ms = 0.0;
        for c in filter.chars() {
            let t = Instant::now();
            app.update(key(KeyCode::Char(c)));
            last_key_ms = t.elapsed().as_secs_f64() * 1000.0;
        }
        app.update(key(KeyCode::Enter));
        let mut term = Terminal::new(TestBackend::new(w, h))?;
        let theme = Theme { color: true };
        for _ in 0..50 {
            term.draw(|f| f.render_widget(View { app: &app, theme }, f.area()))?;
        }
        let mut times = Vec::new();
        for _ in 0..500 {
            let t = Instant::now();
            term.draw(|f| f.render_widget(View { app: &app, theme }, f.area()))?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        results.push(serde_json::json!({
            "screen": name,
            "p50_ms": times[times.len() / 2],
            "p99_ms": times[times.len() * 99 / 100],
            "max_ms": times[times.len() - 1],
            "filter_key_ms": last_key_ms,
        }));
    }
    println!(
        "{}",
        serde_json::json!({ "events": TOKEN_BUFFER, "rss_kb_start": start, "rss_kb_before": before, "rss_kb_after": after, "frames": results })
    );
    Ok(())
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}
