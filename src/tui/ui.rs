//! Drawing the guide: `impl Widget for &App`, pure. One function per pane.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use super::app::{App, CheckState, Pane};
use super::keys;
use super::markdown;
use super::theme::Theme;
use crate::stream::SeenToken;
use cognito_learning_contract::trace::{Actor, TraceEvent};
use cognito_learning_tokens::{AlbVerifier, CognitoVerifier, TokenUse, time};

/// Where each pane goes for a screen size; the mouse handler uses the same.
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    pub top: Rect,
    pub lessons: Rect,
    pub step: Rect,
    pub flow: Rect,
    pub tokens: Rect,
    pub footer: Rect,
}

impl Areas {
    pub fn new(area: Rect) -> Self {
        let [top, main, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        let [upper, lower] =
            Layout::vertical([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
        let list = if area.width >= 100 { 26 } else { 22 };
        let [lessons, step] =
            Layout::horizontal([Constraint::Length(list), Constraint::Min(0)]).areas(upper);
        let [flow, tokens] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(lower);
        Self {
            top,
            lessons,
            step,
            flow,
            tokens,
            footer,
        }
    }
}

/// The guide draws itself with this theme; tests may draw with another.
pub struct View<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        View {
            app: self,
            theme: Theme::from_env(),
        }
        .render(area, buf);
    }
}

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = Areas::new(area);
        top(self.app, self.theme, a.top, buf);
        lessons(self.app, self.theme, a.lessons, buf);
        step(self.app, self.theme, a.step, buf);
        flow(self.app, self.theme, a.flow, buf);
        tokens(self.app, self.theme, a.tokens, buf);
        footer(self.theme, a.footer, buf);
        if self.app.help {
            help(self.theme, area, buf);
        }
    }
}

fn block<'a>(app: &App, theme: Theme, pane: Pane, title: impl Into<Line<'a>>) -> Block<'a> {
    let focused = app.focus == pane;
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
        .title(title)
}

fn top(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = if area.width >= 100 {
        vec![
            Span::styled(" cognito-learning", theme.title()),
            Span::raw(format!(" · {} ", app.label)),
        ]
    } else {
        vec![Span::styled(format!(" {} ", app.label), theme.title())]
    };
    if !app.ready && app.services.is_empty() {
        spans.push(Span::styled(" starting…", theme.running()));
    }
    for s in &app.services {
        let (dot, style) = match s.up {
            Some(true) => ("●", theme.pass()),
            Some(false) => ("○", theme.fail()),
            None => ("◌", theme.running()),
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(dot, style));
        spans.push(Span::raw(format!(" {} {}", s.name, s.addr)));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn lessons(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let b = block(app, theme, Pane::Lessons, " Lessons ");
    let inner = b.inner(area);
    b.render(area, buf);
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in app.lessons.iter().enumerate() {
        let done = app.progress.count(app.track, &l.id);
        let (mark, style) = if done == l.steps.len() {
            ("✓", theme.pass())
        } else if i == app.lesson {
            ("▸", theme.bold())
        } else if done > 0 {
            ("◐", Style::new())
        } else {
            (" ", Style::new())
        };
        let num = l.number().map_or_else(String::new, |n| format!("{n:>2} "));
        let row = Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!("{num}{}", l.title)),
        ]);
        lines.push(if i == app.cursor && app.focus == Pane::Lessons {
            row.style(theme.selected())
        } else {
            row
        });
    }
    for e in &app.load_errors {
        lines.push(Line::styled(format!("✗ {e}"), theme.fail()));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no lessons found", theme.fail()));
    }
    // Keep the highlighted row on screen.
    let height = usize::from(inner.height);
    let skip = app.cursor.saturating_sub(height.saturating_sub(1));
    Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()).render(inner, buf);
}

fn step(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(lesson) = app.current() else {
        block(app, theme, Pane::Step, " No lesson ").render(area, buf);
        return;
    };
    let Some(s) = lesson.steps.get(app.step) else {
        return;
    };
    let num = lesson
        .number()
        .map_or_else(String::new, |n| format!("{n} · "));
    let passed = app.progress.passed(app.track, &lesson.id, app.step);
    let right = Line::from(vec![
        Span::raw(" "),
        Span::styled(if passed { "✓ " } else { "" }, theme.pass()),
        Span::raw(format!("step {} of {} ", app.step + 1, lesson.steps.len())),
    ])
    .right_aligned();
    let b = block(app, theme, Pane::Step, format!(" {num}{} ", lesson.title)).title(right);
    let inner = b.inner(area);
    b.render(area, buf);

    let checks = check_lines(app, theme, inner.width);
    let note = u16::from(!app.note.is_empty());
    let room = inner.height.saturating_sub(3 + note).max(1);
    // Lines as wrapped at this width, so that long reasons keep their room.
    let wanted: usize = checks
        .iter()
        .map(|l| l.width().div_ceil(usize::from(inner.width.max(1))).max(1))
        .sum();
    let wanted = u16::try_from(wanted).unwrap_or(u16::MAX);
    let [text_area, checks_area, note_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(wanted.min(room)),
        Constraint::Length(note),
    ])
    .areas(inner);
    if note > 0 {
        Paragraph::new(Line::styled(format!(" » {}", app.note), theme.running()))
            .render(note_area, buf);
    }

    let mut text = vec![
        Line::styled(s.title.clone(), theme.heading()),
        Line::raw(""),
    ];
    // The text may name the target's values ({site}); shown as written where one is unknown.
    let written = s.text_on(app.track);
    let body = app
        .target_vars
        .as_ref()
        .and_then(|v| crate::lessons::render(&written, v).ok());
    text.extend(markdown::render(body.as_deref().unwrap_or(&written), theme));
    if app.step + 1 == lesson.steps.len() && !lesson.sources.is_empty() {
        text.push(Line::raw(""));
        text.push(Line::styled("Sources", theme.bold()));
        for src in &lesson.sources {
            text.push(Line::styled(format!("• {src}"), theme.dim()));
        }
    }
    for (i, h) in s.hints.iter().take(app.hints).enumerate() {
        text.push(Line::raw(""));
        text.push(Line::from(vec![
            Span::styled(format!("Hint {}: ", i + 1), theme.bold()),
            Span::raw(h.clone()),
        ]));
    }
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((app.step_scroll, 0))
        .render(text_area, buf);
    Paragraph::new(checks)
        .wrap(Wrap { trim: false })
        .render(checks_area, buf);
}

fn check_lines(app: &App, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let Some(s) = app.current().and_then(|l| l.steps.get(app.step)) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let header = format!("Checks ({} track)", app.track);
    let pad = usize::from(width).saturating_sub(header.chars().count() + 12);
    lines.push(Line::from(vec![
        Span::styled(header, theme.bold()),
        Span::raw(" ".repeat(pad)),
        Span::styled("c", theme.key()),
        Span::raw(": run all"),
    ]));
    let mut any = false;
    for (i, c) in s.checks_on(app.track) {
        any = true;
        match app.results.get(&(app.lesson, app.step, i)) {
            None => lines.push(Line::from(vec![
                Span::styled(" · ", theme.dim()),
                Span::raw(c.name.clone()),
            ])),
            Some(CheckState::Running) => lines.push(Line::from(vec![
                Span::styled(" … ", theme.running()),
                Span::raw(c.name.clone()),
            ])),
            Some(CheckState::Done(o)) if o.pass => lines.push(Line::from(vec![
                Span::styled(" ✓ ", theme.pass()),
                Span::raw(c.name.clone()),
                Span::styled(format!(": {}", o.detail), theme.dim()),
            ])),
            Some(CheckState::Done(o)) => {
                lines.push(Line::from(vec![
                    Span::styled(" ✗ ", theme.fail()),
                    Span::raw(format!("{}: {}", c.name, o.detail)),
                ]));
                let cmd = app
                    .target_vars
                    .as_ref()
                    .and_then(|v| crate::lessons::render(&c.command, v).ok())
                    .unwrap_or_else(|| c.command.clone());
                lines.push(Line::from(vec![
                    Span::styled("   try: $ ", theme.dim()),
                    Span::styled(cmd, theme.code()),
                ]));
            }
        }
    }
    if !any {
        lines.push(Line::styled(
            format!(
                " no checks on the {} track for this step: c marks it read",
                app.track
            ),
            theme.dim(),
        ));
    }
    lines
}

const ACTORS: [(Actor, &str); 4] = [
    (Actor::Browser, "Browser"),
    (Actor::Alb, "ALB"),
    (Actor::Cognito, "Cognito"),
    (Actor::App, "App"),
];

fn lane(a: Actor) -> usize {
    ACTORS.iter().position(|(x, _)| *x == a).unwrap_or(0)
}

fn flow(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let b = block(app, theme, Pane::Flow, " Flow ");
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.width < 20 || inner.height < 2 {
        return;
    }
    let w = usize::from(inner.width);
    let step = (w - 2) / 4;
    let x = |i: usize| 1 + i * step + step / 2;
    let mut head = vec![' '; w];
    for (i, (_, name)) in ACTORS.iter().enumerate() {
        let start = x(i).saturating_sub(name.len() / 2);
        for (j, ch) in name.chars().enumerate() {
            if let Some(c) = head.get_mut(start + j) {
                *c = ch;
            }
        }
    }
    let mut lines = vec![Line::styled(
        head.into_iter().collect::<String>(),
        theme.bold(),
    )];
    let rows = usize::from(inner.height) - 1;
    if app.flow.is_empty() {
        lines.push(Line::styled(
            if app.track == crate::lessons::Track::Local {
                " no traffic yet: open the site, or run a step's checks"
            } else {
                " requests appear here as the app logs them"
            },
            theme.dim(),
        ));
    }
    let end = app.flow.len().saturating_sub(app.flow_scroll);
    let start = end.saturating_sub(rows);
    for e in app.flow.range(start..end) {
        lines.push(arrow(e, w, &x, theme));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// One exchange as a row: lanes as `│`, an arrow between the two parties, the label on it.
fn arrow(e: &TraceEvent, w: usize, x: &dyn Fn(usize) -> usize, theme: Theme) -> Line<'static> {
    let mut row = vec![' '; w];
    for i in 0..ACTORS.len() {
        if let Some(c) = row.get_mut(x(i)) {
            *c = '│';
        }
    }
    let (from, to) = (x(lane(e.from)), x(lane(e.to)));
    let (lo, hi) = (from.min(to), from.max(to));
    for c in row.iter_mut().take(hi).skip(lo + 1) {
        *c = '─';
    }
    if to > from {
        row[hi - 1] = '▶';
    } else if to < from {
        row[lo + 1] = '◀';
    }
    let label = format!(
        "{}{} {}{}",
        if e.back_channel { "⇢ " } else { "" },
        e.request,
        e.status,
        if e.note.is_empty() {
            String::new()
        } else {
            format!(" · {}", e.note)
        }
    );
    // The label rides on the arrow from just after its left end, over the lanes if it is long.
    let start = lo + 2;
    for (j, ch) in label.chars().enumerate() {
        match row.get_mut(start + j) {
            Some(c) => *c = ch,
            None => break,
        }
    }
    let style = if e.back_channel {
        theme.back_channel()
    } else if e.status >= 400 {
        theme.fail()
    } else {
        Style::new()
    };
    Line::styled(row.into_iter().collect::<String>(), style)
}

fn tokens(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let status = if app.paused {
        Span::styled(format!(" paused, {} held ", app.held), theme.running())
    } else if app.stream_status == "live" {
        Span::styled(" live ● ", theme.pass())
    } else {
        // Keep the left title readable: the status gets what is left of the border.
        let room = usize::from(area.width).saturating_sub(14);
        let mut status: String = app.stream_status.chars().take(room).collect();
        if status.len() < app.stream_status.len() {
            status.pop();
            status.push('…');
        }
        let style = if app.stream_status.starts_with("waiting") {
            theme.running()
        } else {
            theme.fail()
        };
        Span::styled(format!(" {status} "), style)
    };
    let title = if app.editing_filter || !app.filter.is_empty() {
        format!(
            " Tokens /{}{} ",
            app.filter,
            if app.editing_filter { "▏" } else { "" }
        )
    } else {
        " Tokens ".into()
    };
    let b = block(app, theme, Pane::Tokens, title).title(Line::from(status).right_aligned());
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(ev) = app.shown_token() else {
        let hint = if app.tokens.is_empty() {
            " no tokens yet: sign in at /v1/secrets and they appear here"
        } else {
            " no token matches the filter"
        };
        Paragraph::new(Line::styled(hint, theme.dim()))
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        return;
    };
    let now = u64::try_from(app.now_ms / 1000).unwrap_or(0);
    let when = time::utc(u64::try_from(ev.at_ms / 1000).unwrap_or(0));
    let position = if app.token_back == 0 {
        "newest".to_owned()
    } else {
        format!("{} back", app.token_back)
    };
    let head = Line::from(vec![
        Span::styled(
            format!("{} {} {}", ev.method, ev.path, ev.status),
            theme.bold(),
        ),
        Span::styled(
            format!(
                " · {} · {position} of {}",
                when.get(11..19).unwrap_or(&when),
                app.tokens.len()
            ),
            theme.dim(),
        ),
    ]);
    let [head_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    Paragraph::new(head).render(head_area, buf);

    let identity = ev.identity.as_ref().map(|sub| {
        let matches = ev
            .data
            .as_ref()
            .is_some_and(|d| d.claims().get("sub").is_some_and(|s| s == sub.as_str()));
        (sub.clone(), matches)
    });
    let identity_lines = match identity {
        None => vec![Line::styled("not sent", theme.dim())],
        Some((sub, ok)) => vec![Line::from(vec![
            if ok {
                Span::styled("= data's sub ✓ ", theme.pass())
            } else {
                Span::styled("≠ data's sub ✗ ", theme.fail())
            },
            Span::raw(sub),
        ])],
    };
    let sections = [
        (
            "x-amzn-oidc-data",
            token_lines(
                ev.data.as_ref(),
                AlbVerifier::CHECKS,
                ev.app.data.as_deref(),
                app.raw,
                now,
                theme,
            ),
        ),
        (
            "x-amzn-oidc-accesstoken",
            token_lines(
                ev.access.as_ref(),
                CognitoVerifier::checks(TokenUse::Access),
                ev.app.access.as_deref(),
                app.raw,
                now,
                theme,
            ),
        ),
        ("x-amzn-oidc-identity", identity_lines),
    ];
    if body.width >= 90 {
        // Wide: the three side by side.
        let areas: [Rect; 3] = Layout::horizontal([
            Constraint::Percentage(40),
            Constraint::Percentage(40),
            Constraint::Percentage(20),
        ])
        .areas(body);
        for ((name, mut lines), a) in sections.into_iter().zip(areas) {
            lines.insert(0, Line::styled(name, theme.heading()));
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((app.token_scroll, 0))
                .render(a, buf);
        }
    } else {
        // Narrow: one under the other, the claims run together; the one-line identity first,
        // so that it stays on screen.
        let [data, access, identity] = sections;
        let mut lines = Vec::new();
        for (name, section) in [identity, data, access] {
            let mut it = section.into_iter();
            let mut first = vec![Span::styled(format!("{name} "), theme.heading())];
            if let Some(l) = it.next() {
                first.extend(l.spans);
            }
            lines.push(Line::from(first));
            lines.extend(it);
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.token_scroll, 0))
            .render(body, buf);
    }
}

fn token_lines(
    t: Option<&SeenToken>,
    checks: &[&str],
    app_said: Option<&str>,
    raw: bool,
    now: u64,
    theme: Theme,
) -> Vec<Line<'static>> {
    // The app's own verdict, as it logged it, beside the guide's check.
    let app_line = app_said.map(|said| {
        let style = if said == "valid" {
            theme.pass()
        } else if said.starts_with("unverified") {
            theme.dim()
        } else {
            theme.fail()
        };
        Line::styled(format!("the app: {said}"), style)
    });
    let Some(t) = t else {
        return match app_line {
            // Redacted in the log: the guide cannot check it again.
            Some(l) => vec![l],
            None => vec![Line::styled("not sent", theme.dim())],
        };
    };
    // Only the text is buffered; the token on screen is decoded here.
    let (header, claims) = t.parts();
    let alg = header
        .get("alg")
        .and_then(|a| a.as_str())
        .unwrap_or("?")
        .to_owned();
    let left = claims
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .map(|exp| format!(" · {}", time::left(now, exp)))
        .unwrap_or_default();
    let mut lines = vec![match &t.verdict {
        Ok(()) => Line::from(vec![
            Span::styled(format!("{alg} ✓ verified"), theme.pass()),
            Span::styled(left, theme.dim()),
        ]),
        Err(why) => Line::styled(format!("{alg} ✗ {why}"), theme.fail()),
    }];
    if t.verdict.is_ok() {
        let ticks: Vec<String> = checks.iter().map(|c| format!("{c} ✓")).collect();
        lines.push(Line::styled(ticks.join(" "), theme.pass()));
    }
    lines.extend(app_line);
    if raw {
        lines.push(Line::styled(t.raw(), theme.code()));
        return lines;
    }
    // The header first (dim: it says how to check, the claims say who), then the claims.
    let mut head = vec![Span::styled("header ", theme.bold())];
    for (k, v) in header.iter().filter(|(k, _)| k.as_str() != "alg") {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        head.push(Span::styled(format!("{k} {v}  "), theme.dim()));
    }
    lines.push(Line::from(head));
    let mut spans = Vec::new();
    for (k, v) in &claims {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        spans.push(Span::styled(format!("{k} "), theme.bold()));
        spans.push(Span::raw(format!("{v}  ")));
    }
    lines.push(Line::from(spans));
    lines
}

fn footer(theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for (key, what) in keys::footer() {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn help(theme: Theme, area: Rect, buf: &mut Buffer) {
    let height = u16::try_from(keys::KEYS.len() + 4).unwrap_or(u16::MAX);
    let width = 72.min(area.width);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height.min(area.height)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, popup, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width),
        Constraint::Fill(1),
    ])
    .areas(mid);
    Clear.render(popup, buf);
    let mut lines: Vec<Line> = keys::KEYS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<10}", b.label), theme.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " mouse: scroll a pane with the wheel, click to focus it; any key closes",
        theme.dim(),
    ));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" Keys ")
                .border_style(theme.focused_border()),
        )
        .render(popup, buf);
}
