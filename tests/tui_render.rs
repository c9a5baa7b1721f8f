#![allow(clippy::unwrap_used)]
//! The guide drawn on ratatui's TestBackend: insta snapshots at 80x24 and 120x40, and cell
//! assertions where colour carries meaning (snapshots drop it).

use std::collections::BTreeMap;

use cognito_learning::checks::Outcome;
use cognito_learning::lessons::{self, Track};
use cognito_learning::progress::Progress;
use cognito_learning::stream::{SeenToken, TokenEvent};
use cognito_learning::tui::app::{App, CheckState, Msg, Service};
use cognito_learning::tui::theme::Theme;
use cognito_learning::tui::ui::View;
use cognito_learning_emulator::trace::{Actor, TraceEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

const TOKEN: &str = include_str!("../tokens/tests/data/alb-real-token.txt");
/// Two minutes before the real token's exp.
const NOW_MS: i64 = 1_687_748_045_000 - 60_000;

fn app() -> App {
    let lesson =
        lessons::parse("11-the-flow.toml", include_str!("data/render-lesson.toml")).unwrap();
    let other = lessons::parse(
        "12-authorisation.toml",
        &include_str!("data/render-lesson.toml").replace("The flow", "Authorisation"),
    )
    .unwrap();
    let mut progress = Progress::default();
    progress.mark(Track::Local, "12-authorisation", 0);
    progress.mark(Track::Local, "12-authorisation", 1);
    let mut app = App::new(vec![lesson, other], Vec::new(), Track::Local, progress);
    let vars: BTreeMap<String, String> = [("site", "http://localhost:8080")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    app.update(Msg::Ready {
        label: "local lab".into(),
        services: ["ALB :8080", "Cognito :9229", "AWS :4566", "app :5000"]
            .iter()
            .map(|s| {
                let (name, addr) = s.rsplit_once(' ').unwrap();
                Service {
                    name: name.into(),
                    addr: addr.into(),
                    up: None,
                }
            })
            .collect(),
        vars,
    });
    app.update(Msg::Health(vec![
        Some(true),
        Some(true),
        Some(true),
        Some(false),
    ]));
    app.results.insert(
        (0, 0, 0),
        CheckState::Done(Outcome {
            pass: true,
            detail: "GET /v1/secrets → 302".into(),
        }),
    );
    app.results.insert(
        (0, 0, 1),
        CheckState::Done(Outcome {
            pass: false,
            detail: "no AWSALBAuthNonce cookie set (set: none)".into(),
        }),
    );
    let ev = |seq, from, to, request: &str, status, note: &str| TraceEvent {
        seq,
        at_ms: 1000 + seq,
        start_seq: seq,
        start_ms: 1000 + seq,
        from,
        to,
        request: request.into(),
        status,
        note: note.into(),
        back_channel: matches!((from, to), (Actor::Alb, Actor::Cognito)),
        client: Default::default(),
        exchange: None,
    };
    app.update(Msg::Flow(vec![
        ev(
            1,
            Actor::Browser,
            Actor::Alb,
            "GET /v1/secrets",
            302,
            "to /oauth2/authorize",
        ),
        ev(
            2,
            Actor::Browser,
            Actor::Cognito,
            "GET /oauth2/authorize",
            302,
            "",
        ),
        ev(
            3,
            Actor::Alb,
            Actor::Cognito,
            "POST /oauth2/token",
            200,
            "code for tokens",
        ),
        ev(4, Actor::Alb, Actor::App, "GET /v1/secrets", 403, ""),
    ]));
    let claims = cognito_learning_tokens::Decoded::parse(TOKEN.trim(), 0)
        .unwrap()
        .claims;
    let sub = claims["sub"].as_str().unwrap().to_owned();
    app.update(Msg::Tokens(vec![TokenEvent {
        at_ms: NOW_MS,
        method: "GET".into(),
        path: "/v1/secrets".into(),
        status: 200,
        data: Some(SeenToken::new(TOKEN.trim(), Ok(()))),
        access: None,
        identity: Some(sub),
        app: cognito_learning::stream::AppVerdicts {
            data: Some("valid".into()),
            access: None,
            identity: Some("matches the verified sub".into()),
        },
        client: Default::default(),
        direct: false,
    }]));
    app.now_ms = NOW_MS;
    app
}

fn draw(app: &App, w: u16, h: u16, theme: Theme) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(View { app, theme }, f.area()))
        .unwrap();
    t.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let w = usize::from(buf.area.width);
    buf.content
        .chunks(w)
        .map(|row| {
            row.iter()
                .map(|c| c.symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn main_screen_80x24() {
    let app = app();
    insta::assert_snapshot!(text(&draw(&app, 80, 24, Theme { color: true })));
}

#[test]
fn main_screen_120x40() {
    let app = app();
    insta::assert_snapshot!(text(&draw(&app, 120, 40, Theme { color: true })));
}

#[test]
fn help_overlay_lists_every_key_from_the_table() {
    let mut app = app();
    app.help = true;
    let shown = text(&draw(&app, 120, 40, Theme { color: true }));
    for b in cognito_learning::tui::keys::KEYS {
        assert!(
            shown.contains(b.help),
            "{} missing from help:\n{shown}",
            b.help
        );
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn on_an_80x24_screen_the_help_fits_its_width_and_scrolls() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let key = |c| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let mut app = app();
    app.help = true;
    let keys = cognito_learning::tui::keys::KEYS;
    let shown = text(&draw(&app, 80, 24, Theme { color: true }));
    let total = keys.len() + 2;
    assert!(
        shown.contains(&format!("Keys 1–22 of {total} · ↑↓ scroll")),
        "{shown}"
    );
    assert!(shown.contains(keys[0].help), "{shown}");
    // Every line of the table fits 80 columns whole: scrolled to the end, each is there.
    for _ in 0..total {
        app.update(key(KeyCode::Down));
    }
    let end = text(&draw(&app, 80, 24, Theme { color: true }));
    assert!(end.contains("any other key closes"), "{end}");
    for b in &keys[keys.len() - 15..] {
        assert!(end.contains(b.help), "{} cut or missing:\n{end}", b.help);
    }
    // The scroll stops at the end: one press up moves the view at once.
    app.update(key(KeyCode::Up));
    assert_ne!(text(&draw(&app, 80, 24, Theme { color: true })), end);
    let mut seen = shown.clone() + &end;
    app.update(key(KeyCode::PageUp));
    seen += &text(&draw(&app, 80, 24, Theme { color: true }));
    for b in keys {
        assert!(seen.contains(b.help), "{} never shown whole", b.help);
    }
    app.update(key(KeyCode::Char('x')));
    assert!(app.help, "an unbound key does nothing");
    app.update(key(KeyCode::Char('c')));
    assert!(!app.help, "any other key closes");
    assert_eq!(app.help_scroll, 0);
}

/// The first cell of the first occurrence of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let w = usize::from(buf.area.width);
    for (y, row) in buf.content.chunks(w).enumerate() {
        let line: Vec<&str> = row.iter().map(|c| c.symbol()).collect();
        for x in 0..line.len() {
            let mut s = String::new();
            for sym in &line[x..] {
                s.push_str(sym);
                if s.len() >= needle.len() {
                    break;
                }
            }
            if s.starts_with(needle) {
                return (u16::try_from(x).unwrap(), u16::try_from(y).unwrap());
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

#[test]
fn pass_is_green_fail_is_red_and_no_color_has_none() {
    let app = app();
    let buf = draw(&app, 120, 40, Theme { color: true });
    let pass = find(&buf, "✓ GET");
    assert_eq!(buf[pass].fg, Color::Green);
    let fail = find(&buf, "✗ the nonce");
    assert_eq!(buf[fail].fg, Color::Red);
    let down = find(&buf, "○ app");
    assert_eq!(buf[down].fg, Color::Red, "a service that does not answer");
    let verified = find(&buf, "ES256 ✓");
    assert_eq!(buf[verified].fg, Color::Green);

    let plain = draw(&app, 120, 40, Theme { color: false });
    assert!(
        plain
            .content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "NO_COLOR draws no colour"
    );
    // Without colour the state is still in the symbols.
    assert_eq!(text(&plain), text(&buf));
}

#[test]
fn the_tokens_pane_decodes_the_real_alb_token_and_shows_it_raw() {
    let mut app = app();
    let decoded = text(&draw(&app, 120, 40, Theme { color: true }));
    assert!(decoded.contains("ES256 ✓ verified"), "{decoded}");
    assert!(decoded.contains("1 min left"), "{decoded}");
    assert!(decoded.contains("= data's sub ✓"), "{decoded}");
    app.raw = true;
    let raw = text(&draw(&app, 120, 40, Theme { color: true }));
    assert!(raw.contains(&TOKEN.trim()[..20]), "{raw}");
}

#[test]
fn every_size_from_tiny_to_wide_draws_without_panicking() {
    let mut app = app();
    for (w, h) in [(1, 1), (10, 5), (40, 12), (80, 24), (200, 60)] {
        app.help = w > 40;
        let buf = draw(&app, w, h, Theme { color: true });
        assert_eq!(buf.area.width, w);
    }
}

#[test]
fn a_fresh_local_track_asks_how_to_start_the_lab_and_b_answers_blank() {
    let mut app = App::new(Vec::new(), Vec::new(), Track::Local, Progress::default());
    app.update(Msg::AskLab);
    let shown = text(&draw(&app, 100, 30, Theme { color: true }));
    for line in ["How should the local lab start?", "b  blank", "w  built"] {
        assert!(shown.contains(line), "{line} in:\n{shown}");
    }
    // Other keys wait for the answer.
    let key = |c| {
        Msg::Key(ratatui::crossterm::event::KeyEvent::new(
            ratatui::crossterm::event::KeyCode::Char(c),
            ratatui::crossterm::event::KeyModifiers::NONE,
        ))
    };
    assert!(app.update(key('n')).is_empty());
    assert!(app.asking_lab);
    let effects = app.update(key('b'));
    assert_eq!(
        effects,
        [
            cognito_learning::tui::app::Effect::StartLab(
                cognito_learning::progress::LabStart::Blank
            ),
            cognito_learning::tui::app::Effect::SaveProgress
        ]
    );
    assert_eq!(
        app.progress.lab,
        Some(cognito_learning::progress::LabStart::Blank)
    );
    let after = text(&draw(&app, 100, 30, Theme { color: true }));
    assert!(
        !after.contains("How should the local lab start?"),
        "{after}"
    );
}

#[test]
fn a_step_shows_its_build_note_on_a_blank_lab_and_its_local_note_on_a_built_one() {
    let file = include_str!("data/render-lesson.toml").replace(
        "hints = [\"Open the site in a private window.\"]",
        "local = \"the lab made it\"\nbuild = \"make it at {site}\"\nhints = []",
    );
    let lesson = lessons::parse("11-the-flow.toml", &file).unwrap();
    let shown = |mode: &str| {
        let mut app = App::new(
            vec![lesson.clone()],
            Vec::new(),
            Track::Local,
            Progress::default(),
        );
        let vars = [("site", "http://localhost:8080"), ("lab", mode)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        app.update(Msg::Ready {
            label: "local lab".into(),
            services: Vec::new(),
            vars,
        });
        text(&draw(&app, 120, 40, Theme { color: true }))
    };
    let blank = shown("blank");
    assert!(
        blank.contains("On your blank lab: make it at http://localhost:8080"),
        "{blank}"
    );
    assert!(!blank.contains("the lab made it"), "{blank}");
    let built = shown("built");
    assert!(
        built.contains("In the local lab: the lab made it"),
        "{built}"
    );
}

/// A learner's sign-in answer from the lab, whole: its cookies set and expired.
fn exchange_event(seq: u64, client: cognito_learning_contract::trace::Client) -> TraceEvent {
    use cognito_learning_contract::trace::{Body, Exchange, Header};
    let h = |n: &str, v: &str| Header {
        name: n.into(),
        value: v.into(),
    };
    TraceEvent {
        seq,
        at_ms: 1000 + seq,
        start_seq: seq,
        start_ms: 1000 + seq,
        from: Actor::Browser,
        to: Actor::Alb,
        request: "GET /oauth2/idpresponse?code&state".into(),
        status: 302,
        note: "→ /v1/secrets · sets AWSELBAuthSessionCookie-0 · expires AWSALBAuthNonce".into(),
        back_channel: false,
        client,
        exchange: Some(Box::new(Exchange {
            method: "GET".into(),
            url: "http://localhost:8080/oauth2/idpresponse?code=abc123&state=xyz".into(),
            request_headers: vec![
                h("host", "localhost:8080"),
                h("cookie", "AWSALBAuthNonce=okt2e445GMpRJB8d"),
            ],
            request_body: None,
            response_headers: vec![
                h("location", "http://localhost:8080/v1/secrets"),
                h(
                    "set-cookie",
                    "AWSELBAuthSessionCookie-0=sealed; Expires=Mon, 14 Dec 2026 10:00:00 GMT; Path=/; HttpOnly",
                ),
                h(
                    "set-cookie",
                    "AWSALBAuthNonce=; Path=/; Max-Age=0; HttpOnly",
                ),
            ],
            response_body: Some(Body {
                mime: "text/html".into(),
                text: "<html><head><title>Found</title></head></html>".into(),
                size: 46,
            }),
        })),
    }
}

#[test]
fn an_exchange_opens_from_the_flow_pane_and_reads_out_its_cookies() {
    use cognito_learning_contract::trace::Client;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let key = |c| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let mut app = app();
    app.update(Msg::Flow(vec![
        exchange_event(10, Client::Learner),
        TraceEvent {
            request: "GET /v1/secrets".into(),
            ..exchange_event(11, Client::Guide)
        },
    ]));
    let screen = text(&draw(&app, 120, 40, Theme { color: false }));
    assert!(
        screen.contains("⚙ GET /v1/secrets"),
        "the guide's row is marked:\n{screen}"
    );
    // Focus the Flow pane, select the learner's row, open it.
    app.focus = cognito_learning::tui::app::Pane::Flow;
    app.update(key(KeyCode::Char('k')));
    app.update(key(KeyCode::Char('k')));
    let screen = text(&draw(&app, 120, 40, Theme { color: false }));
    assert!(screen.contains("Flow · paused · Enter opens"), "{screen}");
    app.update(key(KeyCode::Enter));
    let screen = text(&draw(&app, 120, 40, Theme { color: false }));
    for want in [
        "Request GET /oauth2/idpresponse",
        "code = abc123",
        "the one-time authorization code",
        "AWSALBAuthNonce = okt2e445GMpRJB8d",
        "Response 302 Found",
        "Set-Cookie AWSELBAuthSessionCookie-0 = sealed",
        "HttpOnly: page scripts cannot read it",
        "no Domain: sent to localhost only",
        "Set-Cookie AWSALBAuthNonce: expires the cookie",
        "made by you",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    // Esc closes the exchange, not the guide; g hides the guide's rows.
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.opened.is_none());
    app.update(key(KeyCode::Char('g')));
    let screen = text(&draw(&app, 120, 40, Theme { color: false }));
    assert!(!screen.contains("⚙ GET /v1/secrets") && screen.contains("1 of the guide's hidden"));
}

#[test]
fn an_expired_token_gets_no_tick_and_its_times_read_as_dates() {
    let mut app = app();
    let fresh = text(&draw(&app, 120, 40, Theme { color: false }));
    assert!(fresh.contains("ES256 ✓ verified · 1 min left"), "{fresh}");
    // Two minutes later the same token has expired: verified when sent, no tick now.
    app.now_ms = NOW_MS + 120_000;
    let later = text(&draw(&app, 120, 40, Theme { color: false }));
    assert!(!later.contains("✓ verified"), "{later}");
    assert!(
        later.contains("ES256 verified when it was sent · expired"),
        "{later}"
    );
    assert!(
        !later.contains("= data's sub ✓"),
        "the identity is ticked only beside a data token that is valid now:\n{later}"
    );
    app.tokens.scroll = 40;
    let claims = text(&draw(&app, 120, 60, Theme { color: false }));
    assert!(
        claims.contains("2023-06-26 02:54:05Z (1 min ago)"),
        "{claims}"
    );
}
